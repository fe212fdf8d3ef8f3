"""Readiness of the stack's components: pure predicates over resource dicts, answering a :class:`Seen`.

Rules follow what ``kubectl rollout status`` checks (``k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go``):
a Deployment is ready when ``observedGeneration >= generation`` and updated/available replicas reach the
spec; a StatefulSet when ``readyReplicas`` and ``updatedReplicas`` reach it. A pod in CrashLoopBackOff,
ImagePullBackOff or ErrImagePull more than a few restarts in is a terminal failure (the wait stops at once).
Component checks add what "ready" means beyond the Deployments:

* cert-manager: the webhook serves only once cainjector has written the CA into the
  ``ValidatingWebhookConfiguration cert-manager-webhook`` (cert-manager docs, "Webhook: troubleshooting").
* ingress-nginx: the admission webhook serves once the create Job has written the Secret
  ``ingress-nginx-admission`` and the patch Job the ``caBundle``; before that, Ingress creation is refused.
  Readiness is judged by those two results, not by the Jobs: the kind ``deploy.yaml`` of controller-v1.15.1
  sets ``ttlSecondsAfterFinished: 0`` on them, so the Jobs are gone once done. The controller must also run
  on the ``ingress-ready`` node, the only one whose ports 80/443 are mapped (:func:`on_ingress_ready_node`).
* Argo Events: the EventBus status condition ``Deployed`` and its StatefulSet ready
  (``eventbus-default-stan`` or ``eventbus-default-js``).
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterable

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.verdicts.waits import Seen

TERMINAL_WAITING = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError"}
)
RESTARTS_BEFORE_TERMINAL = 3
# The kubelet retries an image pull with a back-off (up to 5 min between tries); a 429 or 5xx from a registry,
# or a tag pushed a moment later, heals by itself. So a pull error ends a wait only once the pod is older
# than this (kubelet ``pkg/kubelet/images``: ErrImagePull then ImagePullBackOff, retried).
IMAGE_PULL_GRACE = 90.0
IMAGE_PULL = frozenset({"ImagePullBackOff", "ErrImagePull"})


def pod_age(p: Obj, now: float) -> float:
    """Seconds since the pod's creationTimestamp (infinite when it has none)."""
    ts = p.get("metadata", {}).get("creationTimestamp")
    if not ts:
        return float("inf")
    created = datetime.datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()
    return max(0.0, now - created)


def _name(o: Obj) -> str:
    m = o.get("metadata", {})
    return f"{o.get('kind', '?')}/{m.get('namespace', '')}/{m.get('name', '?')}".replace("//", "/")


def deployment(d: Obj) -> Seen:
    spec, st = d.get("spec", {}), d.get("status", {})
    want = int(spec.get("replicas", 1))
    if st.get("observedGeneration", 0) < d.get("metadata", {}).get("generation", 0):
        return Seen.pending(f"{_name(d)}: spec change not observed yet")
    for c in st.get("conditions", []):
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            return Seen.failed(f"{_name(d)}: {c.get('message', 'progress deadline exceeded')}")
    updated, available = int(st.get("updatedReplicas", 0)), int(st.get("availableReplicas", 0))
    if updated < want or available < want or int(st.get("replicas", 0)) > updated:
        return Seen.pending(f"{_name(d)}: {available}/{want} available, {updated} updated")
    return Seen.ok(f"{_name(d)}: {available}/{want} available")


def statefulset(s: Obj) -> Seen:
    want = int(s.get("spec", {}).get("replicas", 1))
    st = s.get("status", {})
    if st.get("observedGeneration", 0) < s.get("metadata", {}).get("generation", 0):
        return Seen.pending(f"{_name(s)}: spec change not observed yet")
    ready, updated = int(st.get("readyReplicas", 0)), int(st.get("updatedReplicas", st.get("currentReplicas", 0)))
    if ready < want or updated < want:
        return Seen.pending(f"{_name(s)}: {ready}/{want} ready, {updated} updated")
    return Seen.ok(f"{_name(s)}: {ready}/{want} ready")


def daemonset(d: Obj) -> Seen:
    st = d.get("status", {})
    want, ready = int(st.get("desiredNumberScheduled", 0)), int(st.get("numberReady", 0))
    if want == 0 or ready < want:
        return Seen.pending(f"{_name(d)}: {ready}/{want} ready")
    return Seen.ok(f"{_name(d)}: {ready}/{want} ready")


