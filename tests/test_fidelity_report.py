"""The sim against kind (argo_tutorial_suite/verdicts/fidelity.py): rows, statuses, notes, and the saved runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from argo_tutorial_suite.verdicts import fidelity
from argo_tutorial_suite.verdicts.steps import FAILED, NOT_VERIFIED, PASSED, StepRecord, known, loads

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


@pytest.mark.parametrize("pins", ["tutorial-2023", "current"])
def test_the_committed_sim_and_kind_evidence_disagree_nowhere_unexplained(pins: str) -> None:
    """The committed records of real kind runs and of the sim (manifests/evidence/): every step both saw agrees,
    or a note explains why. Never skipped: the evidence is part of the project (CI also holds a fresh sim run to
    the kind evidence, ``--compare-evidence``)."""
    from argo_tutorial_suite.verdicts import evidence

    kind, sim = evidence.load("kind", pins), evidence.load("sim", pins)
    assert kind is not None, f"no kind evidence for {pins}: record a real run with --record-evidence"
    assert sim is not None, f"no sim evidence for {pins}: pytest scenarios --backend=sim --record-evidence"
    rows = fidelity.compare(sim.records, kind.records, fidelity.read_notes(fidelity.NOTES.read_text()))
    assert sum(1 for r in rows if r.compared) >= 10, "too few steps compared to say anything"
    bad = [" / ".join(r.key) + f": sim {r.sim.seen if r.sim else '-'}, kind {r.kind.seen if r.kind else '-'}"
           for r in fidelity.unexplained(rows)]  # fmt: skip
    assert not bad, (
        "sim and kind disagree (fix the twin or explain it in manifests/fidelity-notes.yaml):\n" + "\n".join(bad)
    )


@pytest.mark.parametrize("pins", ["tutorial-2023", "current"])
@pytest.mark.parametrize(
    ("defect", "step", "quote"),
    [
        # argoexec's git artifact driver on the tutorial's "..." key (git.go auth(): ssh.ParsePrivateKey)
        ("D21", "the Workflow builds, pushes and syncs", "ssh: no key found"),
        # the Sensor's template on a GitHub push: .Input.body.push is absent
        ("D18", "github push webhook for v1 starts a Workflow", "index of untyped nil"),
    ],
)
def test_facts_settled_on_the_real_programs_are_in_the_kind_evidence(
    pins: str, defect: str, step: str, quote: str
) -> None:
    """What the real controllers printed, kept in the committed kind evidence: the as-written step saw the defect by
    its observable, and the quote is the real program's own words."""
    from argo_tutorial_suite.verdicts import evidence

    kind = evidence.load("kind", pins)
    assert kind is not None, f"no kind evidence for {pins}: record a real run with --record-evidence"
    rows = [r for r in kind.records if r.profile == f"as-written@{pins}" and r.step == step and r.seen == known(defect)]
    assert rows, f"no as-written step {step!r} that saw {defect} in the kind evidence for {pins}"
    assert quote in rows[0].evidence.get(f"shows {defect}", ""), rows[0].evidence
