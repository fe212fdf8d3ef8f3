"""The simulated API server's object store: the Kubernetes API semantics the suite and the twins use.

Followed from the API conventions (``community/contributors/devel/sig-architecture/api-conventions.md``)
and ``k8s.io/apiserver``: a cluster-wide ``resourceVersion`` counter; ``uid``, ``creationTimestamp``
and ``generation`` set on create; ``generateName`` suffixes; 404 ``NotFound`` and 409 ``AlreadyExists`` /
``Conflict`` as ``Status`` objects; the status subresource (writes to the main resource keep the stored
status, writes to ``/status`` change only status; ``generation`` moves only with the spec); merge
(RFC 7386), JSON (RFC 6902), strategic-merge (merge lists of named items by ``name``) and apply
patches; equality- and set-based label selectors; field selectors on ``metadata.name`` and
``metadata.namespace``; watches that replay from a ``resourceVersion`` and answer 410 when it is too
old; a namespace must exist before objects are created in it; deletion cascades to owned objects
(background garbage collection) and to a namespace's contents.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import string
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from argo_tutorial_suite.backends.sim.api_semantics import (
    ApiError,
    field_match,
    json_patch,
    label_match,
    merge_patch,
    strategic_merge_patch,
)
from argo_tutorial_suite.objects import Obj


@dataclass(frozen=True)
class Res:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    status: bool = True  # has a status subresource
    short: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


def not_found(res: Res, name: str) -> ApiError:
    kind = f"{res.plural}.{res.group}" if res.group else res.plural
    return ApiError(404, "NotFound", f'{kind} "{name}" not found')


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the store -------------------------------------------------------------------------------------
@dataclass
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    res: Res
    obj: Obj


Key = tuple[str, str, str, str]  # group, plural, namespace, name


@dataclass
class Store:
    resources: dict[tuple[str, str], Res] = field(default_factory=dict)  # (group, plural) -> Res
    objects: dict[Key, Obj] = field(default_factory=dict)
    events: deque[Event] = field(default_factory=lambda: deque(maxlen=20000))
    rv: int = 100
    cond: threading.Condition = field(default_factory=lambda: threading.Condition(threading.RLock()))
    pod_logs: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)  # (ns, pod, container) -> lines
    hooks: list[Callable[[Event], None]] = field(default_factory=list)
    fault: Callable[[str, Res, str], ApiError | None] | None = None  # injectable API errors (verb, res, name)

    # -- resources ------------------------------------------------------------------------------------
    def register(self, res: Res) -> None:
        with self.cond:
            self.resources[(res.group, res.plural)] = res

    def res_by_kind(self, api_version: str, kind: str) -> Res:
        group = api_version.rpartition("/")[0]
        for r in self.resources.values():
            if r.group == group and r.kind == kind:
                return r
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({kind} {api_version})")

    def res(self, group: str, plural: str) -> Res:
        r = self.resources.get((group, plural))
        if r is None:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({plural}.{group or 'core'})"
            )
        return r

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, res: Res, ns: str | None, name: str) -> Obj:
        self._fault("get", res, name)
        with self.cond:
            o = self.objects.get(self._key(res, ns, name))
            if o is None:
                raise not_found(res, name)
            return copy.deepcopy(o)

    def try_get(self, res: Res, ns: str | None, name: str) -> Obj | None:
        with self.cond:
            o = self.objects.get(self._key(res, ns, name))
            return copy.deepcopy(o) if o is not None else None

    def list(self, res: Res, ns: str | None = None, labels: str = "", fields: str = "") -> tuple[list[Obj], int]:
        self._fault("list", res, "")
        with self.cond:
            out = [
                copy.deepcopy(o)
                for (g, p, n, _), o in sorted(self.objects.items())
                if g == res.group
                and p == res.plural
                and (not ns or n == ns)
                and label_match(o["metadata"].get("labels") or {}, labels)
                and field_match(o, fields)
            ]
            return out, self.rv

    # -- writes ---------------------------------------------------------------------------------------
    def create(self, res: Res, ns: str | None, obj: Obj) -> Obj:
        self._fault("create", res, obj.get("metadata", {}).get("name", ""))
        with self.cond:
            o = copy.deepcopy(obj)
            meta = o.setdefault("metadata", {})
            if res.namespaced:
                ns = ns or meta.get("namespace") or "default"
                if meta.get("namespace") and meta["namespace"] != ns:
                    raise ApiError(
                        400,
                        "BadRequest",
                        "the namespace of the provided object does not match the namespace sent on the request",
                    )
                meta["namespace"] = ns
                if ("", "namespaces", "", ns) not in self.objects:
                    raise ApiError(404, "NotFound", f'namespaces "{ns}" not found')
            else:
                meta.pop("namespace", None)
            if not meta.get("name"):
                if not meta.get("generateName"):
                    raise ApiError(422, "Invalid", f"{res.kind}: metadata.name or metadata.generateName is required")
                meta["name"] = meta["generateName"] + "".join(
                    random.choices(string.ascii_lowercase + string.digits, k=5)
                )
            key = self._key(res, meta.get("namespace"), meta["name"])
            if key in self.objects:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{res.plural}{"." + res.group if res.group else ""} "{meta["name"]}" already exists',
                )
            o["apiVersion"], o["kind"] = res.api_version, res.kind
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            meta["generation"] = 1
            if res.kind == "Namespace":
                o.setdefault("status", {"phase": "Active"})
            self._commit(res, key, o, "ADDED")
            return copy.deepcopy(o)

    def update(self, res: Res, ns: str | None, name: str, obj: Obj, subresource: str = "") -> Obj:
        self._fault("update", res, name)
        with self.cond:
            key = self._key(res, ns, name)
            cur = self.objects.get(key)
            if cur is None:
                raise not_found(res, name)
            want_rv = obj.get("metadata", {}).get("resourceVersion")
            if want_rv and str(want_rv) != cur["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been modified; please apply your changes to the latest version and try again',
                )
            return self._replace(res, key, cur, obj, subresource)

    def patch(self, res: Res, ns: str | None, name: str, body: Any, ptype: str, subresource: str = "") -> Obj:
        self._fault("patch", res, name)
        with self.cond:
            key = self._key(res, ns, name)
            cur = self.objects.get(key)
            if cur is None:
                if ptype == "apply":
                    return self.create(res, ns, body)
                raise not_found(res, name)
            if ptype == "json":
                new = json_patch(cur, body)
            elif ptype == "strategic":
                new = strategic_merge_patch(cur, body)
            else:  # merge, apply (server-side apply modelled as a merge of the applied fields)
                new = merge_patch(cur, body)
            new.setdefault("metadata", {})["resourceVersion"] = cur["metadata"]["resourceVersion"]
            return self._replace(res, key, cur, new, subresource)

    def delete(self, res: Res, ns: str | None, name: str) -> Obj:
        self._fault("delete", res, name)
        with self.cond:
            key = self._key(res, ns, name)
            cur = self.objects.get(key)
            if cur is None:
                raise not_found(res, name)
            self._remove(res, key)
            return copy.deepcopy(cur)

    # -- watch ----------------------------------------------------------------------------------------
    def watch(
        self,
        res: Res,
        ns: str | None,
        labels: str,
        fields: str,
        since: int | None,
        timeout: float,
        stop: threading.Event,
    ) -> Iterator[Event]:

        deadline = time.monotonic() + timeout
        with self.cond:
            if since is None:
                items, cursor = self.list(res, ns, labels, fields)
                initial = [Event(cursor, "ADDED", res, o) for o in items]
            else:
                oldest = self.events[0].rv if self.events else self.rv
                if since < oldest - 1 and since < self.rv:
                    raise ApiError(410, "Expired", f"too old resource version: {since} ({oldest - 1})")
                cursor, initial = since, []
        yield from initial
        while not stop.is_set():
            with self.cond:
                pending = [e for e in self.events if e.rv > cursor]
                if not pending:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self.cond.wait(min(left, 0.5))
                    continue
            for e in pending:
                cursor = e.rv
                if e.res != res:
                    continue
                meta = e.obj["metadata"]
                if ns and meta.get("namespace") != ns:
                    continue
                if not (label_match(meta.get("labels") or {}, labels) and field_match(e.obj, fields)):
                    continue
                yield e

    def wait_change(self, since: int, timeout: float) -> int:
        """Block until the store moves past ``since`` (or timeout); return the current resourceVersion."""
        with self.cond:
            if self.rv <= since:
                self.cond.wait(timeout)
            return self.rv

    # -- logs -----------------------------------------------------------------------------------------
    def log(self, ns: str, pod: str, container: str, line: str) -> None:
        with self.cond:
            self.pod_logs.setdefault((ns, pod, container), []).append(line)

    def logs(self, ns: str, pod: str, container: str | None, tail: int | None) -> str:
        with self.cond:
            if container is None:
                matching = [k for k in self.pod_logs if k[0] == ns and k[1] == pod]
                container = matching[0][2] if matching else ""
            lines = list(self.pod_logs.get((ns, pod, container), []))
        if tail is not None:
            lines = lines[-tail:] if tail else []
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    # -- internals --------------------------------------------------------------------------------------
    def _fault(self, verb: str, res: Res, name: str) -> None:
        if self.fault is not None:
            err = self.fault(verb, res, name)
            if err is not None:
                raise err

    def _key(self, res: Res, ns: str | None, name: str) -> Key:
        return (res.group, res.plural, (ns or "default") if res.namespaced else "", name)

    def _replace(self, res: Res, key: Key, cur: Obj, obj: Obj, subresource: str) -> Obj:
        new = copy.deepcopy(obj)
        meta = new.setdefault("metadata", {})
        for k in ("uid", "creationTimestamp", "name", "namespace"):
            if k in cur["metadata"]:
                meta[k] = cur["metadata"][k]
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(cur)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif res.status:
            if "status" in cur:
                new["status"] = copy.deepcopy(cur["status"])
            else:
                new.pop("status", None)
        meta = new["metadata"]
        meta["generation"] = cur["metadata"].get("generation", 1)
        if subresource != "status" and _spec(new) != _spec(cur):
            meta["generation"] = meta["generation"] + 1
        if _without_rv(new) == _without_rv(cur):
            return copy.deepcopy(cur)  # no-op writes do not bump the resourceVersion
        self._commit(res, key, new, "MODIFIED")
        return copy.deepcopy(new)

    def _commit(self, res: Res, key: Key, obj: Obj, kind: str) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[key] = obj
        ev = Event(self.rv, kind, res, copy.deepcopy(obj))
        self.events.append(ev)
        self.cond.notify_all()
        for h in list(self.hooks):
            h(ev)

    def _remove(self, res: Res, key: Key) -> None:
        cur = self.objects.pop(key, None)
        if cur is None:
            return
        self.rv += 1
        cur = copy.deepcopy(cur)
        cur["metadata"]["resourceVersion"] = str(self.rv)
        ev = Event(self.rv, "DELETED", res, cur)
        self.events.append(ev)
        self.cond.notify_all()
        for h in list(self.hooks):
            h(ev)
        uid = cur["metadata"].get("uid")
        # garbage collection: objects owned by the deleted one, and a namespace's contents
        for k, o in list(self.objects.items()):
            owners = [r.get("uid") for r in o["metadata"].get("ownerReferences") or []]
            if uid in owners or (res.kind == "Namespace" and k[2] == key[3] and k[2]):
                r = self.resources.get((k[0], k[1]))
                if r is not None:
                    self._remove(r, k)


def _spec(o: Obj) -> Any:
    return {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _without_rv(o: Obj) -> Obj:
    c = copy.deepcopy(o)
    c.get("metadata", {}).pop("resourceVersion", None)
    return c
