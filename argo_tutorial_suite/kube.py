"""A thin layer over the official ``kubernetes`` client: objects as dicts, any kind by apiVersion/kind.

Built from a kubeconfig file with ``kubernetes.config.new_client_from_config`` (never the process-global
config: harness-anchors 1.6 #6). ``DynamicClient`` resolves kinds through API discovery, so the same code
reads built-in and custom resources, on kind and on the simulated API server alike.
"""

from __future__ import annotations

import builtins
import json
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, ResourceNotFoundError

from argo_tutorial_suite.objects import Obj

FIELD_MANAGER = "argo-suite"


class KubeError(RuntimeError):
    pass


def kubeconfig_problem(data: bytes) -> str | None:
    """Why ``data`` cannot be a kubeconfig, in one line, or None (pure: the client's own errors on such input are
    tracebacks, e.g. ``'str' object does not support item assignment`` for a plain-text file)."""
    if b"\x00" in data:
        return "is a binary file, not a kubeconfig (YAML)"
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return "is not UTF-8 text: a kubeconfig is YAML"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"is not valid YAML{where}: {getattr(e, 'problem', None) or e}"
    if not isinstance(doc, dict) or not isinstance(doc.get("clusters"), list) or not doc.get("contexts"):
        return "is YAML but not a kubeconfig (it needs clusters, contexts and users; see kubectl config view)"
    return None


def api_client(kubeconfig: Path | str, context: str | None = None) -> k8s_client.ApiClient:
    """An ApiClient for this kubeconfig/context only; a clear error for a missing or broken kubeconfig."""
    path = Path(kubeconfig).expanduser()
    if not path.is_file():
        raise KubeError(
            f"kubeconfig {path} does not exist: pass --kubeconfig PATH (or KUBECONFIG) of the cluster to check"
        )
    problem = kubeconfig_problem(path.read_bytes())
    if problem:
        raise KubeError(f"kubeconfig {path} {problem}")
    try:
        api: k8s_client.ApiClient = k8s_config.new_client_from_config(config_file=str(path), context=context)  # type: ignore[no-untyped-call]
        return api
    except k8s_config.ConfigException as e:
        contexts = ""
        try:
            names = [c["name"] for c in k8s_config.list_kube_config_contexts(config_file=str(path))[0]]  # type: ignore[no-untyped-call]
            contexts = f" (contexts in it: {', '.join(names)})"
        except Exception:
            pass
        raise KubeError(f"kubeconfig {path}{' context ' + context if context else ''}: {e}{contexts}") from e


def server_answers(api: k8s_client.ApiClient, timeout: float = 5) -> str | None:
    """None when something accepts a connection at the API server's address within ``timeout`` seconds, else
    why not, in one line (the client's own retries turn an unreachable server into minutes of tracebacks)."""
    host = str(api.configuration.host)
    url = urlsplit(host)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return None
    except OSError as e:
        return f"server {host} does not answer ({e.strerror or type(e).__name__})"


class Kube:
    """Dict-in, dict-out access to any resource kind."""

    def __init__(self, api: k8s_client.ApiClient):
        self.api = api
        self._dyn: DynamicClient | None = None

    @property
    def dyn(self) -> DynamicClient:
        if self._dyn is None:
            self._dyn = DynamicClient(self.api)  # type: ignore[no-untyped-call]
        return self._dyn

    def resource(self, api_version: str, kind: str) -> Any:
        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError as e:
            raise KubeError(f"the cluster does not serve {kind} ({api_version}): is its CRD installed?") from e

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        try:
            return dict(self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict())
        except NotFoundError:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[Obj]:
        res = self.resource(api_version, kind)
        kw: dict[str, Any] = {}
        if label_selector:
            kw["label_selector"] = label_selector
        if field_selector:
            kw["field_selector"] = field_selector
        out = res.get(namespace=namespace, **kw).to_dict() if res.namespaced else res.get(**kw).to_dict()
        items = [dict(i) for i in out.get("items", [])]
        for i in items:  # list items carry no apiVersion/kind
            i.setdefault("apiVersion", api_version)
            i.setdefault("kind", kind)
        return items

    def create(self, obj: Obj) -> Obj:
        res = self.resource(obj["apiVersion"], obj["kind"])
        ns = obj.get("metadata", {}).get("namespace") if res.namespaced else None
        return dict(res.create(body=obj, namespace=ns).to_dict())

    def apply(self, obj: Obj, namespace: str | None = None) -> Obj:
        """Server-side apply (``application/apply-patch+yaml``), the way ``kubectl apply --server-side`` does."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta["namespace"] = meta.get("namespace") or namespace or "default"
        ns = meta.get("namespace") if res.namespaced else None
        return dict(
            res.server_side_apply(
                body=obj, name=meta["name"], namespace=ns, field_manager=FIELD_MANAGER, force_conflicts=True
            ).to_dict()
        )

    def apply_all(self, objs: Iterable[Obj], namespace: str | None = None) -> builtins.list[Obj]:
        return [self.apply(o, namespace) for o in objs]

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        body: Any,
        namespace: str | None = None,
        patch_type: str = "merge",
        status: bool = False,
    ) -> Obj:
        res = self.resource(api_version, kind)
        if status:
            res = res.subresources["status"]
        ctype = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[patch_type]
        return dict(res.patch(body=body, name=name, namespace=namespace, content_type=ctype).to_dict())

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        try:
            self.resource(api_version, kind).delete(name=name, namespace=namespace)
            return True
        except NotFoundError:
            return False

    def logs(
        self, namespace: str, pod: str, container: str | None = None, tail: int = 200, previous: bool = False
    ) -> str:
        """A container's log; ``previous``: of its last terminated run (what a crash-looping container said)."""
        core = k8s_client.CoreV1Api(self.api)
        kw: dict[str, Any] = {"tail_lines": tail, "previous": previous}
        if container:
            kw["container"] = container
        return str(core.read_namespaced_pod_log(pod, namespace, **kw))

    def watch(self, api_version: str, kind: str, namespace: str | None, name: str, timeout: int) -> Iterator[Obj]:
        """Events for one object (field-selected watch, as Argo Rollouts' e2e ``RetryWatcher``)."""
        res = self.resource(api_version, kind)
        for ev in res.watch(namespace=namespace, field_selector=f"metadata.name={name}", timeout=timeout):
            yield dict(ev["raw_object"])

    def watch_kind(self, api_version: str, kind: str, namespace: str | None, timeout: int) -> Iterator[str]:
        """The event types of every object of ``kind`` in ``namespace`` (ADDED, MODIFIED, DELETED), for ``timeout``
        seconds at most (the server ends the watch)."""
        res = self.resource(api_version, kind)
        for ev in res.watch(namespace=namespace, timeout=timeout):
            yield str(ev.get("type", ""))


def is_conflict(e: BaseException) -> bool:
    return isinstance(e, ConflictError)


def dumps(obj: Obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
