"""The main job in one command: the phases it plans from what it finds, how it runs and times them, and its
command line's answers to bad input."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pytest

from argo_tutorial_suite.mainjob import cli, run
from argo_tutorial_suite.mainjob.plan import CannotRun, Facts, Options, Phase, plan

BOTH = Options(pins=("tutorial-2023",), profiles=("as-written", "corrected"))


def names(phases: Sequence[Phase]) -> list[str]:
    return [p.name for p in phases]


def test_offline_with_an_engine_builds_each_pins_set_then_runs_both_profiles_side_by_side() -> None:
    opts = Options(pins=("tutorial-2023", "current"), profiles=("as-written", "corrected"))
    phases = plan(Facts(engine="Docker 26", root=True, registry=False), opts)
    assert names(phases) == [
        "engine", "build tools", "node image (tutorial-2023)", "stack images (tutorial-2023)",
        "node image (current)", "stack images (current)", "the tutorial on kind",
    ]  # fmt: skip
    assert phases[0].argv == () and phases[0].reuse
    run_ = phases[-1].argv
    assert run_[:2] == ("pytest", "scenarios") and "--backend=kind" in run_ and "--registry-mirror" in run_
    assert run_[run_.index("-n") + 1] == "2" and "--require-cluster" in run_
    assert {"--pins=tutorial-2023", "--pins=current", "--profile=as-written", "--profile=corrected"} <= set(run_)


def test_no_engine_as_root_starts_ours_and_a_registry_that_answers_means_no_build() -> None:
    phases = plan(Facts(engine=None, root=True, registry=True), BOTH)
    assert phases[0].argv == ("scripts/docker-engine", "up")
    assert names(phases) == ["engine", "images", "the tutorial on kind"]
    assert phases[1].argv == () and "--registry-mirror" not in phases[-1].argv


def test_no_engine_and_not_root_cannot_run_and_says_what_to_do() -> None:
    with pytest.raises(CannotRun, match=r"start Docker.*run as root"):
        plan(Facts(engine=None, root=False, registry=False), BOTH)


def test_forced_either_way_and_one_cluster_at_a_time() -> None:
    forced = plan(Facts("Docker 26", True, registry=True), Options(("current",), ("corrected",), offline=True))
    assert "stack images (current)" in names(forced)
    assert "-n" not in forced[-1].argv  # one profile: one cluster, no workers
    online = plan(Facts("Docker 26", True, registry=False), Options(("current",), ("corrected",), offline=False))
    assert "stack images (current)" not in names(online)
    one = plan(Facts("Docker 26", True, registry=False), Options(("current",), ("as-written", "corrected"), workers=1))
    assert "-n" not in one[-1].argv


def test_the_smoke_scenario_is_left_out_unless_the_user_picks_markers() -> None:
    assert plan(Facts("D", True, False), BOTH)[-1].argv[-2:] == ("-m", "not smoke")
    mine = plan(Facts("D", True, False), Options(BOTH.pins, BOTH.profiles, pytest_args=("-m", "static")))
    assert mine[-1].argv.count("-m") == 1 and mine[-1].argv[-2:] == ("-m", "static")


def test_phases_run_in_order_each_timed_and_announced_with_the_next() -> None:
    calls: list[Sequence[str]] = []

    def call(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> int:
        calls.append(argv)
        return 0

    phases = [Phase("engine", "e", (), reuse="answers"), Phase("build", "b", ("b",)), Phase("run", "r", ("r",))]
    out = io.StringIO()
    seen: list[int] = []
    rc, done = run.run_phases(phases, Path("."), {}, out, call, after_each=lambda d: seen.append(len(d)))
    assert rc == 0 and calls == [("b",), ("r",)]
    assert [(t.name, t.outcome) for t in done] == [("engine", "reused"), ("build", "ran"), ("run", "ran")]
    text = out.getvalue()
    assert "1/3 engine: e: nothing to do (answers); next: build" in text
    assert "2/3 build: done in" in text and "next: run" in text and "3/3 run: done in" in text
    assert seen == [0, 1, 2, 3]  # the record is rewritten before each phase and at the end


def test_the_first_failing_phase_stops_the_job_with_its_status() -> None:
    phases = [Phase("build", "b", ("b",)), Phase("run", "r", ("r",))]
    out = io.StringIO()
    rc, done = run.run_phases(phases, Path("."), {}, out, lambda argv, cwd, env: 3)
    assert rc == 3 and [t.outcome for t in done] == ["failed (exit 3)"]
    assert "build failed (exit 3)" in out.getvalue()


def test_the_record_reads_back_and_a_foreign_file_reads_as_nothing(tmp_path: Path) -> None:
    done = [run.Timed("python venv", 0.0, 41.2, "ran"), run.Timed("the tutorial on kind", 41.2, 812.0, "ran")]
    path = run.record(done, tmp_path, 0)
    assert run.read_record(path) == done
    (tmp_path / "other.json").write_text('{"phases": [{"name": 1}]}')
    assert run.read_record(tmp_path / "other.json") == [] and run.read_record(tmp_path / "absent.json") == []
    assert run.summary(done)[-1].split() == ["total", "14", "min", "13", "s"]


def test_bad_input_is_a_usage_error_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--clusters", "0"]) == 2
    assert "--clusters must be between 1 and 8" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["--pins", "2019"])
    assert e.value.code == 2 and "invalid choice: '2019'" in capsys.readouterr().err


def test_a_machine_it_cannot_run_on_exits_2_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(run, "find_facts", lambda: Facts(engine=None, root=False, registry=False))
    assert cli.main(["--pins", "current"]) == 2
    assert "no container engine answers" in capsys.readouterr().err


def test_plan_prints_the_commands_and_runs_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(run, "find_facts", lambda: Facts(engine="Docker 26", root=True, registry=False))
    monkeypatch.setattr(run, "run_phases", lambda *a, **k: pytest.fail("--plan ran a phase"))
    assert cli.main(["--plan", "--pins", "current", "--", "-x"]) == 0
    out = capsys.readouterr().out
    assert "$ scripts/offline-images --pins current --only stack" in out
    assert "engine -> build tools -> node image (current) -> stack images (current) -> the tutorial on kind" in out
    assert out.rstrip().endswith("-x")