def job(j: Obj) -> Seen:
    st = j.get("status", {})
    for c in st.get("conditions", []):
        if c.get("type") == "Complete" and c.get("status") == "True":
            return Seen.ok(f"{_name(j)}: complete")
        if c.get("type") == "Failed" and c.get("status") == "True":
            return Seen.failed(f"{_name(j)}: failed: {c.get('message') or c.get('reason')}")
    return Seen.pending(f"{_name(j)}: {st.get('active', 0)} active, {st.get('failed', 0)} failed")


def pod_problem(p: Obj, now: float | None = None) -> str | None:
    """A terminal reason for a pod, if any: a waiting reason that will not heal by itself (an image pull
    error only after :data:`IMAGE_PULL_GRACE`)."""
    now = time.time() if now is None else now
    for cs in [
        *(p.get("status", {}).get("initContainerStatuses") or []),
        *(p.get("status", {}).get("containerStatuses") or []),
    ]:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in IMAGE_PULL and pod_age(p, now) < IMAGE_PULL_GRACE:
            continue
        if reason in TERMINAL_WAITING and (
            reason != "CrashLoopBackOff" or cs.get("restartCount", 0) >= RESTARTS_BEFORE_TERMINAL
        ):
            return f"pod {p['metadata']['name']} container {cs.get('name')}: {reason}: {waiting.get('message', '')}".strip()
    return None


def pod_ready(p: Obj) -> bool:
    if p.get("metadata", {}).get("deletionTimestamp"):
        return False
    if p.get("status", {}).get("phase") != "Running":
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in p.get("status", {}).get("conditions", [])
    )


def _pod_gate(p: Obj | None, what: str) -> tuple[Seen | None, str]:
    """(an early verdict, the phase): pending while absent, FAILED at once on a terminal waiting reason."""
    if p is None:
        return Seen.pending(f"{what}: pod not created yet"), ""
    problem = pod_problem(p)
    if problem:
        return Seen.failed(f"{what}: {problem}", pod=p), ""
    return None, str(p.get("status", {}).get("phase", "Pending"))


def pod_running(p: Obj | None, what: str) -> Seen:
    """A pod Running and Ready; FAILED at once when it ended or is terminally stuck (:func:`pod_problem`)."""
    early, phase = _pod_gate(p, what)
    if early is not None or p is None:
        return early or Seen.pending(what)
    if phase in ("Succeeded", "Failed"):
        return Seen.failed(f"{what}: pod ended ({phase}) instead of serving", pod=p)
    if not pod_ready(p):
        return Seen.pending(f"{what}: pod {phase}, not Ready")
    return Seen.ok(f"{what}: pod Running and Ready on {p.get('spec', {}).get('nodeName', '?')}")


def pod_completed(p: Obj | None, what: str) -> Seen:
    """A run-to-completion pod Succeeded; FAILED at once on phase Failed or a terminal waiting reason."""
    early, phase = _pod_gate(p, what)
    if early is not None or p is None:
        return early or Seen.pending(what)
    if phase == "Failed":
        return Seen.failed(f"{what}: pod Failed", pod=p)
    if phase != "Succeeded":
        return Seen.pending(f"{what}: pod {phase}")
    return Seen.ok(f"{what}: pod Succeeded")


def workload(o: Obj) -> Seen:
    kind = o.get("kind")
    if kind == "Deployment":
        return deployment(o)
    if kind == "StatefulSet":
        return statefulset(o)
    if kind == "DaemonSet":
        return daemonset(o)
    if kind == "Job":
        return job(o)
    return Seen.ok(f"{_name(o)}: no readiness rule for {kind}")


def all_of(what: str, seens: Iterable[Seen], pods: Iterable[Obj] = ()) -> Seen:
    """Combine: FAILED if any failed or a pod is terminally broken, PENDING if any pending, else OK."""
    items = list(seens)
    problems = [p for p in (pod_problem(p) for p in pods) if p]
    failed = [s for s in items if s.state.value == "failed"]
    if failed or problems:
        return Seen.failed(f"{what}: " + "; ".join([*(s.detail for s in failed), *problems]))
    pending = [s for s in items if s.state.value == "pending"]
    if pending:
        return Seen.pending(f"{what}: " + "; ".join(s.detail for s in pending))
    if not items:
        return Seen.pending(f"{what}: nothing found yet")
    return Seen.ok(f"{what}: {len(items)} ready")


