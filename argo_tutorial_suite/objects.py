"""The one name for a Kubernetes object as the suite handles it: the JSON body, a ``dict`` (what the official
client's ``DynamicClient`` returns with ``.to_dict()``, what YAML loads to, what the sim's API server stores)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, TypeVar

Obj = dict[str, Any]
_K = TypeVar("_K", bound=Hashable)

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod"})


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a workload (a Pod's own spec, a CronJob's job template's), else None. A Pod's spec is a
    shallow copy: its containers are the object's own, so a caller may edit them in place."""
    kind = obj.get("kind")
    if kind not in WORKLOAD_KINDS:
        return None
    spec: Any = obj.get("spec") or {}
    if kind == "Pod":
        return dict(spec)
    if kind == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    tmpl = spec.get("template", {}).get("spec")
    return dict(tmpl) if isinstance(tmpl, dict) else None


# Built-in cluster-scoped kinds (Kubernetes API reference); CRD kinds get their scope from the CRD.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "IngressClass",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "CSIDriver",
        "CSINode",
        "RuntimeClass",
        "VolumeAttachment",
        "ClusterIssuer",
        "ClusterWorkflowTemplate",
    }
)
# Plural resource names of cluster-scoped resources, as RBAC rules name them.
CLUSTER_SCOPED_RESOURCES = frozenset(
    {
        "namespaces",
        "nodes",
        "persistentvolumes",
        "clusterroles",
        "clusterrolebindings",
        "customresourcedefinitions",
        "storageclasses",
        "ingressclasses",
        "priorityclasses",
        "clusterissuers",
        "clusterworkflowtemplates",
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
    }
)


def kind(o: Obj) -> str:
    return str(o.get("kind", ""))


def name(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def namespace(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("namespace", "") or "")


def ref(o: Obj) -> str:
    """``Kind/namespace/name`` (or ``Kind/name`` when not namespaced)."""
    ns = namespace(o)
    return f"{kind(o)}/{ns}/{name(o)}" if ns else f"{kind(o)}/{name(o)}"


def dig(o: Any, *path: str | int, default: Any = None) -> Any:
    """Follow keys and list indexes; return ``default`` where the path does not exist."""
    cur = o
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or p >= len(cur) or p < -len(cur):
                return default
            cur = cur[p]
        else:
            if not isinstance(cur, dict) or p not in cur:
                return default
            cur = cur[p]
    return cur


class Objects(list[Obj]):
    """A folder's objects, which know their kinds, names and namespaces: rules ask for a few kinds of many
    objects, and for one object by name, many times a check (a lookup must not be a scan, or a folder of
    thousands of objects takes minutes); each index is made on the first question, so the list is not to be
    changed after."""

    _kinds: dict[str, list[int]] | None = None
    _named: dict[tuple[str, str], list[int]] | None = None
    _spaced: dict[tuple[str, str], list[int]] | None = None
    _placed: dict[tuple[str, str, str], list[int]] | None = None

    def positions(self, kinds: tuple[str, ...]) -> list[int]:
        if self._kinds is None:
            self._kinds = self._index(lambda o: kind(o))
        found = [i for k in dict.fromkeys(kinds) for i in self._kinds.get(k, ())]
        return sorted(found) if len(kinds) > 1 else found

    def named(self, k: str, n: str, ns: str | None = None) -> list[Obj]:
        """The objects of kind ``k`` named ``n`` (in namespace ``ns``, unless None), in their order."""
        if ns is None:
            if self._named is None:
                self._named = self._index(lambda o: (kind(o), name(o)))
            return [self[i] for i in self._named.get((k, n), ())]
        if self._placed is None:
            self._placed = self._index(lambda o: (kind(o), name(o), namespace(o)))
        return [self[i] for i in self._placed.get((k, n, ns), ())]

    def in_namespace(self, ns: str, kinds: tuple[str, ...]) -> list[Obj]:
        if self._spaced is None:
            self._spaced = self._index(lambda o: (kind(o), namespace(o)))
        found = [i for k in dict.fromkeys(kinds) for i in self._spaced.get((k, ns), ())]
        return [self[i] for i in (sorted(found) if len(kinds) > 1 else found)]

    def _index(self, key: Callable[[Obj], _K]) -> dict[_K, list[int]]:
        index: dict[_K, list[int]] = {}
        for i, o in enumerate(self):
            index.setdefault(key(o), []).append(i)
        return index


def of_kind_in(objs: Iterable[Obj], ns: str, *kinds: str) -> Iterator[Obj]:
    """The objects of these kinds in namespace ``ns``, in their order."""
    if isinstance(objs, Objects):
        return iter(objs.in_namespace(ns, kinds))
    return (o for o in objs if kind(o) in kinds and namespace(o) == ns)


def of_kind(objs: Iterable[Obj], *kinds: str) -> Iterator[Obj]:
    """The objects of these kinds, in their order."""
    if isinstance(objs, Objects):
        return (objs[i] for i in objs.positions(kinds))
    return (o for o in objs if kind(o) in kinds)


def find(objs: Iterable[Obj], k: str, n: str, ns: str | None = None) -> Obj | None:
    if isinstance(objs, Objects):
        found = objs.named(k, n, ns)
        return found[0] if found else None
    for o in objs:
        if kind(o) == k and name(o) == n and (ns is None or namespace(o) == ns):
            return o
    return None


def selector_matches(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    """A Service-style equality selector matches labels (an empty selector matches nothing)."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def pod_template_containers(o: Obj) -> list[Obj]:
    return list(dig(o, "spec", "template", "spec", "containers", default=[]) or [])
