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
from argo_tutorial_suite.tutorial import drift
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.verdicts.steps import Steps

pytestmark = [pytest.mark.static, pytest.mark.profiles]


def test_floating_refs_resolve_as_pinned(pytestconfig: pytest.Config, static_steps: Steps) -> None:
    plan = Profile.load("as-written", "current").install_plan()
    assert drift.floating_refs(plan), "the tutorial's install script has no floating reference any more"
    token = os.environ.get("GITHUB_TOKEN")
    if token:
        REDACTOR.register(token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = (
        httpx.Client(timeout=20, follow_redirects=True, headers=headers)
        if pytestconfig.getoption("resolve_floating")
        else None
    )
    try:
        floating = drift.resolve(plan, Pins.load("current"), client)
    finally:
        if client is not None:
            client.close()
    dest = Path(pytestconfig.getoption("artifacts"))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "drift.md").write_text(drift.markdown(floating))
    drifted = []
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
