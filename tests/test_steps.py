"""Step verdicts: known defects, strict unexpected passes, failures, and the rendered table/Markdown/JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.verdicts import steps
from argo_tutorial_suite.verdicts.components import Ran, Relation
from argo_tutorial_suite.verdicts.steps import (
    FAILED,
    NOT_VERIFIED,
    PASSED,
    DefectNotShown,
    Steps,
    UnexpectedPass,
    junit,
    known,
    markdown,
    summary,
    table,
    write,
)
from argo_tutorial_suite.verdicts.waits import Seen, WaitFailed


def test_step_verdicts() -> None:
    s = Steps("scenarios/test_x.py::t", "as-written@current", "simulated")
    with s.step("push v1"):
        pass
    with s.step("fire the GitHub webhook", defect="D18"):
        raise failed("no Workflow", **{"sensor log": '{"error": "index of untyped nil"}'})
    with pytest.raises(UnexpectedPass, match="D20"):
        with s.step("new revision after the second push", defect="D20"):
            pass
    with pytest.raises(RuntimeError):
        with s.step("sync"):
            raise RuntimeError("boom")
    s.not_verified("real Let's Encrypt", "TLS", "needs public DNS")
    verdicts = [r.verdict for r in s.records]
    assert verdicts == [PASSED, "known defect D18", FAILED, FAILED, NOT_VERIFIED]
    assert s.records[1].detail.startswith("no Workflow: failed after")
    assert s.records[1].evidence["shows D18"] == "sensor log: 'index of untyped nil'"
    assert all(r.backend == "simulated" for r in s.records)


RAN = {
    "cert-manager": Ran("cert-manager", Relation.ANOTHER, "v1.11.0 for v1.21.1"),
    "ingress-nginx": Ran("ingress-nginx", Relation.STAND_IN, "traefik serves the Ingresses"),
    "argo-rollouts": Ran("argo-rollouts", Relation.SAME, "built here from its release"),
}


def test_a_step_decided_by_another_release_or_a_stand_in_runs_but_never_passes() -> None:
    s = Steps("t", "corrected@current", "real", ran=RAN)
    with s.step("cert-manager issues every Certificate", "TLS", decided_by=("cert-manager", "ingress-nginx")) as rec:
        rec.detail = "3 Certificate(s) Ready"
    with pytest.raises(RuntimeError):
        with s.step("the CI Certificate", "TLS", decided_by=("cert-manager",)):
            raise RuntimeError("Certificate not Ready")
    with s.step("the Rollout is Healthy", decided_by=("argo-rollouts",)):
        pass
    with s.step("push the app"):
        pass
    assert [r.verdict for r in s.records] == [NOT_VERIFIED, FAILED, PASSED, PASSED]
    first = s.records[0]
    assert first.observed == PASSED and first.seen == PASSED
    assert first.detail == (
        "passed on cert-manager: another release (v1.11.0 for v1.21.1); ingress-nginx: stand-in (traefik serves the "
        "Ingresses): 3 Certificate(s) Ready"
    )
    assert "(on cert-manager: another release" in s.records[1].detail and s.records[1].observed == ""


def test_a_known_defect_seen_on_a_stand_in_is_not_verified_and_keeps_what_it_saw() -> None:
    s = Steps("t", "as-written@current", "real", ran=RAN)
    with s.step("preview serves only v2", defect="D13", decided_by=("argo-rollouts", "ingress-nginx")) as rec:
        rec.evidence["requests per version"] = {"v1": 4, "v2": 5}
        raise AssertionError("https://preview/ serves only v2: timed out")
    (r,) = s.records
    assert r.verdict == NOT_VERIFIED and r.observed == "known defect D13" and r.seen == "known defect D13"
    assert r.detail.startswith("known defect D13 on ingress-nginx: stand-in")


def test_a_step_narrows_its_deciders_to_what_took_part() -> None:
    s = Steps("t", "as-written@current", "real", ran=RAN)
    with s.step("the Workflow", decided_by=("argo-rollouts", "ingress-nginx")) as rec:
        rec.decided_by = ["argo-rollouts"]
    assert s.records[0].verdict == PASSED


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
    assert [f.name for f in files] == ["report.html", "verdicts.md", "verdicts-junit.xml", "verdicts.txt"]


def test_the_summary_fits_a_screen_and_titles_stay_on_one_line() -> None:
    """Counts by verdict per profile, failed steps with their reason, known defects by ID, not-verified reasons
    grouped; a multi-line title (the tutorial's ``echo -e`` step) never breaks a row."""
    s = Steps("t", "as-written@current", "kind")
    for i in range(30):
        s.record(f"step {i}", "x", PASSED)
    s.record("echo -e 'a\nb'\n  | kubectl apply -f -", "x", FAILED, "exit 1: no such thing")
    s.record("sync", "x", known("D24"), "HTTP 415")
    for i in range(12):
        s.not_verified(f"nv {i}", "x", "cert-manager: another release")
    lines = summary(s.records)
    assert lines[0].startswith(
        "as-written@current: 44 steps: 30 passed, 1 failed, 1 known defect, 12 not verified here"
    )
    assert any(line.startswith("  FAILED echo -e 'a b' | kubectl apply -f -: exit 1") for line in lines)
    assert "  known defects: D24" in lines
    assert "  not verified here (12): cert-manager: another release" in lines
    assert len(lines) <= 6 and all("\n" not in line for line in [*lines, *table(s.records).splitlines()])
    assert len(table(s.records).splitlines()) == 45


def failed(what: str, **evidence: object) -> WaitFailed:
    """A wait that failed with this evidence, as the flow's waits raise it."""
    return WaitFailed(what, Seen.failed(what, **evidence), 1.0, timed_out=False)


def test_a_defect_shows_only_by_its_observable_in_the_evidence() -> None:
    s = Steps("t", "as-written@current", "simulated")
    with s.step("fire", defect="D18"):
        raise failed("the Sensor failed the trigger", **{"sensor log": "error calling index: index of untyped nil"})
    assert s.records[-1].verdict == "known defect D18"
    # the observable's words in the message (a title, a wait's sentence) are not evidence
    with pytest.raises(DefectNotShown, match="D18"):
        with s.step("fire again: index of untyped nil?", defect="D18"):
            raise AssertionError("webhook answered 503; index of untyped nil")
    assert s.records[-1].verdict == FAILED
    assert "saw no 'sensor log' in the evidence" in s.records[-1].detail


def test_a_preview_serving_only_v1_is_not_d13() -> None:
    """D13 is the preview mixing old and new pods: both versions answered. A preview that serves only v1 is
    another failure (the new revision never reached it), though the step's title and the wait's text name
    v1 and v2."""
    s = Steps("t", "as-written@current", "simulated")
    with pytest.raises(DefectNotShown):
        with s.step("the preview host serves only v2", defect="D13") as rec:
            rec.evidence["requests per version"] = {"v1": 80}
            raise failed("https://preview/ serves only v2 (v1 then v2?)", counts={"v1": 8})
    assert s.records[-1].verdict == FAILED
    assert "expected D13" in s.records[-1].detail and "v1: 80" in s.records[-1].detail
    with s.step("the preview host serves only v2", defect="D13") as rec:
        rec.evidence["requests per version"] = {"v1": 41, "v2": 39}
        raise failed("https://preview/ serves only v2")
    assert s.records[-1].verdict == "known defect D13"
    assert s.records[-1].evidence["shows D13"] == "requests per version: v1=41, v2=39"


def test_a_defect_the_catalog_gives_no_observable_is_never_known() -> None:
    s = Steps("t", "as-written@current", "simulated")
    with pytest.raises(DefectNotShown, match="no observable"):
        with s.step("the ingress", defect="D6"):
            raise failed("LoadBalancer pending", anything="EXTERNAL-IP <pending>")


def test_static_findings_become_rows_with_a_summary() -> None:
    """Every static finding is a row (defect, rule, object, file, message, fix) at its tutorial section; an
    expected finding that is missing fails; the summary counts defects by severity class."""
    from argo_tutorial_suite.static.findings import Finding
    from argo_tutorial_suite.static.report import record_profile, severity_class, summary_lines

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


def test_a_long_wait_reports_live_with_its_bound_and_last_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every wait longer than ``after`` seconds says what it waits for, the time spent against its bound and the
    last thing seen, through the live sink (the terminal reporter in a pytest run); a short one says nothing."""
    from argo_tutorial_suite.verdicts import live
    from argo_tutorial_suite.verdicts.waits import Progress, expect

    lines: list[str] = []
    monkeypatch.setattr(live, "_sink", [lines.append])
    now = [0.0]
    seen = iter([Seen.pending("0/3 ready")] * 8 + [Seen.ok("3/3 ready")])
    p = Progress(every=1.0, after=2.0)
    monkeypatch.setattr("argo_tutorial_suite.verdicts.waits.time.monotonic", lambda: now[0])

    def advance(_s: float) -> None:
        now[0] += 1.0

    expect(lambda: next(seen), "the pods", 30, progress=p, clock=lambda: now[0], sleep=advance)
    assert lines and lines[0] == "  waiting for the pods: 2s of 30s; last seen: pending, 0/3 ready"
    lines.clear()
    expect(lambda: Seen.ok("done"), "a quick thing", 30, progress=Progress(every=1.0, after=2.0))
    assert lines == []


def test_live_lines_name_the_backend_shortly_and_keep_a_multi_line_step_on_one_line() -> None:
    from argo_tutorial_suite.verdicts import live

    label = "real (kind v0.17.0, node image built locally (kindest/node:v1.25.3; manifest /root/.cache/x.json))"
    assert steps.short_backend(label) == "kind v0.17.0" and steps.short_backend("simulated") == "simulated"
    lines: list[str] = []
    live.set_sink(lines.append)
    try:
        s = steps.Steps(scenario="t", profile="corrected@current", backend=label)
        with s.step('echo -e "a\\nb" | kubectl apply -f -', "Install"):
            pass
    finally:
        live.set_sink(None)
    assert lines and all("\n" not in line and line.startswith("[kind v0.17.0] corrected@current: ") for line in lines)
