"""Step verdicts: known defects, strict unexpected passes, failures, and the rendered table/Markdown/JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.redact import REDACTOR
from fixtures.steps import FAILED, NOT_VERIFIED, PASSED, Steps, UnexpectedPass, junit, markdown, table, write


def test_step_verdicts() -> None:
    s = Steps("scenarios/test_x.py::t", "as-written@current", "simulated")
    with s.step("push v1"):
        pass
    with s.step("fire the GitHub webhook", defect="D18"):
        raise AssertionError("no Workflow: index of untyped nil")
    with pytest.raises(UnexpectedPass, match="D20"):
        with s.step("new revision after the second push", defect="D20"):
            pass
    with pytest.raises(RuntimeError):
        with s.step("sync"):
            raise RuntimeError("boom")
    s.not_verified("real Let's Encrypt", "TLS", "needs public DNS")
    verdicts = [r.verdict for r in s.records]
    assert verdicts == [PASSED, "known defect D18", FAILED, FAILED, NOT_VERIFIED]
    assert s.records[1].detail == "no Workflow: index of untyped nil"
    assert all(r.backend == "simulated" for r in s.records)


def test_a_step_a_substitution_leaves_unverified_runs_but_never_passes() -> None:
    s = Steps("t", "corrected@current", "real")
    why = "not verified here (cert-manager v1.21.1 substituted: v1.11.0 stands in)"
    with s.step("cert-manager issues every Certificate", "TLS", unverified=why) as rec:
        rec.detail = "3 Certificate(s) Ready"
    with pytest.raises(RuntimeError):
        with s.step("the CI Certificate", "TLS", unverified=why):
            raise RuntimeError("Certificate not Ready")
    with s.step("no substitution here", unverified=None):
        pass
    assert [r.verdict for r in s.records] == [NOT_VERIFIED, FAILED, PASSED]
    assert s.records[0].detail == f"{why}; it passed on the stand-in: 3 Certificate(s) Ready"


def test_a_defect_step_failing_for_another_reason_is_a_failure() -> None:
    s = Steps("t", "as-written@current", "simulated")
    with pytest.raises(KeyError):
        with s.step("fire", defect="D18"):
            raise KeyError("bug in the suite")
    assert s.records[0].verdict == FAILED


def test_renderings(tmp_path: Path) -> None:
    REDACTOR.register("pw-0123456")
    s = Steps("t", "corrected@current", "simulated")
    with s.step("login"), pytest.raises(AssertionError):
        with s.step("inner"):
            raise AssertionError("password pw-0123456 | rejected")
    text = table(s.records)
    assert "simulated" in text and "inner" in text
    md = markdown(s.records)
    assert "pw-0123456" not in md and "\\|" in md and "Totals:" in md
    root = ET.fromstring(junit(s.records))
    assert root.get("tests") == "2" and root.get("failures") == "1"
    assert root.find("testcase/failure") is not None
    files = write(s.records, tmp_path)
    assert [f.name for f in files] == ["verdicts.md", "verdicts-junit.xml"]


def test_a_defect_needs_its_observable() -> None:
    from fixtures.steps import DefectNotShown

    s = Steps("t", "as-written@current", "simulated")
    with s.step("fire", defect="D18"):
        raise AssertionError("the Sensor failed the trigger: error calling index: index of untyped nil")
    assert s.records[-1].verdict == "known defect D18"
    with pytest.raises(DefectNotShown, match="D18"):
        with s.step("fire again", defect="D18"):
            raise AssertionError("webhook answered 503")
    assert s.records[-1].verdict == FAILED


def test_static_findings_become_rows_with_a_summary() -> None:
    """Every static finding is a row (defect, rule, object, file, message, fix) at its tutorial section; an
    expected finding that is missing fails; the summary counts defects by severity class."""
    from fixtures.findings import Finding
    from fixtures.static.report import record_profile, severity_class, summary_lines

    s = Steps(scenario="t", profile="as-written@current", backend="static")
    found = [
        Finding("KUSTOMIZE-MISSING-FILE", "gitops/kustomization.yaml", "lists x", "rename", "gitops/k.yaml", "D10")
    ]
    expected = {
        ("D10", "KUSTOMIZE-MISSING-FILE", "gitops/kustomization.yaml"),
        ("D18", "SENSOR-PAYLOAD", "Sensor/ci/ci"),
    }
    record_profile(s, found, expected, corrected=False)
    rows = {r.step.split()[0]: r for r in s.records}
    assert rows["D10"].verdict == "known defect D10" and "fix: rename" in rows["D10"].detail
    assert "gitops/k.yaml" in rows["D10"].detail
    assert rows["D18"].verdict == "failed" and rows["D18"].detail.startswith("expected SENSOR-PAYLOAD")
    (line,) = summary_lines(s.records)
    assert line.startswith("static as-written@current: 1 defects found (1 blocks)") and "not found: D18" in line
    assert severity_class("blocks on kind") == "blocks" and severity_class("silently wrong (today)") == "silently wrong"
