"""The tutorial, played from the first push to the promoted version, step by step.

Corrected profile: passes end to end. As-written profile: the same flow on the tutorial's files; each
step the catalog says is broken is declared with its defect, and must break (strict: if it passes, the
step fails as an unexpected pass, so a fixed tutorial or upstream turns the nightly red); the steps
after a blocking defect are reported as not verified, with the blocking defect named.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.flow import Tutorial
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.verdicts.steps import Steps

pytestmark = [pytest.mark.cluster, pytest.mark.profiles]

AFTER_BLOCK = [
    ("Argo CD shows the app Healthy; the active host serves v1", "Argo CD"),
    ("push v2: a new Rollout revision pauses for blue-green", "Blue-Green"),
    ("preview serves only v2, active only v1", "Blue-Green: traffic"),
    ("Resume from Argo CD: the active host serves v2", "Blue-Green"),
]


def ci_cannot_run(backend: Backend, steps: Steps) -> bool:
    """Where the CI cannot run at all (offline, its images not built here), every step from ``ci.yaml`` on is
    "not verified here", with the reason; never failed, never passed."""
    why = backend.cannot(Capability.CI_RUN)
    if why:
        steps.not_verified("every step from applying ci.yaml to the promoted version", "CI", why)
    return why is not None


def test_tutorial(backend: Backend, profile: Profile, steps: Steps, tmp_path: Path) -> None:
    t = Tutorial.start(backend, profile, steps, tmp_path)
    steps.not_verified(
        "GitHub delivers the push webhook to the cluster",
        "CI: webhook",
        "D31: GitHub needs a public HTTPS endpoint; the suite posts the same delivery through the ingress",
    )
    t.given().code_pushed("v1").gitops_pushed().application_created()
    if ci_cannot_run(backend, steps):
        return
    t.given().ci_applied()
    t.then().eventsource_listening().sensor_subscribed()

    if not profile.corrected:
        # The tutorial registers a GitHub webhook, but its Sensor reads the Bitbucket payload (D18).
        t.when().webhook_fired("github", "v1")
        t.then().workflow_started(defect="D18")
        t.when().webhook_fired("bitbucket", "v1")
        t.then().workflow_started()
        # The git artifact pairs an SSH key with an https URL: go-git refuses it (D21).
        t.then().workflow_succeeded(defect="D21")
        # Pressing SYNC in the UI: the kustomization lists files the tutorial named differently (D10).
        t.when().sync_requested()
        t.then().app_synced(defect="D10")
        for name, section in AFTER_BLOCK:
            steps.not_verified(name, section, "blocked by D10 and D21: the app is never deployed")
        return

    t.when().webhook_fired("github", "v1")
    t.then().workflow_started().workflow_succeeded().app_synced().app_health("Healthy").rollout_healthy()
    t.then().serves(t.hosts.app, "v1", "active")

    t.when().code_pushed("v2").webhook_fired("github", "v2")
    t.then().workflow_started().workflow_succeeded().app_synced().rollout_paused().app_health("Suspended")
    t.then().serves(t.hosts.preview, "v2", "preview").serves(t.hosts.app, "v1", "active")

    t.when().resumed_in_argocd()
    t.then().rollout_healthy().serves(t.hosts.app, "v2", "active")

    # The other way to resume: what `kubectl argo rollouts promote` sends.
    t.when().code_pushed("v3").webhook_fired("github", "v3")
    t.then().workflow_started().workflow_succeeded().app_synced().rollout_paused()
    t.then().serves(t.hosts.preview, "v3", "preview").serves(t.hosts.app, "v2", "active")
    t.when().promoted_like_the_plugin()
    t.then().rollout_healthy().serves(t.hosts.app, "v3", "active")
    t.then().replaced_revision_scaled_down(0)  # v1's ReplicaSet, replaced at the Resume


@pytest.mark.only_profile("as-written")
def test_blue_green_past_the_blockers(backend: Backend, profile: Profile, steps: Steps, tmp_path: Path) -> None:
    """The tutorial's blue-green section on its own files, once the blocking defects are worked around
    (each workaround a recorded step): what a reader meets next, D20 then D13 (and D24 with today's Argo CD)."""
    t = Tutorial.start(backend, profile, steps, tmp_path)
    w = t.workaround()
    w.kustomization_file_names().namespace_created_by_argocd().rollout_runs_the_pushed_image()
    w.public_git_clone().argocd_config_filled_in().issuer_reaches_an_acme_server().plain_http_registry()
    # D24's 415 part (Argo CD >= 2.10 refuses non-JSON calls) shows only with today's pins, per the catalog.
    d24 = (
        "D24"
        if ("D24", "HTTP-CONTENT-TYPE") in {(d, r) for d, r, _ in catalog.expected_findings(profile.pins.name)}
        else None
    )

    def build_and_sync(version: str) -> None:
        t.when().webhook_fired("bitbucket", version)  # the payload the tutorial's Sensor reads (D18)
        t.then().workflow_started().workflow_succeeded().sync_step_took_effect(defect=d24)
        if d24:
            w.synced_from_the_ui(d24)
        t.then().app_synced()

    t.given().code_pushed("v1").gitops_pushed().application_created()
    if ci_cannot_run(backend, steps):
        return
    t.given().ci_applied()
    t.then().eventsource_listening().sensor_subscribed()
    build_and_sync("v1")
    t.then().app_health("Healthy").rollout_healthy().serves(t.hosts.app, "v1", "active")

    t.when().code_pushed("v2")
    build_and_sync("v2")
    t.then().new_revision(defect="D20")  # :latest again, the GitOps repo unchanged
    w.new_pod_template("v2")
    t.then().rollout_paused().app_health("Suspended")
    # No previewService: the preview Service selects the old and the new pods alike (D13).
    t.then().serves(t.hosts.preview, "v2", "preview", defect="D13", settle=10).serves(t.hosts.app, "v1", "active")
    t.when().resumed_in_argocd()
    t.then().rollout_healthy().serves(t.hosts.app, "v2", "active")