def webhook_ca_injected(cfg: Obj) -> Seen:
    """A (Validating|Mutating)WebhookConfiguration whose every webhook has a ``caBundle``."""
    hooks = cfg.get("webhooks") or []
    missing = [h.get("name", "?") for h in hooks if not (h.get("clientConfig") or {}).get("caBundle")]
    if not hooks:
        return Seen.pending(f"{_name(cfg)}: no webhooks")
    if missing:
        return Seen.pending(f"{_name(cfg)}: caBundle not injected yet for {', '.join(missing)}")
    return Seen.ok(f"{_name(cfg)}: caBundle injected")


def eventbus(bus: Obj) -> Seen:
    """Argo Events EventBus: ``status.conditions`` Deployed=True (and not a failed reconcile)."""
    conds = {c.get("type"): c for c in bus.get("status", {}).get("conditions", [])}
    dep = conds.get("Deployed")
    if dep and dep.get("status") == "True":
        return Seen.ok(f"{_name(bus)}: deployed")
    if dep and dep.get("status") == "False" and dep.get("reason") in ("InvalidSpec", "Failed"):
        return Seen.failed(f"{_name(bus)}: {dep.get('reason')}: {dep.get('message', '')}")
    return Seen.pending(f"{_name(bus)}: not deployed yet ({(dep or {}).get('message', 'no condition')})")


# What each component's readiness consists of: (kind, namespace, name or "*" for all of that kind).
COMPONENT_CHECKS: dict[str, list[tuple[str, str, str]]] = {
    "argo-cd": [("Deployment", "argocd", "*"), ("StatefulSet", "argocd", "*")],
    "argo-rollouts": [("Deployment", "argo-rollouts", "*")],
    "argo-workflows": [("Deployment", "argo", "*")],
    "argo-events": [("Deployment", "argo-events", "*")],
    "ingress-nginx": [
        ("Secret", "ingress-nginx", "ingress-nginx-admission"),
        ("Deployment", "ingress-nginx", "ingress-nginx-controller"),
        ("ValidatingWebhookConfiguration", "", "ingress-nginx-admission"),
    ],
    "traefik": [("Deployment", "traefik", "traefik")],
    "cert-manager": [
        ("Deployment", "cert-manager", "*"),
        ("ValidatingWebhookConfiguration", "", "cert-manager-webhook"),
        ("MutatingWebhookConfiguration", "", "cert-manager-webhook"),
    ],
}


def component(name: str, objects: list[Obj], pods: Iterable[Obj] = ()) -> Seen:
    """Readiness of one component from the objects listed for its ``COMPONENT_CHECKS``."""
    seens: list[Seen] = []
    for kind, ns, oname in COMPONENT_CHECKS[name]:
        matching = [
            o
            for o in objects
            if o.get("kind") == kind
            and (not ns or o.get("metadata", {}).get("namespace") == ns)
            and (oname == "*" or o.get("metadata", {}).get("name") == oname)
        ]
        if not matching:
            seens.append(Seen.pending(f"{kind} {ns + '/' if ns else ''}{oname}: not found"))
        for o in matching:
            if kind.endswith("WebhookConfiguration"):
                seens.append(webhook_ca_injected(o))
            elif kind == "Secret":
                seens.append(Seen.ok(f"Secret {ns}/{oname} exists"))
            else:
                seens.append(workload(o))
    return all_of(name, seens, pods)


def on_ingress_ready_node(
    pods: Iterable[Obj], nodes: Iterable[Obj], label: str = "ingress-ready", name_part: str = "controller"
) -> Seen:
    """The ingress controller's pods run on a node labelled ``label=true`` (kind maps 80/443 only there; the
    kind provider stopped selecting it by itself in controller-v1.15.1)."""
    labelled = {n["metadata"]["name"] for n in nodes if n.get("metadata", {}).get("labels", {}).get(label) == "true"}
    ctrl = [p for p in pods if name_part in p.get("metadata", {}).get("name", "") and p.get("spec", {}).get("nodeName")]
    if not ctrl:
        return Seen.pending("ingress-nginx controller pod not scheduled yet")
    wrong = [
        f"{p['metadata']['name']} on {p['spec']['nodeName']}" for p in ctrl if p["spec"]["nodeName"] not in labelled
    ]
    if wrong:
        return Seen.failed(
            f"ingress-nginx controller not on the {label}=true node ({', '.join(sorted(labelled)) or 'none'}): "
            f"{', '.join(wrong)}; only that node maps ports 80/443 to the host"
        )
    return Seen.ok(f"ingress-nginx controller on {', '.join(p['spec']['nodeName'] for p in ctrl)}")


