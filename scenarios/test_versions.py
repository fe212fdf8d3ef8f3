"""Version drift: the tutorial's floating references (``stable``, ``latest``) against the ``current`` pins.

Offline, each is reported "not verified here"; with ``--resolve-floating`` (the nightly drift job) each is
resolved through the GitHub API and a drift fails, naming the pins file to update. The report
``artifacts/drift.md`` also lists the defects that appear only with one set of pins.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tutorial import drift, lifecycle
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.verdicts.steps import Steps

pytestmark = [pytest.mark.static, pytest.mark.profiles]


RETIRED_DEFECT = "D37"  # the catalog's entry for a component retired upstream (ingress-nginx)


class UpstreamProblem(AssertionError):
    def __init__(self, message: str, evidence: dict[str, str]) -> None:
        super().__init__(message)
        self.evidence = evidence


def client_for(pytestconfig: pytest.Config) -> httpx.Client | None:
    """The GitHub API client of the nightly drift job (``--resolve-floating``), else None (offline)."""
    if not pytestconfig.getoption("resolve_floating"):
        return None
    token = os.environ.get("GITHUB_TOKEN")
    if token:
        REDACTOR.register(token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(timeout=20, follow_redirects=True, headers=headers)


def test_floating_refs_resolve_as_pinned(pytestconfig: pytest.Config, static_steps: Steps) -> None:
    plan = Profile.load("as-written", "current").install_plan()
    assert drift.floating_refs(plan), "the tutorial's install script has no floating reference any more"
    components = sorted({c.component for c in plan.commands() if c.component})
    today = lifecycle.today_utc()
    drifted: list[str] = []
    client = client_for(pytestconfig)
    try:
        floating = drift.resolve(plan, Pins.load("current"), client)
        statuses = lifecycle.status(components, client) if client else lifecycle.offline(components)
    finally:
        if client is not None:
            client.close()
    dest = Path(pytestconfig.getoption("artifacts"))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "drift.md").write_text(drift.markdown(floating) + "\n" + lifecycle.markdown(statuses, today))
    for s in statuses:
        name = f"{s.component} is maintained upstream"
        if s.error and not lifecycle.retirement(s.component, today):
            static_steps.not_verified(name, "upstream status", s.line(today))
            continue
        retired = lifecycle.retirement(s.component, today)
        with static_steps.step(name, "upstream status", defect=RETIRED_DEFECT if retired else None):
            problems = s.findings(today)
            if problems and not retired:
                drifted.append("; ".join(problems))
            if problems:  # a recorded retirement is the tutorial's known defect; anything else fails the night
                raise UpstreamProblem(
                    "; ".join(problems), {"upstream status": s.line(today) + "; " + "; ".join(problems)}
                )
    for f in floating:
        name = f"{f.component}@{f.ref} resolves to the pinned {f.pinned}"
        if f.today is None:
            static_steps.not_verified(name, "version drift", f.line())
            continue
        with static_steps.step(name, "version drift"):
            if f.drifted:
                drifted.append(f.line())
                raise AssertionError(f.line())
    assert not drifted
