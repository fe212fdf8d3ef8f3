"""Existing-cluster mode (workshop instructors): ``pytest scenarios -m existing --kubeconfig PATH``.

Read-only: each component installed, its version, its health; the two UIs the tutorial
port-forwards answer; the Argo CD initial admin secret exists. Deselected without ``--kubeconfig``.
"""

from __future__ import annotations

import pytest

from argo_tutorial_suite.live import inventory as inventory
from argo_tutorial_suite.live.cluster import ExistingCluster
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.verdicts.steps import Steps
from argo_tutorial_suite.verdicts.waits import State

pytestmark = [pytest.mark.existing]


def test_components_installed_and_healthy(existing: ExistingCluster, profile: Profile, steps: Steps) -> None:
    broken = []
    for st in existing.components():
        with steps.step(f"{st.component} installed and healthy", section="Install") as r:
            expected = profile.pins.pinned(st.component)
            drift = inventory.version_drift(st.version, expected)
            r.detail = f"{st.version or 'not installed'}; {st.health.detail}" + (f"; {drift}" if drift else "")
            if st.health.state is not State.OK:
                broken.append(f"{st.component}: {st.verdict}: {st.health.detail}")
                raise AssertionError(r.detail)
    assert not broken


def test_uis_answer_and_admin_secret_exists(existing: ExistingCluster, steps: Steps) -> None:
    for title, (ns, target, port) in inventory.UIS.items():
        with steps.step(title, section="Install: port-forward"):
            seen = existing.ui(ns, target, port)
            assert seen.state is State.OK, seen.detail
    with steps.step("argocd-initial-admin-secret exists", section="Install: admin password"):
        seen = existing.admin_secret()
        assert seen.state is State.OK, seen.detail
