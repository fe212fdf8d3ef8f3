"""What the twin controllers share: the store, the real local servers, pod endpoints, settings, faults.

The twins act on the store directly (in process), with the same semantics the API server gives the
suite's own client; each one is level-triggered and idempotent, like a controller's reconcile loop.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argo_tutorial_suite.backends.sim.api_semantics import ApiError
from argo_tutorial_suite.backends.sim.procs import Procs
from argo_tutorial_suite.backends.sim.servers import GitServer, Registry
from argo_tutorial_suite.backends.sim.store import Res, Store, now
from argo_tutorial_suite.objects import Obj


@dataclass
class Faults:
    """Injectable failures (issue: reliability tests). Names are workload or template names."""

    never_ready: set[str] = field(
        default_factory=set
    )  # Deployment/StatefulSet/Rollout names whose pods never get Ready
    fail_templates: dict[str, str] = field(default_factory=dict)  # workflow template name -> error message
    webhook_late: float = 0.0  # seconds after the EventSource pod is Ready before its HTTP port listens
    sync_delay: float = 0.0  # seconds an Argo CD sync operation stays Running before it applies
    api_error: Callable[[str, Res, str], ApiError | None] | None = None


@dataclass
class Settings:
    pod_ready_delay: float = 0.3  # kubelet + readiness: seconds from creation to Ready for twin pods
    resync: float = 2.0  # Argo CD reconciliation period (upstream default 180 s / 120 s + jitter)
    # repo-server's cache of a repository's refs (``--revision-cache-expiration``, upstream default 3 min, as
    # ``ARGOCD_RECONCILIATION_TIMEOUT``): kept at upstream's, as it decides how long Argo CD compares with an old HEAD
    revision_cache: float = 180.0
    scale_down_delay: float | None = None  # override of Rollout scaleDownDelaySeconds (upstream default 30)
    argocd_version: str = "v3.5.1"
    events_version: str = "v1.9.11"
    workflows_version: str = "v4.1.2"
    rollouts_version: str = "v1.9.1"


@dataclass
class Endpoint:
    """Where a pod's container port is served on this machine."""

    kind: str  # "tcp" or "unix"
    address: str  # "127.0.0.1:PORT" or a socket path


@dataclass
class World:
    store: Store
    procs: Procs
    git: GitServer
    registry: Registry
    settings: Settings
    faults: Faults
    substitutions: dict[str, str] = field(default_factory=dict)
    endpoints: dict[tuple[str, str], dict[int, Endpoint]] = field(default_factory=dict)  # (ns, pod) -> port -> endpoint
    lock: threading.RLock = field(default_factory=threading.RLock)
    started: float = field(default_factory=time.monotonic)

    # -- store shortcuts --------------------------------------------------------------------------------
    def r(self, api_version: str, kind: str) -> Res:
        return self.store.res_by_kind(api_version, kind)

    def list(self, api_version: str, kind: str, ns: str | None = None, labels: str = "") -> list[Obj]:
        try:
            return self.store.list(self.r(api_version, kind), ns, labels)[0]
        except ApiError:
            return []

    def get(self, api_version: str, kind: str, name: str, ns: str | None = None) -> Obj | None:
        """Same argument order as :meth:`argo_tutorial_suite.kube.Kube.get`."""
        try:
            return self.store.try_get(self.r(api_version, kind), ns, name)
        except ApiError:
            return None

    def create(self, obj: Obj) -> Obj:
        return self.store.create(self.r(obj["apiVersion"], obj["kind"]), obj["metadata"].get("namespace"), obj)

    def patch_status(self, obj: Obj, status: Obj) -> Obj | None:
        """Merge ``status`` into the object's status; None when it vanished meanwhile."""
        try:
            return self.store.patch(
                self.r(obj["apiVersion"], obj["kind"]),
                obj["metadata"].get("namespace"),
                obj["metadata"]["name"],
                {"status": status},
                "merge",
                "status",
            )
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def patch(self, obj: Obj, body: Obj) -> Obj | None:
        try:
            return self.store.patch(
                self.r(obj["apiVersion"], obj["kind"]),
                obj["metadata"].get("namespace"),
                obj["metadata"]["name"],
                body,
                "merge",
            )
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def delete(self, obj: Obj) -> None:
        try:
            self.store.delete(
                self.r(obj["apiVersion"], obj["kind"]), obj["metadata"].get("namespace"), obj["metadata"]["name"]
            )
        except ApiError:
            pass

    def event(self, obj: Obj, reason: str, message: str, type_: str = "Normal", source: str = "") -> None:
        """A core/v1 Event about ``obj`` (what ``kubectl describe`` and the diagnostics show)."""
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        try:
            self.store.create(
                self.r("v1", "Event"),
                ns,
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"generateName": f"{meta['name']}.", "namespace": ns},
                    "involvedObject": {
                        "apiVersion": obj.get("apiVersion"),
                        "kind": obj.get("kind"),
                        "name": meta["name"],
                        "namespace": ns,
                        "uid": meta.get("uid"),
                    },
                    "reason": reason,
                    "message": message,
                    "type": type_,
                    "source": {"component": source},
                    "firstTimestamp": now(),
                    "lastTimestamp": now(),
                    "count": 1,
                },
            )
        except ApiError:
            pass

    def owner_ref(self, owner: Obj, controller: bool = True) -> Obj:
        return {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": controller,
            "blockOwnerDeletion": True,
        }

    def owned_by(self, obj: Obj, owner: Obj) -> bool:
        return any(r.get("uid") == owner["metadata"]["uid"] for r in obj["metadata"].get("ownerReferences") or [])

    def elapsed(self, obj: Obj) -> float:
        """Seconds since the object was created (by its annotation of monotonic creation, if any)."""
        ann = obj["metadata"].get("annotations") or {}
        t = ann.get("sim.argo-suite.test/created-at")
        return time.monotonic() - float(t) if t else 1e9


def template_hash(template: Obj) -> str:
    """A stable pod-template hash (upstream: fnv32a of the template, safe-encoded; here sha256, 10 chars
    of the same alphabet ``rand.SafeEncodeString`` uses: ``bcdfghjklmnpqrstvwxz2456789``)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(repr(_canonical(template)).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def _canonical(o: Any) -> Any:
    if isinstance(o, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in o.items()))
    if isinstance(o, list):
        return tuple(_canonical(v) for v in o)
    return o


def deep(o: Obj) -> Obj:
    return copy.deepcopy(o)
