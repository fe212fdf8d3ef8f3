"""Pure predicates over resource dicts, answering :class:`~argo_tutorial_suite.verdicts.waits.Seen` (OK, PENDING, FAILED).

Each names the upstream field semantics it relies on; none does I/O. The waits in :mod:`argo_tutorial_suite.flow`
call them on objects read through the backend's Kubernetes client.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.verdicts.waits import Seen

WF_TERMINAL_BAD = ("Failed", "Error")


def _gen_observed(ro: Obj) -> bool:
    """Rollouts' ``isGenerationObserved``: ``status.observedGeneration`` (a string) equals ``metadata.generation``."""
    observed = (ro.get("status") or {}).get("observedGeneration")
    return observed is not None and str(observed) == str(ro.get("metadata", {}).get("generation"))


def rollout_degraded(ro: Obj) -> str | None:
    st = ro.get("status") or {}
    if st.get("phase") == "Degraded":
        return f"Rollout Degraded: {st.get('message', '')}"
    for c in st.get("conditions") or []:
        if c.get("type") == "InvalidSpec" and c.get("status") == "True":
            return f"Rollout InvalidSpec: {c.get('message')}"
    return None


def rollout_paused(ro: Obj | None, new_hash: str | None = None) -> Seen:
    """Blue-green pause decided on ``pauseConditions`` (BlueGreenPause) and ``controllerPause``, not on
    phase alone (v1.4 flips to Degraded during long pauses: argo-rollouts#3843)."""
    if ro is None:
        return Seen.pending("Rollout not created yet")
    bad = rollout_degraded(ro)
    if bad:
        return Seen.failed(bad, status=ro.get("status"))
    st = ro.get("status") or {}
    reasons = [p.get("reason") for p in st.get("pauseConditions") or []]
    if not _gen_observed(ro):
        return Seen.pending("spec update not observed yet")
    if new_hash and st.get("currentPodHash") != new_hash:
        return Seen.pending(f"currentPodHash {st.get('currentPodHash')} (waiting for a new revision)")
    if "BlueGreenPause" in reasons and st.get("controllerPause"):
        return Seen.ok(
            f"paused (BlueGreenPause), active={st.get('blueGreen', {}).get('activeSelector')} preview={st.get('blueGreen', {}).get('previewSelector')}"
        )
    return Seen.pending(f"phase={st.get('phase')} {st.get('message') or ''}".strip())


def rollout_healthy(ro: Obj | None, pod_hash: str | None = None) -> Seen:
    """``kubectl argo rollouts`` ``GetRolloutPhase``: generation observed, not unpausing, phase Healthy,
    and the active selector on the current hash."""
    if ro is None:
        return Seen.pending("Rollout not created yet")
    bad = rollout_degraded(ro)
    if bad:
        return Seen.failed(bad, status=ro.get("status"))
    st = ro.get("status") or {}
    if not _gen_observed(ro):
        return Seen.pending("waiting for rollout spec update to be observed")
    if st.get("controllerPause") and not st.get("pauseConditions"):
        return Seen.pending("waiting for rollout to unpause")
    active = (st.get("blueGreen") or {}).get("activeSelector")
    if st.get("phase") == "Healthy" and active == st.get("currentPodHash") and (pod_hash is None or active == pod_hash):
        return Seen.ok(f"Healthy, active={active}")
    return Seen.pending(
        f"phase={st.get('phase')} {st.get('message') or ''} active={active} current={st.get('currentPodHash')}".strip()
    )


def workflow_done(wf: Obj | None) -> Seen:
    """``status.phase`` Succeeded; Failed/Error are terminal (argo-workflows ``workflow_phase.go``)."""
    if wf is None:
        return Seen.pending("Workflow not created yet")
    st = wf.get("status") or {}
    phase = st.get("phase") or "(not picked up)"
    nodes = ", ".join(
        f"{n.get('displayName')}={n.get('phase')}" for n in (st.get("nodes") or {}).values() if n.get("type") != "DAG"
    )
    detail = f"{wf['metadata']['name']} {phase}" + (f" [{nodes}]" if nodes else "")
    if phase == "Succeeded":
        return Seen.ok(detail)
    if phase in WF_TERMINAL_BAD:
        failed = [
            f"{n.get('displayName')}: {n.get('message')}"
            for n in (st.get("nodes") or {}).values()
            if n.get("phase") in WF_TERMINAL_BAD and n.get("type") != "DAG"
        ]
        messages = {
            str(n.get("displayName")): str(n.get("message") or "")
            for n in (st.get("nodes") or {}).values()
            if n.get("phase") in WF_TERMINAL_BAD and n.get("type") != "DAG"
        }
        return Seen.failed(
            f"{detail}: {'; '.join(failed) or st.get('message', '')}",
            nodes=st.get("nodes"),
            **{"failed nodes": messages or {"workflow": str(st.get("message") or "")}},
        )
    pending = [
        f"{n.get('displayName')}: {n.get('message')}"
        for n in (st.get("nodes") or {}).values()
        if n.get("phase") == "Pending" and n.get("message")
    ]
    return Seen.pending(detail + (f" ({'; '.join(pending)})" if pending else ""))


