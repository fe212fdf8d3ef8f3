"""One participant's cluster, read once: the objects the tutorial's steps are judged by, the Sensors' logs,
and every read that failed, each as one line. Nothing here writes; see :mod:`argo_tutorial_suite.live.readonly`.

What is read (about 30 GETs): the namespaces; each component's workloads, webhook configurations, Secrets (names
only) and pods in its namespace (:func:`argo_tutorial_suite.tutorial.stack.component_objects`); cluster-wide, the
tutorial's kinds (Applications, Rollouts, ReplicaSets, Services, Ingresses, Workflows, EventSources, Sensors,
Issuers, Certificates, pods); the last lines of each Sensor pod's log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from argo_tutorial_suite.live.readonly import CLUSTER_SCOPED, ApiProblem, ReadOnlyKube
from argo_tutorial_suite.objects import Obj, name, selector_matches
from argo_tutorial_suite.objects import namespace as namespace_of
from argo_tutorial_suite.tutorial.stack import COMPONENT_NS, WEBHOOKS, WORKLOADS, component_objects

# (api version, kind) read across the cluster, in this order
CLUSTER_WIDE: tuple[tuple[str, str], ...] = (
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "Rollout"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("argoproj.io/v1alpha1", "EventSource"),
    ("argoproj.io/v1alpha1", "Sensor"),
    ("argoproj.io/v1alpha1", "Workflow"),
    ("cert-manager.io/v1", "Issuer"),
    ("cert-manager.io/v1", "ClusterIssuer"),
    ("cert-manager.io/v1", "Certificate"),
    ("v1", "Pod"),
)
FATAL = ("unreachable", "unauthorized", "timeout")
PARALLEL_READS = 6  # GETs in flight on one cluster (its API server answers each in milliseconds)
# what the components' readiness is judged by (tutorial.stack.component_objects): read once, cluster-wide
COMPONENT_KINDS: tuple[tuple[str, str], ...] = (
    *WORKLOADS,
    *WEBHOOKS,
    ("v1", "Secret"),
)
# the two UIs the tutorial port-forwards, reached through the API server's service proxy (scheme:name:port)
UIS: dict[str, tuple[str, str]] = {
    "Argo CD UI": ("argocd", "https:argocd-server:https"),
    "Argo Workflows UI": ("argo", "https:argo-server:web"),
}


@dataclass
class Snapshot:
    """What one read of a cluster saw. ``fatal``: why nothing could be read (then the rest is empty)."""

    participant: str
    server: str
    version: str = ""
    namespaces: set[str] = field(default_factory=set)
    components: dict[str, tuple[list[Obj], list[Obj]]] = field(default_factory=dict)  # component: (objects, pods)
    objects: dict[str, list[Obj]] = field(default_factory=dict)  # kind: objects (cluster-wide)
    unread: dict[str, str] = field(default_factory=dict)  # what could not be read: the one-line reason
    sensor_logs: dict[str, str] = field(default_factory=dict)  # "ns/pod": its last lines
    uis: dict[str, str] = field(default_factory=dict)  # UI title: what its Service answered through the proxy
    fatal: str | None = None
    seconds: float = 0.0
    calls: int = 0

    def of(self, kind: str) -> list[Obj]:
        return self.objects.get(kind, [])

    def problems(self) -> list[str]:
        """Each failed read once, one line each (403s on several kinds share a line per reason)."""
        if self.fatal:
            return [self.fatal]
        by_reason: dict[str, list[str]] = {}
        for what, why in self.unread.items():
            by_reason.setdefault(why, []).append(what)
        return [f"{', '.join(whats)}: {why}" for why, whats in by_reason.items()]


class _Lists:
    """Each kind listed once across the cluster, several at a time, and served per namespace from there (about
    20 reads in all, not one per kind and namespace). Where a cluster-wide list is refused (403: a participant
    whose rights end at some namespaces), that kind is read namespace by namespace instead."""

    def __init__(self, kube: ReadOnlyKube) -> None:
        self.kube = kube
        self.whole: dict[tuple[str, str], list[Obj] | ApiProblem] = {}

    def prefetch(self, kinds: list[tuple[str, str]], parallel: int = PARALLEL_READS) -> None:
        todo = [k for k in dict.fromkeys(kinds) if k not in self.whole]

        def one(key: tuple[str, str]) -> tuple[tuple[str, str], list[Obj] | ApiProblem]:
            try:
                return key, self.kube.list(*key)
            except ApiProblem as e:
                return key, e

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            self.whole.update(pool.map(one, todo))

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[Obj]:
        key = (api_version, kind)
        if key not in self.whole:
            self.prefetch([key], 1)
        got = self.whole[key]
        if isinstance(got, ApiProblem):
            if got.kind != "forbidden" or namespace is None:
                raise got
            items = self.kube.list(api_version, kind, namespace, label_selector, field_selector)
        else:
            items = [o for o in got if namespace is None or kind in CLUSTER_SCOPED or namespace_of(o) == namespace]
        return [o for o in items if _labels_match(o, label_selector)]


def _labels_match(o: Obj, selector: str) -> bool:
    """An equality label selector (``a=b,c=d``, what ``component_objects`` passes) on an object's labels."""
    wanted = dict(t.partition("=")[::2] for t in selector.split(",") if t)
    return not wanted or selector_matches(wanted, (o.get("metadata") or {}).get("labels"))