# -- a pod the scheduler will never place, on a cluster whose nodes do not change (kind) ---------------------------
# kube-scheduler's FailedScheduling message (pkg/scheduler/schedule_one.go, FitError.Error):
#   "0/N nodes are available: <count> <reason>, <count> <reason>. preemption: 0/N nodes are available: ..."
# Reasons that only a change to the cluster's nodes or to the pods already placed can resolve: inter-pod
# (anti-)affinity (plugins/interpodaffinity/filtering.go: ErrReasonAntiAffinityRulesNotMatch,
# ErrReasonExistingAntiAffinityRulesNotMatch, ErrReasonAffinityRulesNotMatch), node affinity and selector
# (plugins/nodeaffinity: ErrReasonPod), a node's taint (plugins/tainttoleration: "had untolerated taint" or "had
# taint ... that the pod didn't tolerate", but not node.kubernetes.io/* lifecycle taints, which go away on their
# own). With preemption of no help (the scheduler says so: "No preemption victims found for incoming pod",
# "Preemption is not helpful for scheduling", plugins/defaultpreemption), and no pod being deleted in its namespace
# (a terminating pod frees its place), nothing on a kind cluster will change the answer.
# From Kubernetes 1.30 a note of the dynamicresources plugin stands between the reasons and the preemption part:
#   "<reasons>. no new claims to deallocate, preemption: 0/N nodes are available: <count> <why>, ..."
_FIT = re.compile(r"^0/(\d+) nodes are available: (.*?)\.(?: (.*))?$", re.S)
_STUCK_FOR_GOOD = (
    "didn't match pod anti-affinity rules",
    "didn't satisfy existing pods anti-affinity rules",
    "didn't match pod affinity rules",
    "didn't match Pod's node affinity/selector",
    "didn't match pod affinity/anti-affinity",
)
_NO_PREEMPTION = ("No preemption victims found for incoming pod", "Preemption is not helpful for scheduling")


def _reason_for_good(reason: str) -> bool:
    if any(r in reason for r in _STUCK_FOR_GOOD):
        return True
    taint = "untolerated taint" in reason or ("had taint" in reason and "didn't tolerate" in reason)
    # only a named taint that is not a node lifecycle one ("taint(s)" without a name may be node.kubernetes.io/*)
    return taint and "{" in reason and "node.kubernetes.io/" not in reason


def _preemption_of_no_help(rest: str) -> bool:
    """Whether the message's preemption part says, for every node, that preemption will not help."""
    if "preemption:" not in rest:
        return False
    part = rest.split("preemption:", 1)[1].strip().rstrip(".")
    part = re.sub(r"^0/\d+ nodes are available:\s*", "", part)
    items = [x.strip() for x in part.split(", ") if x.strip()]
    return bool(items) and all(any(n in x for n in _NO_PREEMPTION) for x in items)


def never_scheduled(pods: Iterable[Obj], nodes: int, owners: Iterable[str] = ()) -> str | None:
    """The first pod the scheduler will never place (``namespace/name: the scheduler's message``), else None;
    ``nodes``: the cluster's node count now (the message must have been about every one of them); ``owners``: only
    pods owned by these kinds count (``ReplicaSet`` for a Deployment's), where given."""
    pods = list(pods)
    kinds = set(owners)
    terminating = {
        (p.get("metadata") or {}).get("namespace") for p in pods if (p.get("metadata") or {}).get("deletionTimestamp")
    }
    for p in pods:
        meta, status = p.get("metadata") or {}, p.get("status") or {}
        if status.get("phase") != "Pending" or meta.get("namespace") in terminating:
            continue
        if kinds and not any(o.get("kind") in kinds for o in meta.get("ownerReferences") or []):
            continue
        for c in status.get("conditions") or []:
            if c.get("type") != "PodScheduled" or c.get("status") != "False" or c.get("reason") != "Unschedulable":
                continue
            msg = str(c.get("message") or "").strip()
            m = _FIT.match(msg)
            if m is None or int(m.group(1)) != nodes:
                continue
            parts = [x.strip() for x in m.group(2).split(", ") if x.strip()]
            if parts and all(_reason_for_good(x) for x in parts) and _preemption_of_no_help(m.group(3) or ""):
                return f"{meta.get('namespace')}/{meta.get('name')} is never scheduled: {msg}"
    return None