def failed_container_images(pods: list[Obj]) -> list[str]:
    """The images of the containers (init containers included) that terminated with a non-zero exit code."""
    out: list[str] = []
    for pod in pods:
        st = pod.get("status") or {}
        for cs in [*(st.get("initContainerStatuses") or []), *(st.get("containerStatuses") or [])]:
            term = ((cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated")) or {}
            if term.get("exitCode", 0) != 0 and cs.get("image") and cs["image"] not in out:
                out.append(str(cs["image"]))
    return out


def failed_nodes(wf: Obj) -> list[Obj]:
    return [
        n
        for n in ((wf.get("status") or {}).get("nodes") or {}).values()
        if n.get("phase") in WF_TERMINAL_BAD and n.get("type") != "DAG"
    ]


def app_synced(app: Obj | None, revision: str | None = None) -> Seen:
    """Argo CD: ``operationState.phase`` Succeeded at ``revision`` and ``sync.status`` Synced; a Failed/Error
    operation or a ``ComparisonError`` is terminal."""
    if app is None:
        return Seen.pending("Application not created yet")
    st = app.get("status") or {}
    for c in st.get("conditions") or []:
        if c.get("type") in ("ComparisonError", "InvalidSpecError"):
            return Seen.failed(f"{c['type']}: {c.get('message')}", conditions=st.get("conditions"))
    op = st.get("operationState") or {}
    if op.get("phase") in ("Failed", "Error"):
        return Seen.failed(f"sync {op.get('phase')}: {op.get('message')}", operationState=op)
    sync = st.get("sync") or {}
    rev = (op.get("syncResult") or {}).get("revision")
    detail = f"sync={sync.get('status')} op={op.get('phase')} rev={str(rev or '')[:8]} health={(st.get('health') or {}).get('status')}"
    drifted = out_of_sync_resources(app)
    if drifted:
        detail += f" out of sync: {', '.join(drifted)}"
    if op.get("phase") != "Succeeded" or (revision and rev != revision) or sync.get("status") != "Synced":
        return Seen.pending(detail)
    return Seen.ok(detail)


def compared_with_an_older_head(app: Obj | None, revision: str) -> str | None:
    """The revision Argo CD compared with, when its operation Succeeded at ``revision`` but its comparison
    (``status.sync.revision``) is of another one: after a push, a comparison resolves ``HEAD`` through the
    repo-server's refs cache (``--revision-cache-expiration``, 3 min) and may get the HEAD from before the push,
    while the sync resolved it afresh (argocd-server ``resolveRevision``). A user's REFRESH forces the resolve."""
    st = (app or {}).get("status") or {}
    op = st.get("operationState") or {}
    compared = (st.get("sync") or {}).get("revision")
    if op.get("phase") == "Succeeded" and (op.get("syncResult") or {}).get("revision") == revision:
        if compared and compared != revision:
            return str(compared)
    return None


def out_of_sync_resources(app: Obj) -> list[str]:
    """``Kind namespace/name`` of each entry of ``status.resources`` whose ``status`` is not Synced (Argo CD's
    per-resource comparison, ``ResourceStatus``), so a wait that stays OutOfSync says which object differs."""
    return [
        f"{r.get('kind')} {r.get('namespace') or '-'}/{r.get('name')}"
        for r in (app.get("status") or {}).get("resources") or []
        if r.get("status") not in (None, "Synced")
    ]


def app_health(app: Obj | None, want: str) -> Seen:
    if app is None:
        return Seen.pending("Application not created yet")
    h = ((app.get("status") or {}).get("health") or {}).get("status")
    if h == want:
        return Seen.ok(f"health {h}")
    if h == "Degraded" and want != "Degraded":
        return Seen.failed(f"health Degraded: {(app.get('status') or {}).get('health', {}).get('message', '')}")
    return Seen.pending(f"health {h}")


def service_selector_hash(svc: Obj | None) -> str | None:
    return ((svc or {}).get("spec", {}).get("selector") or {}).get("rollouts-pod-template-hash")


def ready_pods(pods: list[Obj]) -> list[Obj]:
    return [
        p
        for p in pods
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    ]


def replicaset_scaled_down(rs: Obj | None) -> Seen:
    if rs is None:
        return Seen.ok("ReplicaSet gone")
    want = int((rs.get("spec") or {}).get("replicas", 0))
    have = int((rs.get("status") or {}).get("replicas", 0))
    if want == 0 and have == 0:
        return Seen.ok(f"{rs['metadata']['name']} scaled to 0")
    return Seen.pending(f"{rs['metadata']['name']}: spec.replicas={want}, pods={have}")


def eventsource_listening(status: int | None, body: str) -> Seen:
    """``GET /health`` answers 200 ``OK`` only after the bus connected and the routes are active."""
    if status == 200 and body.strip() == "OK":
        return Seen.ok("webhook /health answered OK")
    return Seen.pending(f"webhook /health answered {status}: {body.strip()[:80]}")


TRIGGER_FAILED = "Failed to execute a trigger"  # argo-events sensors/listener.go, logged once per failed trigger


def trigger_failures(log: str) -> list[str]:
    """The Sensor log's lines that report a failed trigger."""
    return [line for line in log.splitlines() if TRIGGER_FAILED in line]


# argo-events ``common/common.go``: the controller hands its pod the whole object, base64 JSON in the env
SPEC_ENV = {"Sensor": "SENSOR_OBJECT", "EventSource": "EVENTSOURCE_OBJECT"}


def _pruned(v: Any) -> Any:
    """Without empty values: Go's ``omitempty`` marshalling drops what the API object may spell out."""
    if isinstance(v, dict):
        out = {k: _pruned(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, "", [], {}, False, 0)}
    if isinstance(v, list):
        return [_pruned(x) for x in v]
    return v


def spec_in_pod(pod: Obj, kind: str) -> Obj | None:
    """The spec a Sensor's or EventSource's pod was started with (its ``main`` container's env)."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        for e in c.get("env") or []:
            if e.get("name") == SPEC_ENV[kind] and e.get("value"):
                try:
                    return dict(json.loads(base64.b64decode(e["value"])).get("spec") or {})
                except (binascii.Error, ValueError, AttributeError):
                    return None
    return None


def pods_on_current_spec(obj: Obj, pods: list[Obj]) -> Seen:
    """Every pod of a Sensor or EventSource runs its current spec. After a change the controller rolls the
    Deployment (``controllers/sensor/resource.go``: the spec is in the pod's env, so a new spec is a new pod
    template) and until the old pod is gone it still subscribes and triggers with the old spec (seen on kind: a
    Workflow from the spec before a change). Pending while any pod runs another spec or none runs."""
    kind, name = obj.get("kind", "Sensor"), obj.get("metadata", {}).get("name")
    if not pods:
        return Seen.pending(f"no {kind} {name} pod yet")
    want = _pruned(obj.get("spec") or {})
    stale = [p["metadata"]["name"] for p in pods if _pruned(spec_in_pod(p, kind)) != want]
    if stale:
        return Seen.pending(f"{kind} {name}: pod {', '.join(stale)} runs an earlier spec (rolling out)")
    return Seen.ok(f"{kind} {name}: {len(pods)} pod(s) on the current spec")


# What a refused Argo CD API call leaves in a curl step's log: the 415 body (D24, argo-cd ``server/server.go``), a
# status line (``curl -i``), or grpc-gateway's JSON error with codes.PermissionDenied (7) / Unauthenticated (16).
# A bare 401/403/415 is not enough: curl's progress meter and JSON bodies carry such numbers (a flaky match).
REFUSED_CALL = re.compile(
    r"Invalid content type|HTTP/\S+ 4\d\d[^\n]*|\"code\":\s*(?:7|16)\b[^\n]*|invalid session[^\n]*|permission denied[^\n]*"
)


def refused_api_calls(log: str) -> list[str]:
    """The refused Argo CD API calls a step's log shows."""
    return [m.group(0) for m in REFUSED_CALL.finditer(log)]
