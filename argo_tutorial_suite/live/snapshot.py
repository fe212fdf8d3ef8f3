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
from dataclasses import dataclass, field
from typing import Any

from argo_tutorial_suite.live.readonly import ApiProblem, ReadOnlyKube
from argo_tutorial_suite.objects import Obj, name, namespace
from argo_tutorial_suite.tutorial.stack import COMPONENT_NS, component_objects

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


class _Cached:
    """The component reads list the webhook configurations once per component: read them once."""

    def __init__(self, kube: ReadOnlyKube) -> None:
        self.kube = kube
        self.seen: dict[tuple[str, str, str | None, str, str], list[Obj]] = {}

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[Obj]:
        key = (api_version, kind, namespace, label_selector, field_selector)
        if key not in self.seen:
            self.seen[key] = self.kube.list(api_version, kind, namespace, label_selector, field_selector)
        return self.seen[key]


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
                snap.fatal = str(e)
                return snap
            snap.unread["version"] = str(e)
        cached = _Cached(kube)
        try:
            snap.namespaces = {name(n) for n in kube.list("v1", "Namespace")}
        except ApiProblem as e:
            if e.kind in FATAL:
                snap.fatal = str(e)
                return snap
            snap.unread["namespaces"] = str(e)
        progress("components")
        for comp, ns in COMPONENT_NS.items():
            if snap.namespaces and ns not in snap.namespaces:
                continue  # not installed: nothing to read there
            try:
                snap.components[comp] = component_objects(cached, comp)
            except ApiProblem as e:
                if e.kind in FATAL:
                    snap.fatal = str(e)
                    return snap
                snap.unread[f"{comp} in {ns}"] = str(e)
        progress("the tutorial's objects")
        for api_version, kind in CLUSTER_WIDE:
            try:
                snap.objects[kind] = kube.list(api_version, kind)
            except ApiProblem as e:
                if e.kind in FATAL:
                    snap.fatal = str(e)
                    return snap
                if e.kind != "not-found":  # a CRD not installed: none of that kind (the step is "not yet")
                    snap.unread[kind + "s"] = str(e)
        progress("the UIs")
        for title, (ns, service) in UIS.items():
            if ns in snap.namespaces:
                try:
                    code = kube.through_proxy(ns, service)
                    snap.uis[title] = f"answered {code}" if code < 400 else f"failed: {code}"
                except ApiProblem as e:
                    if e.kind in FATAL and e.kind != "timeout":
                        snap.fatal = str(e)
                        return snap
                    snap.uis[title] = f"failed: {e}"
        progress("Sensor logs")
        for pod in snap.of("Pod"):
            if "sensor-name" in ((pod.get("metadata") or {}).get("labels") or {}):
                where = f"{namespace(pod)}/{name(pod)}"
                try:
                    snap.sensor_logs[where] = kube.logs(namespace(pod), name(pod), tail=300)
                except ApiProblem as e:
                    if e.kind in FATAL:
                        snap.fatal = str(e)
                        return snap
                    snap.unread[f"log of {where}"] = str(e)
        return snap
    finally:
        snap.seconds = time.monotonic() - start
        snap.calls = kube.calls
