"""Then: what the reader expects to see. Every expectation waits through :func:`argo_tutorial_suite.verdicts.waits.expect` (or
samples through :func:`~argo_tutorial_suite.verdicts.waits.expect_consistently`), stops at once on a terminal state and keeps the
evidence."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import TYPE_CHECKING

import httpx

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.flow import argocd_diff
from argo_tutorial_suite.flow.names import APP, APP_NS, CI_NS
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes import predicates, readiness, traffic
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.verdicts import components as C
from argo_tutorial_suite.verdicts.waits import Seen, State, WaitFailed, expect, expect_consistently

if TYPE_CHECKING:
    from argo_tutorial_suite.flow.state import Tutorial


class Then:
    def __init__(self, t: Tutorial):
        self.t = t

    def eventsource_listening(self) -> Then:
        """First the EventBus is deployed and the EventSource's pod Ready (on a cold node the bus pulls its
        images and the EventSource restarts until the bus answers: that is the install's time, not the
        ``listen`` budget), then ``/health`` answers through the ingress."""
        t = self.t
        with t.step(
            "the webhook EventSource listens (GET /health through the ingress)",
            "CI: Argo Events",
            decided_by=(C.EVENTS, C.EVENTBUS, *C.INGRESS_CONTROLLERS),
        ):

            def bus() -> Seen:
                buses = t.kube.list(ARGOPROJ, "EventBus", CI_NS)
                if not buses:
                    return Seen.pending("no EventBus in namespace ci yet")
                return readiness.all_of("EventBus", [readiness.eventbus(b) for b in buses])

            def source_pod() -> Seen:
                pods = t.kube.list("v1", "Pod", CI_NS, label_selector="eventsource-name")
                if not pods:
                    return Seen.pending("no EventSource pod yet")
                for es in t.kube.list(ARGOPROJ, "EventSource", CI_NS):
                    name = es["metadata"]["name"]
                    mine = [p for p in pods if (p["metadata"].get("labels") or {}).get("eventsource-name") == name]
                    current = predicates.pods_on_current_spec(es, mine)
                    if current.state is not State.OK:
                        return current
                ready = [p for p in pods if readiness.pod_ready(p)]
                if ready:
                    return Seen.ok(f"EventSource pod {ready[0]['metadata']['name']} Ready")
                # restarts while the bus came up heal by themselves (the kubelet's back-off); an image that
                # cannot be pulled does not
                problems = [readiness.pod_problem(p) for p in pods]
                hard = [x for x in problems if x and "CrashLoopBackOff" not in x]
                if hard:
                    return Seen.failed(hard[0])
                return Seen.pending(
                    f"EventSource pod {pods[0]['metadata']['name']} not Ready ({problems[0] or 'starting'})"
                )

            t.wait(bus, "the EventBus in namespace ci deployed", "install")
            t.wait(source_pod, "the EventSource pod Ready", "install")

            def probe() -> Seen:
                try:
                    r = t.backend.http(t.hosts.webhook, "/health", scheme="https", timeout=5)
                except httpx.HTTPError as e:
                    return Seen.pending(f"no answer: {type(e).__name__}")
                return predicates.eventsource_listening(r.status_code, r.text)

            t.wait(probe, f"EventSource ci listening on https://{t.hosts.webhook}/health", "listen")
        return self

    def sensor_subscribed(self) -> Then:
        t = self.t
        with t.step("the Sensor has subscribed to the event bus", "CI: Argo Events", decided_by=(C.EVENTS, C.EVENTBUS)):

            def probe() -> Seen:
                # a Sensor changed since its pod started (ci.yaml applied again) is rolled out first: until
                # then the old pod takes the deliveries with the old spec
                current = predicates.pods_on_current_spec(
                    t.kube.get(ARGOPROJ, "Sensor", "ci", CI_NS) or {"kind": "Sensor", "metadata": {"name": "ci"}},
                    t.kube.list("v1", "Pod", CI_NS, label_selector="sensor-name=ci"),
                )
                if current.state is not State.OK:
                    return current
                log = t.sensor_log()
                if re.search(r"Subscrib(ed|ing) to subject", log):
                    return Seen.ok("sensor subscribed")
                return Seen.pending("no subscription logged yet", log=log[-500:])

            t.wait(probe, "Sensor ci subscribed (events sent earlier are lost)", "listen")
        return self

    def workflow_started(self, defect: str | None = None) -> Then:
        """The last webhook delivery starts a Workflow (or the Sensor's trigger fails: a terminal state)."""
        t = self.t
        assert t.fired, "no webhook was delivered (When.webhook_fired)"
        with t.step(t.fired, "CI: webhook", defect, decided_by=(C.EVENTS, C.EVENTBUS)) as rec:
            self._workflow_created()
            rec.detail = f"Workflow {t.workflow}"
        return self

    def _workflow_created(self) -> None:
        t = self.t

        def probe() -> Seen:
            mine = [
                w
                for w in t.kube.list(ARGOPROJ, "Workflow", CI_NS, label_selector="events.argoproj.io/sensor=ci")
                if int((w["metadata"].get("labels") or {}).get("events.argoproj.io/action-timestamp", "0"))
                >= t.fired_ms - 2000
            ]
            if mine:
                t.workflow = sorted(mine, key=lambda w: w["metadata"]["creationTimestamp"])[-1]["metadata"]["name"]
                return Seen.ok(f"Workflow {t.workflow} created")
            failures = [
                line
                for line in predicates.trigger_failures(t.sensor_log())
                if line not in t.failures_before and _ts(line) * 1000 >= t.fired_ms - 2000
            ]
            if failures:
                return Seen.failed(
                    f"the Sensor failed the trigger: {json.loads(failures[-1]).get('error', failures[-1])}",
                    **{"sensor log": failures[-1]},
                )
            return Seen.pending("no Workflow yet")

        t.wait(probe, "a Workflow created by Sensor ci", "http")

    def workflow_succeeded(self, defect: str | None = None) -> Then:
        t = self.t
        with t.step(
            "the Workflow builds, pushes and syncs",
            "CI: Argo Workflows",
            defect,
            decided_by=(C.WORKFLOWS, C.BUILDKIT, C.CI_TOOLS),
        ) as rec:
            assert t.workflow, "no Workflow was started"

            def probe() -> Seen:
                seen = predicates.workflow_done(t.kube.get(ARGOPROJ, "Workflow", t.workflow, CI_NS))
                if seen.state is not State.PENDING:
                    return seen
                # a step pod that cannot start (its image cannot be pulled) does not heal: fail at once
                pods = t.kube.list("v1", "Pod", CI_NS, label_selector=f"workflows.argoproj.io/workflow={t.workflow}")
                stuck = [x for x in map(readiness.pod_problem, pods) if x]
                return Seen.failed(f"{seen.detail}; {stuck[0]}") if stuck else seen

            try:
                seen = t.wait(probe, f"Workflow {t.workflow} Succeeded", "workflow")
            except WaitFailed as e:
                e.last and e.last.evidence.update({"step logs": self._failed_logs()})
                # a failure is decided by the programs whose containers failed (a clone's failure by argoexec,
                # not by BuildKit, which never ran)
                failed_in = self._failed_components()
                if failed_in:
                    rec.decided_by = failed_in
                raise
            rec.detail = seen.detail
        why = t.backend.cannot(Capability.CI_IMAGES)
        if why:
            steps = t.steps
            steps.not_verified(
                "the CI's steps ran in their own images (BuildKit, alpine/git, curl)", "CI: Argo Workflows", why
            )
        return self

    def _failed_components(self) -> list[str]:
        """The components whose images ran in the Workflow's containers that ended in an error."""
        t = self.t
        out: list[str] = []
        pods = t.kube.list("v1", "Pod", CI_NS, label_selector=f"workflows.argoproj.io/workflow={t.workflow}")
        for image in predicates.failed_container_images(pods):
            c = C.component_of_image(image)
            if c and c not in out:
                out.append(c)
        return out

    def _failed_logs(self) -> dict[str, str]:
        t = self.t
        wf = t.kube.get(ARGOPROJ, "Workflow", t.workflow, CI_NS) or {}
        out = {}
        for pod in t.kube.list("v1", "Pod", CI_NS, label_selector=f"workflows.argoproj.io/workflow={t.workflow}"):
            node = (pod["metadata"].get("annotations") or {}).get("workflows.argoproj.io/node-id")
            if node in {n["id"] for n in predicates.failed_nodes(wf)}:
                for c in ("init", "main"):
                    try:
                        out[f"{pod['metadata']['name']}/{c}"] = REDACTOR.text(
                            t.kube.logs(CI_NS, pod["metadata"]["name"], c, tail=40)
                        )
                    except Exception:  # a missing container log is no evidence
                        continue
        return out

    def sync_step_took_effect(self, defect: str | None = None) -> Then:
        """The Workflow's sync step must have reached Argo CD: its log must not show a refused call (D24:
        ``415 Invalid content type`` since Argo CD 2.10, while curl without ``--fail`` keeps the step green)."""
        t = self.t
        with t.step(
            "the Workflow's sync call was accepted by Argo CD",
            "CI: Argo CD API",
            defect,
            decided_by=(C.ARGOCD, C.CI_TOOLS),
        ) as rec:

            def probe() -> Seen:
                logs = "".join(
                    t.kube.logs(CI_NS, p["metadata"]["name"], "main", tail=200)
                    for p in t.kube.list(
                        "v1", "Pod", CI_NS, label_selector=f"workflows.argoproj.io/workflow={t.workflow}"
                    )
                    if "sync" in p["metadata"]["name"]
                )
                refused = predicates.refused_api_calls(logs)
                if refused:
                    return Seen.failed(
                        f"the sync step's calls were refused ({refused[0]}), yet the step Succeeded",
                        **{"refused calls": refused},
                    )
                return Seen.ok("no refused call in the sync step's log")

            rec.detail = t.wait(probe, "the sync step's log shows no refused call", "api").detail
        return self

    def new_revision(self, defect: str | None = None) -> Then:
        """After the push and the sync, the Rollout has a new revision (a new pod-template hash)."""
        t = self.t
        with t.step(
            "the push made a new Rollout revision", "Blue-Green", defect, decided_by=(C.ARGOCD, C.ROLLOUTS)
        ) as rec:

            def probe() -> Seen:
                ro = t.rollout() or {}
                current = (ro.get("status") or {}).get("currentPodHash")
                if t.active_hashes and current == t.active_hashes[-1]:
                    image = (
                        ((ro.get("spec") or {}).get("template") or {})
                        .get("spec", {})
                        .get("containers", [{}])[0]
                        .get("image")
                    )
                    # after the sync the template is what Git says: an unchanged hash will not change by waiting
                    return Seen.failed(
                        f"no new revision: the Rollout's pod template is unchanged (image {image}), currentPodHash still {current}",
                        **{"rollout revision": {"before": t.active_hashes[-1], "after": current, "image": image}},
                    )
                return Seen.ok(f"currentPodHash {current}")

            rec.detail = t.wait(probe, f"Rollout {APP} on a new revision", "rollout").detail
        return self

    def app_synced(self, defect: str | None = None) -> Then:
        """The Application synced to the GitOps head; a SYNC that Argo CD refused (When.sync_requested) fails
        at once with its answer."""
        t = self.t
        with t.step("Argo CD synced the GitOps head", "Argo CD", defect, decided_by=(C.ARGOCD,)) as rec:
            rev = t.head("gitops")
            refused, t.sync_refused = t.sync_refused, ""
            refreshed: list[str] = []

            def probe() -> Seen:
                if refused:
                    return Seen.failed(refused)
                app = t.app()
                older = predicates.compared_with_an_older_head(app, rev)
                if older and not refreshed:
                    # what the UI's REFRESH does: the comparison resolves HEAD afresh
                    t.refresh_app()
                    refreshed.append(
                        f"Argo CD compared with its cached HEAD {older[:8]} after syncing {rev[:8]} "
                        "(repo-server revision cache, up to 3 min): refreshed, as the UI's REFRESH does"
                    )
                    rec.evidence["refresh"] = refreshed[0]
                return predicates.app_synced(app, rev)

            try:
                rec.detail = t.wait(probe, f"Application {APP} synced to {rev[:8]}", "sync").detail
                if refreshed:
                    rec.detail += f"; {refreshed[0]}"
            except WaitFailed as e:
                e.last = with_argocd_diff(t, e.last)
                raise
        return self

    def app_health(self, want: str, defect: str | None = None) -> Then:
        t = self.t
        with t.step(f"Argo CD shows the app {want}", "Argo CD", defect, decided_by=(C.ARGOCD, C.ROLLOUTS)) as rec:
            rec.detail = t.wait(
                lambda: predicates.app_health(t.app(), want), f"Application {APP} health {want}", "rollout"
            ).detail
        return self

    def rollout_healthy(self) -> Then:
        t = self.t
        with t.step("the Rollout is Healthy", "Blue-Green", decided_by=(C.ROLLOUTS,)) as rec:
            rec.detail = t.wait(
                lambda: predicates.rollout_healthy(t.rollout()), f"Rollout {APP} Healthy", "rollout"
            ).detail
            current = ((t.rollout() or {}).get("status") or {}).get("currentPodHash")
            if current and current not in t.active_hashes:
                t.active_hashes.append(current)
        return self

    def rollout_paused(self, defect: str | None = None) -> Then:
        t = self.t
        with t.step(
            "the new revision pauses for blue-green (BlueGreenPause)", "Blue-Green", defect, decided_by=(C.ROLLOUTS,)
        ) as rec:
            before = ((t.rollout() or {}).get("status") or {}).get("stableRS")
            rec.detail = t.wait(
                lambda: _new_revision_paused(t.rollout(), before), f"Rollout {APP} paused on a new revision", "rollout"
            ).detail
        return self

    def serves(
        self,
        host: str,
        version: str,
        label: str,
        consistently: float = 3.0,
        defect: str | None = None,
        settle: float | None = None,
    ) -> Then:
        t = self.t
        with t.step(
            f"the {label} host serves only {version}",
            "Blue-Green: traffic",
            defect,
            decided_by=(
                C.ROLLOUTS,
                *C.INGRESS_CONTROLLERS,
            ),  # the Services' selectors, and the controller that routes the host
        ) as rec:

            def get() -> httpx.Response:
                r: httpx.Response = t.backend.http(host, "/", scheme="https", timeout=5)
                return r

            what = f"https://{host}/ serves only {version}"
            # every answer is counted, so a failure shows all that the host answered
            seen: Counter[str] = Counter()
            try:
                if settle is None:
                    t.wait(traffic.only(get, version, tally=seen), what, "http")
                else:  # a bounded settling time: a host that keeps mixing versions fails with the counts
                    expect(traffic.only(get, version, tally=seen), what, settle, progress=t.progress)
                seen.clear()  # settled: the verdict counts the consistent window
                expect_consistently(
                    traffic.consistently_only(get, version, tally=seen),
                    f"https://{host}/ serves only {version}",
                    consistently,
                    every=0.2,
                )
            finally:
                rec.evidence["requests per version"] = dict(seen)
            counts = dict(seen)
            rec.detail = f"{sum(counts.values())} requests: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        return self

    def replaced_revision_scaled_down(self, index: int = 0) -> Then:
        """The ReplicaSet of the ``index``-th revision that went active is scaled to 0 once it was replaced,
        after ``scaleDownDelaySeconds`` (default 30: argo-rollouts ``bluegreen.go``)."""
        t = self.t
        with t.step(
            "the replaced revision's ReplicaSet is scaled down after the delay", "Blue-Green", decided_by=(C.ROLLOUTS,)
        ) as rec:
            assert len(t.active_hashes) > index + 1, (
                f"revision {index} was never replaced (active revisions: {t.active_hashes})"
            )
            old = t.active_hashes[index]

            def probe() -> Seen:
                rss = [
                    rs
                    for rs in t.kube.list("apps/v1", "ReplicaSet", APP_NS)
                    if (rs["metadata"].get("labels") or {}).get("rollouts-pod-template-hash") == old
                ]
                return predicates.replicaset_scaled_down(rss[0] if rss else None)

            rec.detail = t.wait(probe, f"ReplicaSet of revision {old} scaled to 0", "rollout").detail
        return self


def _new_revision_paused(ro: Obj | None, stable_before: str | None) -> Seen:
    if ro is not None and stable_before and (ro.get("status") or {}).get("currentPodHash") == stable_before:
        return Seen.pending(f"no new revision: currentPodHash still {stable_before}", status=ro.get("status"))
    return predicates.rollout_paused(ro)


def _ts(line: str) -> float:
    try:
        return float(json.loads(line).get("ts", 0))
    except (ValueError, AttributeError):
        return time.time()


def with_argocd_diff(t: Tutorial, last: Seen | None) -> Seen | None:
    """The last observation of a failed sync wait, with Argo CD's own diff of each resource it counts modified
    (``managed-resources``), so "OutOfSync" says which fields differ. Reading the diff may fail in turn (Argo CD
    down): that is said in the evidence, and the wait's own failure stands. Not after a ``ComparisonError``
    (:func:`argo_tutorial_suite.probes.predicates.app_synced` attaches the conditions): the source did not render, nothing to diff."""
    if last is None:
        return None
    if "conditions" in last.evidence:  # a ComparisonError: there is no desired state to diff against
        return last
    try:
        with t.argocd() as api:
            diffs = argocd_diff.modified_diffs(api.managed_resources(APP))
        extra: dict[str, object] = {"argocd diff": diffs or "no resource differs"}
    except (AssertionError, httpx.HTTPError, OSError) as e:
        extra = {"argocd diff": f"not read: {e}"}
    return Seen(last.state, last.detail, {**last.evidence, **extra})