def read(participant: str, kube: ReadOnlyKube, progress: Callable[[str], None] = lambda _s: None) -> Snapshot:
    """Read one cluster. The first call says whether it answers at all: unreachable, hanging or refusing the
    credentials ends the read with that one line; a 403 or a missing CRD leaves that part unread and goes on."""
    start = time.monotonic()
    snap = Snapshot(participant, kube.target.server)
    try:
        try:
            info: Any = kube.version()
            snap.version = str(info.get("gitVersion", ""))
        except ApiProblem as e:
            if e.kind in FATAL:
                snap.fatal = f"kubeconfig {kube.target.source.split(' context ')[0]}: {e}"
                return snap
            snap.unread["version"] = str(e)
        lists = _Lists(kube)
        progress("the tutorial's objects")
        lists.prefetch([("v1", "Namespace"), *COMPONENT_KINDS, *CLUSTER_WIDE])
        fatal = next((e for e in lists.whole.values() if isinstance(e, ApiProblem) and e.kind in FATAL), None)
        if fatal is not None:
            snap.fatal = f"kubeconfig {kube.target.source.split(' context ')[0]}: {fatal}"
            return snap
        try:
            snap.namespaces = {name(n) for n in lists.list("v1", "Namespace")}
        except ApiProblem as e:
            snap.unread["namespaces"] = str(e)
        for comp, ns in COMPONENT_NS.items():
            if snap.namespaces and ns not in snap.namespaces:
                continue  # not installed: nothing to read there
            try:
                snap.components[comp] = component_objects(lists, comp)
            except ApiProblem as e:
                if e.kind in FATAL:
                    snap.fatal = str(e)
                    return snap
                snap.unread[f"{comp} in {ns}"] = str(e)
        for api_version, kind in CLUSTER_WIDE:
            got = lists.whole[(api_version, kind)]
            if isinstance(got, ApiProblem):
                if got.kind != "not-found":  # a CRD not installed: none of that kind (the step is "not yet")
                    snap.unread[kind + "s"] = str(got)
            else:
                snap.objects[kind] = got
        progress("the UIs and the Sensors' logs")
        reads: list[tuple[str, Callable[[], str]]] = [
            (f"ui:{title}", lambda ns=ns, svc=svc: _ui(kube, ns, svc))  # type: ignore[misc]
            for title, (ns, svc) in UIS.items()
            if ns in snap.namespaces
        ]
        for pod in snap.of("Pod"):
            if "sensor-name" in ((pod.get("metadata") or {}).get("labels") or {}):
                where = f"{namespace_of(pod)}/{name(pod)}"
                reads.append((f"log:{where}", lambda p=pod: kube.logs(namespace_of(p), name(p), tail=300)))  # type: ignore[misc]
        with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
            done = list(pool.map(lambda r: (r[0], _attempt(r[1])), reads))
        for key, (value, problem) in done:
            what, _, rest = key.partition(":")
            if problem is not None and problem.kind in FATAL and problem.kind != "timeout":
                snap.fatal = str(problem)
                return snap
            if what == "ui":
                snap.uis[rest] = value if problem is None else f"failed: {problem}"
            elif problem is None:
                snap.sensor_logs[rest] = value
            else:
                snap.unread[f"log of {rest}"] = str(problem)
        return snap
    finally:
        snap.seconds = time.monotonic() - start
        snap.calls = kube.calls


def _ui(kube: ReadOnlyKube, ns: str, service: str) -> str:
    code = kube.through_proxy(ns, service)
    return f"answered {code}" if code < 400 else f"failed: {code}"


def _attempt(fn: Callable[[], str]) -> tuple[str, ApiProblem | None]:
    try:
        return fn(), None
    except ApiProblem as e:
        return "", e
