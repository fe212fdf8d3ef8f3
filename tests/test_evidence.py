"""Committed real-run evidence (argo_tutorial_suite/verdicts/evidence.py): recorded clean, read back, and the sim held to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argo_tutorial_suite.paths import ROOT
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.verdicts import evidence, fidelity
from argo_tutorial_suite.verdicts.steps import NOT_VERIFIED, PASSED, StepRecord, known

KIND = "real (kind v0.30.0, node image built locally (kindest/node:v1.34.0; manifest /root/.cache/x/current.json))"


def rec(step: str, verdict: str, backend: str, profile: str = "corrected@current", observed: str = "") -> StepRecord:
    return StepRecord(
        f"scenarios/test_tutorial.py::test_tutorial[{profile}]", profile, step, "CI", verdict, backend, 1.23,
        observed=observed,
    )  # fmt: skip


def test_recorded_evidence_is_redacted_relative_and_read_back(tmp_path: Path) -> None:
    REDACTOR.register("hunter2-evidence")
    r = rec("sync", PASSED, KIND)
    r.detail = f"logged in with hunter2-evidence from {ROOT}/artifacts"
    r.evidence = {"counts": {"v1": 3}, "log": "x" * 5000}
    written = evidence.record([r, rec("a", PASSED, "simulated")], {"corrected@current": f"ran {ROOT}"}, tmp_path, "t0")
    assert sorted(p.name for p in written) == ["kind-current.json", "sim-current.json"]
    text = (tmp_path / "kind-current.json").read_text()
    assert "hunter2-evidence" not in text and str(ROOT) not in text and "/root/" not in text
    ev = evidence.load("kind", "current", tmp_path)
    assert ev is not None and ev.recorded == "t0" and ev.ran == {"corrected@current": "ran ."}
    (got,) = ev.records
    assert got.detail.endswith("from ./artifacts") and got.evidence["counts"] == "{'v1': 3}"
    assert len(got.evidence["log"]) == evidence.EVIDENCE_TEXT and got.seconds == 1.2


def test_a_scenario_recorded_again_replaces_its_records(tmp_path: Path) -> None:
    evidence.record([rec("a", PASSED, KIND), rec("gone", PASSED, KIND)], {}, tmp_path)
    evidence.record([rec("a", PASSED, KIND, profile="as-written@current")], {}, tmp_path)
    evidence.record([rec("a", PASSED, KIND)], {}, tmp_path)
    ev = evidence.load("kind", "current", tmp_path)
    assert ev is not None and sorted((r.profile, r.step) for r in ev.records) == [
        ("as-written@current", "a"),
        ("corrected@current", "a"),
    ]


def test_a_broken_evidence_file_says_how_to_record_it_again(tmp_path: Path) -> None:
    (tmp_path / "kind-current.json").write_text(json.dumps({"version": 0}))
    with pytest.raises(evidence.EvidenceError, match="--record-evidence"):
        evidence.load("kind", "current", tmp_path)


def test_the_sim_is_compared_by_what_each_step_saw(tmp_path: Path) -> None:
    kind = [
        rec("sync", NOT_VERIFIED, KIND, observed=PASSED),  # another release ran: what it saw still compares
        rec("resume", PASSED, KIND),
        rec("preview", known("D13"), KIND, profile="as-written@current"),
    ]
    evidence.record(kind, {}, tmp_path)
    sim = [rec("sync", PASSED, "simulated"), rec("resume", known("D13"), "simulated")]
    (c,) = evidence.compare_sim(sim, [], tmp_path)
    assert c.compared == 2 and [r.key[2] for r in c.bad] == ["resume"]
    assert all(r.key[1] == "corrected@current" for r in c.rows)  # only the profiles the sim played
    lines = evidence.lines([c])
    assert (
        "2 steps compared, 1 disagree" in lines[0] and "DISAGREE test_tutorial corrected@current / resume" in lines[1]
    )
    note = fidelity.read_notes("notes:\n- {scenario: test_tutorial, step: resume, why: the twin cannot}\n")
    assert not evidence.compare_sim(sim, note, tmp_path)[0].bad


def test_no_evidence_for_a_pins_set_is_said() -> None:
    (c,) = evidence.compare_sim([rec("a", PASSED, "simulated", profile="corrected@x")], [], Path("/nonexistent"))
    assert c.missing.startswith("no kind evidence for x")
