"""The Kubernetes REST API of the simulated backend, on a loopback port, for the official client.

Paths and shapes as kube-apiserver serves them: discovery (``/api``, ``/apis``, ``/api/v1``,
``/apis/<group>/<version>`` with kinds, verbs and subresources), ``/version``, collection and item
URLs for cluster-scoped and namespaced resources, ``/status`` and ``pods/<name>/log``, watches as a
chunked stream of ``{"type", "object"}`` lines, errors as ``Status`` objects. The
``kubernetes`` package's ``DynamicClient`` and typed APIs talk to it unchanged.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from argo_tutorial_suite.backends.sim.api_semantics import ApiError
from argo_tutorial_suite.backends.sim.resources import BUILTIN, from_crd
from argo_tutorial_suite.backends.sim.store import Event, Res, Store

VERSION = {"major": "1", "minor": "34", "gitVersion": "v1.34.0-sim", "platform": "linux/amd64"}
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


def make_store() -> Store:
    store = Store()
    for r in BUILTIN:
        store.register(r)

    def crd_hook(ev: Event) -> None:
        if ev.res.kind == "CustomResourceDefinition" and ev.type != "DELETED":
            for r in from_crd(ev.obj):
                store.register(r)

    store.hooks.append(crd_hook)
    return store


def discovery_resources(store: Store, group: str, version: str) -> list[dict[str, Any]]:
    out = []
    for r in store.resources.values():
        if r.group != group or r.version != version:
            continue
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        out.append(
            {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": verbs,
                "shortNames": list(r.short),
            }
        )
        if r.status:
            out.append(
                {
                    "name": f"{r.plural}/status",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if r.kind == "Pod":
            out.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
    return out


class Handler(BaseHTTPRequestHandler):
    server: ApiHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    # -- plumbing ---------------------------------------------------------------------------------
    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = (
            body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            return yaml.safe_load(raw)
        return json.loads(raw)

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        store = self.server.store
        try:
            if self.server.fail_all is not None:
                raise self.server.fail_all
            if parts == ["version"]:
                return self._send(200, VERSION)
            if parts == ["api"]:
                return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            if parts == ["apis"]:
                groups: dict[str, list[str]] = {}
                for r in store.resources.values():
                    if r.group:
                        groups.setdefault(r.group, [])
                        if r.version not in groups[r.group]:
                            groups[r.group].append(r.version)
                return self._send(
                    200,
                    {
                        "kind": "APIGroupList",
                        "apiVersion": "v1",
                        "groups": [
                            {
                                "name": g,
                                "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                                "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                            }
                            for g, vs in sorted(groups.items())
                        ],
                    },
                )
            if parts[:1] == ["api"]:
                group, version, rest = "", parts[1] if len(parts) > 1 else "", parts[2:]
            elif parts[:1] == ["apis"] and len(parts) >= 3:
                group, version, rest = parts[1], parts[2], parts[3:]
            else:
                raise ApiError(404, "NotFound", f"the server could not find the requested resource ({url.path})")
            if not rest:
                return self._send(
                    200,
                    {
                        "kind": "APIResourceList",
                        "apiVersion": "v1",
                        "groupVersion": f"{group}/{version}" if group else version,
                        "resources": discovery_resources(store, group, version),
                    },
                )
            ns: str | None = None
            if rest[0] == "namespaces" and len(rest) >= 3:
                ns, rest = rest[1], rest[2:]
            res = store.res(group, rest[0])
            name = rest[1] if len(rest) > 1 else None
            sub = rest[2] if len(rest) > 2 else ""
            self._dispatch(method, res, ns, name, sub, q)
        except ApiError as e:
            self._send(e.code, e.status())
        except (ValueError, yaml.YAMLError) as e:
            self._send(400, ApiError(400, "BadRequest", f"malformed request body: {e}").status())

    def _dispatch(self, method: str, res: Res, ns: str | None, name: str | None, sub: str, q: dict[str, str]) -> None:
        store = self.server.store
        if name is None:
            if method == "GET" and q.get("watch") in ("true", "1"):
                return self._watch(res, ns, q)
            if method == "GET":
                items, rv = store.list(res, ns, q.get("labelSelector", ""), q.get("fieldSelector", ""))
                return self._send(
                    200,
                    {
                        "kind": f"{res.kind}List",
                        "apiVersion": res.api_version,
                        "metadata": {"resourceVersion": str(rv)},
                        "items": items,
                    },
                )
            if method == "POST":
                return self._send(201, store.create(res, ns, self._body() or {}))
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a collection")
        if sub == "log" and res.kind == "Pod":
            store.get(res, ns, name)
            tail = int(q["tailLines"]) if "tailLines" in q else None
            return self._send(200, store.logs(ns or "default", name, q.get("container"), tail), "text/plain")
        if sub not in ("", "status"):
            raise ApiError(404, "NotFound", f"subresource {sub} not served")
        if sub == "status" and not res.status:
            raise ApiError(404, "NotFound", f"{res.plural} has no status subresource")
        if method == "GET":
            return self._send(200, store.get(res, ns, name))
        if method == "PUT":
            return self._send(200, store.update(res, ns, name, self._body() or {}, sub))
        if method == "PATCH":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            ptype = PATCH_TYPES.get(ctype)
            if ptype is None:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}",
                )
            body = self._body()
            if ptype == "apply":
                body.setdefault("metadata", {}).setdefault("name", name)
            return self._send(200, store.patch(res, ns, name, body, ptype, sub))
        if method == "DELETE":
            store.delete(res, ns, name)
            return self._send(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Success",
                    "details": {"name": name, "kind": res.plural},
                },
            )
        raise ApiError(405, "MethodNotAllowed", f"{method} not allowed")

    def _watch(self, res: Res, ns: str | None, q: dict[str, str]) -> None:
        since = int(q["resourceVersion"]) if q.get("resourceVersion") not in (None, "", "0") else None
        timeout = float(q.get("timeoutSeconds") or 300)
        stream = self.server.store.watch(
            res, ns, q.get("labelSelector", ""), q.get("fieldSelector", ""), since, timeout, self.server.stopping
        )
        first = next(stream, None)  # raises ApiError(410) before any byte is sent
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if first is not None:
                self._chunk(first)
            for ev in stream:
                self._chunk(ev)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return

    def _chunk(self, ev: Event) -> None:
        line = json.dumps({"type": ev.type, "object": ev.obj}).encode() + b"\n"
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")


class ApiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store: Store, host: str = "127.0.0.1", port: int = 0):
        super().__init__((host, port), Handler)
        self.store = store
        self.stopping = threading.Event()
        self.fail_all: ApiError | None = None  # fault injection: every request answers this error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> ApiHTTPServer:
        threading.Thread(target=self.serve_forever, name="sim-apiserver", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with self.store.cond:
            self.store.cond.notify_all()
        self.shutdown()
        self.server_close()


def kubeconfig(url: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "sim",
            "clusters": [{"name": "sim", "cluster": {"server": url}}],
            "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim", "namespace": "default"}}],
            "users": [{"name": "sim", "user": {"token": "simulated"}}],
        }
    )
