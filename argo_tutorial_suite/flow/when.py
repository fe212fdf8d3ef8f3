"""When: what the reader (or GitHub) does. An action never waits; its effect is a Then."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.flow import webhook
from argo_tutorial_suite.flow.names import APP, APP_NS
from argo_tutorial_suite.probes.predicates import trigger_failures
from argo_tutorial_suite.verdicts import components as C

if TYPE_CHECKING:
    from argo_tutorial_suite.flow.state import Tutorial


class When:
    def __init__(self, t: Tutorial):
        self.t = t

    def webhook_fired(self, provider: str, version: str) -> When:
        """POST the provider's push delivery for ``version`` through the ingress (never waits); the Workflow
        it should start is :meth:`argo_tutorial_suite.flow.then.Then.workflow_started`."""
        t = self.t
        with t.step(
            f"deliver the {provider} push webhook for {version}",
            "CI: webhook",
            decided_by=(*C.INGRESS_CONTROLLERS, C.EVENTS),
        ) as rec:
            # a failure an earlier delivery left in the Sensor's log is not this one's (seen on kind: D18's
            # failure, logged 0.1 s before the next delivery, was taken for the Bitbucket one's)
            t.failures_before = frozenset(trigger_failures(t.sensor_log()))
            r, t.fired_ms = webhook.fire(t.backend, t.hosts.webhook, provider, t.pushed[version])
            t.fired = f"{provider} push webhook for {version} starts a Workflow"
            rec.detail = f"{r.status_code} {r.text[:80]}"
            if r.status_code != 200:
                raise AssertionError(f"the webhook answered {r.status_code}: {r.text[:200]}")
        return self

    def sync_requested(self) -> When:
        """Press SYNC (``POST .../sync``); whether it took is :meth:`argo_tutorial_suite.flow.then.Then.app_synced`."""
        t = self.t
        with t.argocd() as api:
            try:
                api.sync(APP, busy_retry=0)
                t.sync_refused = ""
            except AssertionError as e:
                t.sync_refused = str(e)
        return self

    def code_pushed(self, version: str) -> When:
        self.t.given().code_pushed(version)
        return self

    def resumed_in_argocd(self) -> When:
        """The tutorial's Resume: the Argo CD resource action on the Rollout, through the Argo CD API."""
        t = self.t
        with t.step(
            "Resume the Rollout from Argo CD (resource action)", "Blue-Green", decided_by=(C.ARGOCD, C.ROLLOUTS)
        ):
            resource = {
                "namespace": APP_NS,
                "resourceName": APP,
                "version": "v1alpha1",
                "group": "argoproj.io",
                "kind": "Rollout",
            }
            with t.argocd() as api:
                api.run_action(APP, "resume", resource)
        return self

    def promoted_like_the_plugin(self) -> When:
        """``kubectl argo rollouts promote``: ``{"status":{"pauseConditions":null}}`` on ``/status`` (merge
        patch), plus ``{"spec":{"paused":false}}`` when the spec is paused (``promote.go``)."""
        t = self.t
        with t.step(
            "promote the Rollout as kubectl argo rollouts promote does", "Blue-Green", decided_by=(C.ROLLOUTS,)
        ):
            ro = t.rollout()
            assert ro is not None, "no Rollout"
            if (ro.get("status") or {}).get("pauseConditions"):
                t.kube.patch(ARGOPROJ, "Rollout", APP, {"status": {"pauseConditions": None}}, APP_NS, status=True)
            if (ro.get("spec") or {}).get("paused"):
                t.kube.patch(ARGOPROJ, "Rollout", APP, {"spec": {"paused": False}}, APP_NS)
        return self
