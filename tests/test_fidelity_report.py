"""The sim against kind (fixtures/fidelity.py): rows, statuses, notes, and the saved runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import fidelity
from fixtures.paths import ARTIFACTS
from fixtures.steps import FAILED, NOT_VERIFIED, PASSED, StepRecord, known, loads

KIND = "real (kind v0.17.0, node image built locally (x))"


def rec(
    step: str, verdict: str, backend: str, seconds: float = 1.0, profile: str = "corrected@tutorial-2023"
) -> StepRecord:
    return StepRecord(
        f"scenarios/test_tutorial.py::test_tutorial[{profile}]", profile, step, "CI", verdict, backend, seconds
    )


def test_backend_kind_reads_the_label() -> None:
    assert fidelity.backend_kind("simulated") == "sim"
    assert fidelity.backend_kind(KIND) == "kind"
    assert fidelity.backend_kind("static") is None


def test_rows_agree_disagree_explained_and_not_compared() -> None:
    sim = [rec("a", PASSED, "simulated", 0.1), rec("b", PASSED, "simulated"), rec("c", known("D21"), "simulated"),
           rec("d", NOT_VERIFIED, "simulated")]  # fmt: skip
    kind = [rec("a", PASSED, KIND, 40.0), rec("b", FAILED, KIND), rec("c", FAILED, KIND), rec("d", PASSED, KIND)]
    notes = fidelity.read_notes("notes:\n- {scenario: test_tutorial, step: c, why: the twin cannot parse keys}\n")
    rows = fidelity.compare(sim, kind, notes)
    assert [r.status for r in rows] == ["agree", "DISAGREE", "explained", "not compared"]
    assert [r.key[2] for r in fidelity.unexplained(rows)] == ["b"]
    md = fidelity.markdown(rows)
    assert "| test_tutorial | corrected@tutorial-2023 | a | passed | passed | 0.1 | 40.0 | agree |" in md
    assert "explained: the twin cannot parse keys" in md
    assert "1 DISAGREE" in md


def test_a_note_for_another_profile_does_not_explain() -> None:
    notes = fidelity.read_notes("notes:\n- {scenario: test_tutorial, step: b, why: w, profile: as-written@current}\n")
    rows = fidelity.compare([rec("b", PASSED, "simulated")], [rec("b", FAILED, KIND)], notes)
    assert rows[0].status == "DISAGREE"


def test_bad_notes_are_refused_with_their_position() -> None:
    with pytest.raises(ValueError, match="note #1"):
        fidelity.read_notes("notes:\n- {scenario: test_tutorial}\n")


def test_runs_are_merged_per_backend_and_the_report_needs_both(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fidelity.save_run([rec("a", PASSED, "simulated"), rec("x", PASSED, "static")], runs)
    assert fidelity.write_report(runs, tmp_path / "fidelity.md", "notes: []") is None
    fidelity.save_run([rec("a", FAILED, KIND)], runs)
    fidelity.save_run([rec("a", PASSED, KIND)], runs)  # run again: replaces the earlier record
    out = fidelity.write_report(runs, tmp_path / "fidelity.md", "notes: []")
    assert out is not None and "| a | passed | passed |" in out.read_text()


def test_a_scenario_run_again_replaces_its_earlier_steps(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fidelity.save_run([rec("a", PASSED, KIND), rec("gone", FAILED, KIND)], runs)
    fidelity.save_run([rec("a", PASSED, KIND)], runs)  # the same scenario and profile, no longer reaching "gone"
    assert [r.step for r in loads((runs / "kind.json").read_text())] == ["a"]


def test_a_step_played_twice_meets_its_own_counterpart() -> None:
    sim = [rec("build", PASSED, "simulated"), rec("build", PASSED, "simulated")]
    kind = [rec("build", PASSED, KIND), rec("build", FAILED, KIND)]
    rows = fidelity.compare(sim, kind, [])
    assert [(r.key[2], r.status) for r in rows] == [("build", "agree"), ("build (#2)", "DISAGREE")]


def test_the_catalog_notes_file_is_valid() -> None:
    fidelity.read_notes(fidelity.NOTES.read_text())


def test_the_last_sim_and_kind_runs_disagree_nowhere_unexplained() -> None:
    """The check of artifacts/fidelity.md: every disagreement between the saved runs is fixed or explained."""
    runs = Path(ARTIFACTS) / "runs"
    if not ((runs / "sim.json").exists() and (runs / "kind.json").exists()):
        pytest.skip(f"no saved sim and kind runs in {runs}: run the scenarios on both backends first")
    rows = fidelity.compare(
        loads((runs / "sim.json").read_text()),
        loads((runs / "kind.json").read_text()),
        fidelity.read_notes(fidelity.NOTES.read_text()),
    )
    bad = [" / ".join(r.key) + f": sim {r.sim.verdict if r.sim else '-'}, kind {r.kind.verdict if r.kind else '-'}"
           for r in fidelity.unexplained(rows)]  # fmt: skip
    assert not bad, (
        "sim and kind disagree (fix the twin or explain it in manifests/fidelity-notes.yaml):\n" + "\n".join(bad)
    )
