"""A stand-in Kubernetes API server for the live check's tests: it serves lists of the objects it is given, as
the API server's REST paths name them, and misbehaves on demand (401, 403 on a path, hanging). It records every
request's method, so a test can hold the live check to reading only."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from argo_tutorial_suite.live.readonly import CLUSTER_SCOPED, RESOURCES

Obj = dict[str, Any]


@dataclass
class Behaviour:
    objects: list[Obj] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)  # "ns/pod" -> text
    status: int | None = None  # every request answers this status (401: bad credentials)
    forbidden: tuple[str, ...] = ()  # path parts that answer 403
    methods: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    posted: list[tuple[str, bytes]] = field(default_factory=list)
    gzip: bool = True
    trigger: str | None = None  # a POST through the proxy adds a Workflow in this phase (as a Sensor would)


def _plural_index() -> dict[tuple[str, str], tuple[str, str]]:
    """(API prefix, plural) -> (apiVersion, kind)."""
    out = {}
    for (api_version, kind), plural in RESOURCES.items():
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        out[(prefix, plural)] = (api_version, kind)
    return out


PLURALS = _plural_index()


def _route(path: str) -> tuple[str, str, str | None] | None:
    """(apiVersion, kind, namespace or None) of a list path."""
    parts = path.rstrip("/").split("/")
    prefix_len = 3 if parts[1] == "api" else 4
    prefix = "/".join(parts[:prefix_len])
    rest = parts[prefix_len:]
    ns = None
    if len(rest) == 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if len(rest) != 1:
        return None
    found = PLURALS.get((prefix, rest[0]))
    return (found[0], found[1], ns) if found else None


def handler(b: Behaviour) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *_a: Any) -> None:
            return None

        def _send(self, status: int, body: Any) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            if b.gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):  # as the real API server does
                data = gzip.compress(data)
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            b.methods.append("POST")
            b.paths.append(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            b.posted.append((self.path, self.rfile.read(n)))
            if b.trigger and "/proxy" in self.path:  # the Sensor, as it would: one Workflow per delivery
                ns = self.path.split("/")[4]
                meta = {"name": f"probe-{len(b.posted)}", "namespace": ns, "creationTimestamp": "2026-12-05T09:00:00Z"}
                wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": meta}
                b.objects.append({**wf, "status": {"phase": b.trigger}})
            self._send(200, b"success")

        def do_DELETE(self) -> None:
            b.methods.append("DELETE")
            b.paths.append(self.path)
            gone = self.path.rsplit("/", 1)[-1]
            before = len(b.objects)
            b.objects[:] = [o for o in b.objects if not (o.get("kind") == "Workflow" and o["metadata"]["name"] == gone)]
            self._send(200 if len(b.objects) < before else 404, {"kind": "Status"})

        def do_GET(self) -> None:
            b.methods.append("GET")
            url = urlparse(self.path)
            b.paths.append(url.path)
            if b.status is not None:
                self._send(b.status, {"kind": "Status", "message": "Unauthorized" if b.status == 401 else "error"})
                return
            if any(part in url.path for part in b.forbidden):
                self._send(403, {"kind": "Status", "message": f"cannot list {url.path}: RBAC"})
                return
            if url.path == "/version":
                self._send(200, {"gitVersion": "v1.34.0"})
                return
            if "/proxy" in url.path:  # a Service through the API server's proxy: 503 without a Service to reach
                parts = url.path.split("/")
                svc = parts[6].split(":")[1] if ":" in parts[6] else parts[6]
                known = any(o.get("kind") == "Service" and o["metadata"].get("name") == svc
                            and o["metadata"].get("namespace") == parts[4] for o in b.objects)  # fmt: skip
                self._send(200 if known else 503, b"<html>ui</html>" if known else {"message": "no endpoints"})
                return
            if url.path.endswith("/log"):
                parts = url.path.split("/")
                self._send(200, b.logs.get(f"{parts[4]}/{parts[6]}", "").encode())
                return
            route = _route(url.path)
            if route is None:
                self._send(404, {"kind": "Status", "message": "not found"})
                return
            api_version, kind, ns = route
            q = parse_qs(url.query)
            items = [
                o
                for o in b.objects
                if o.get("kind") == kind
                and o.get("apiVersion", api_version) == api_version
                and (ns is None or kind in CLUSTER_SCOPED or o.get("metadata", {}).get("namespace") == ns)
                and _labels_match(o, q.get("labelSelector", [""])[0])
            ]
            if kind == "Secret" and "PartialObjectMetadataList" in (self.headers.get("Accept") or ""):
                items = [{"metadata": o.get("metadata", {})} for o in items]
            self._send(200, {"kind": f"{kind}List", "items": items})

    return H


def _labels_match(o: Obj, selector: str) -> bool:
    labels = o.get("metadata", {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


@contextmanager
def serving(b: Behaviour) -> Iterator[str]:
    """The server's URL while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(b))
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def hanging() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def kubeconfig(path: Path, server: str, token: str = "t0ken-value-never-printed", contexts: int = 1) -> Path:
    """A kubeconfig with ``contexts`` contexts on one server, a bearer token each."""
    names = [f"c{i}" for i in range(contexts)]
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": names[0],
        "clusters": [{"name": n, "cluster": {"server": server}} for n in names],
        "users": [{"name": n, "user": {"token": token}} for n in names],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in names],
    }
    path.write_text(json.dumps(doc))
    return path
