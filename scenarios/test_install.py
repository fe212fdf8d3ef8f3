"""Install the stack as the profile says, and give each install command its verdict.

As-written: the tutorial's script runs as written; a failing command is a known defect when the
static check predicted it on the same command (catalog object ``install:<step>#<n>``), else a
failure. Corrected: nothing may fail. On every backend: the kinds the tutorial uses are served.
"""

from __future__ import annotations

import pytest

from argo_tutorial_suite.apis import ARGOPROJ, CERT_MANAGER
from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.backends.install import evidence_of, explain, not_installed, one_line
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.tutorial.installplan import step_component
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.verdicts.steps import FAILED, NOT_VERIFIED, Steps, known_defects

pytestmark = [pytest.mark.cluster, pytest.mark.profiles]

KINDS = (
    (ARGOPROJ, "Application", "argo-cd"),
    (ARGOPROJ, "Rollout", "argo-rollouts"),
    (ARGOPROJ, "Workflow", "argo-workflows"),
    (ARGOPROJ, "EventBus", "argo-events"),
    (ARGOPROJ, "EventSource", "argo-events"),
    (ARGOPROJ, "Sensor", "argo-events"),
    (CERT_MANAGER, "Issuer", "cert-manager"),
)


def predicted(profile: Profile) -> dict[str, list[str]]:
    """install:<step>#<n> -> the defects whose static findings name that command (as-written only)."""
    if profile.corrected:
        return {}
    out: dict[str, list[str]] = {}
    for defect, _rule, obj in sorted(catalog.expected_findings(profile.pins.name)):
        if obj.startswith("install:"):
            out.setdefault(obj, []).append(defect)
    return out


def test_install(backend: Backend, profile: Profile, steps: Steps) -> None:
    outcomes = backend.install_outcomes
    assert outcomes, "the backend recorded no install outcome"
    failures = []
    for cmd, verdict, why in explain(outcomes, predicted(profile)):
        name = f"install: {one_line(cmd.run)[:60]}"
        if verdict == NOT_VERIFIED:
            steps.not_verified(name, cmd.step, why)
            continue
        component = step_component(cmd.step)
        with steps.step(name, section=cmd.step, decided_by=(component,) if component else ()) as r:
            r.seconds = cmd.seconds
            r.evidence.update(evidence_of(cmd))
            if verdict == FAILED:
                r.verdict = FAILED
                r.detail = (f"{why}: " if why else "") + cmd.output[-300:]
                failures.append(f"{cmd.object}: `{cmd.run}` exited {cmd.returncode}: {why or cmd.output[-300:]}")
            elif known_defects(verdict):
                r.verdict = verdict
                r.detail = f"shows {why}"
    skipped = not_installed(outcomes)
    for api_version, kind, component in KINDS:
        if component in skipped:
            steps.not_verified(f"the {kind} kind is served", "Install", skipped[component])
            continue
        with steps.step(f"the {kind} kind is served", "Install", decided_by=(component,)):
            backend.kube.resource(api_version, kind)
    assert not failures, "install commands failed that no known defect explains:\n" + "\n".join(failures)
