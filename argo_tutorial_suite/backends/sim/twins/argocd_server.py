"""argocd-server's REST endpoints the tutorial and the suite call, on a real local HTTPS port.

Server rules (``server/server.go``, ``server/session``, ``server/application/application.go``; requests
and responses checked against ``assets/swagger.json`` of the pinned version):

* ``POST /api/v1/session`` -> ``{"token"}``; a token is required (Bearer or cookie ``argocd.token``);
* from v2.10 non-GET ``/api/`` calls need ``Content-Type: application/json`` else ``415 Invalid content type``
  (``enforceContentTypes``, PR #16860);
* ``POST .../sync`` sets ``operation`` (``FailedPrecondition`` "another operation is already in progress");
* ``POST .../resource/actions`` (body: the action name as a JSON string) and, from v3.1, ``.../actions/v2``
  run ``resume`` as ``actions/resume/action.lua`` does, the status part sent to ``/status``;
* ``GET .../managed-resources`` answers each resource's target and live state as JSON strings and ``modified``
  (``server/application/application.go`` ``ManagedResources``; the twin has no dry run, so no
  ``predictedLiveState``, and its live state is its normalized state).
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema

from argo_tutorial_suite.apis import ARGOPROJ as API
from argo_tutorial_suite.backends.sim.twins.argocd import NS, REFRESH, AppController
from argo_tutorial_suite.backends.sim.twins.rollouts import resume_action
from argo_tutorial_suite.backends.sim.world import World
from argo_tutorial_suite.backends.tls import self_signed, server_context
from argo_tutorial_suite.flow.argocd_api import actions_v2, json_content_type_required
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import REDACTOR


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, world: World, controller: AppController, swagger: Obj, version: str):
        super().__init__(("127.0.0.1", 0), ApiHandler)
        self.world, self.controller, self.swagger, self.version = world, controller, swagger, version
        self.password = secrets.token_urlsafe(12)[:16]
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status): what the tutorial's calls got
        self.schema_errors: list[str] = []
        REDACTOR.register(self.password)
        crt, key = self_signed(
            "argocd-server", ["localhost", "argocd-server", "argocd-server.argocd.svc"], world.procs.dir("argocd-tls")
        )
        self.ctx: ssl.SSLContext = server_context(crt, key)
        self.socket = self.ctx.wrap_socket(self.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def start(self) -> ApiServer:
        threading.Thread(target=self.serve_forever, daemon=True, name="sim-argocd-server").start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def check(self, definition: str, value: Any, where: str) -> list[str]:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": self.swagger["definitions"]}
        v = jsonschema.Draft4Validator(schema)
        errs = [f"{where}: {e.message} at {'/'.join(map(str, e.path))}" for e in v.iter_errors(value)]
        return errs


class ApiHandler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: Any, definition: str | None = None, ctype: str = "application/json") -> None:
        if definition and code == 200:
            self.server.schema_errors += self.server.check(definition, body, f"response {self.command} {self.path}")
        # grpc-gateway marshals compact JSON (Go encoding/json): the tutorial's sed parsing relies on it
        data = body.encode() if isinstance(body, str) else json.dumps(body, separators=(",", ":")).encode()
        self.server.requests.append((self.command, urlsplit(self.path).path, code))
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, http: int, grpc: int, msg: str) -> None:
        self._send(http, {"error": msg, "code": grpc, "message": msg, "details": []})

    def _json(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw.strip() else {}

    def _authed(self) -> bool:
        auth = self.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else ""
        cookie = self.headers.get("Cookie") or ""
        for part in cookie.split(";"):
            k, _, v = part.strip().partition("=")
            if k == "argocd.token":
                token = v
        return token in self.server.tokens

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        srv = self.server
        if method != "GET" and url.path.startswith("/api/") and json_content_type_required(srv.version):
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype != "application/json":
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                return self._send(415, "Invalid content type\n", ctype="text/plain; charset=utf-8")
        try:
            body: Any = self._json() if method == "POST" else {}
        except json.JSONDecodeError as e:
            return self._error(400, 3, f"invalid character in request body: {e}")
        if parts == ["api", "v1", "session"] and method == "POST":
            errs = srv.check("sessionSessionCreateRequest", body, "request")
            if errs:
                return self._error(400, 3, "; ".join(errs))
            if not body.get("username") and not body.get("password"):
                return self._error(401, 16, "no credentials supplied")
            if body.get("username") != "admin" or body.get("password") != srv.password:
                return self._error(401, 16, "Invalid username or password")
            token = (
                "eyJhbGciOiJIUzI1NiJ9."
                + base64.urlsafe_b64encode(json.dumps({"sub": "admin", "iat": int(time.time())}).encode())
                .decode()
                .rstrip("=")
                + "."
                + secrets.token_urlsafe(24)
            )
            srv.tokens.add(token)
            REDACTOR.register(token)
            return self._send(200, {"token": token}, "sessionSessionResponse")
        if parts[:3] != ["api", "v1", "applications"] or len(parts) < 4:
            return self._error(404, 5, "Not Found")
        if not self._authed():
            return self._error(401, 16, "no session information")
        name = parts[3]
        world = srv.world
        app = world.get(API, "Application", name, NS)
        if app is None:
            return self._error(404, 5, f'applications.argoproj.io "{name}" not found')
        rest = parts[4:]
        if method == "GET" and not rest:
            if q.get("refresh"):
                world.patch(app, {"metadata": {"annotations": {REFRESH: q["refresh"]}}})
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    cur = world.get(API, "Application", name, NS) or {}
                    if REFRESH not in (cur.get("metadata", {}).get("annotations") or {}):
                        break
                    time.sleep(0.05)
                app = world.get(API, "Application", name, NS) or app
            return self._send(200, app, "v1alpha1Application")
        if method == "POST" and rest == ["sync"]:
            errs = srv.check("applicationApplicationSyncRequest", body, "request")
            if errs:
                return self._error(400, 3, "; ".join(errs))
            if (
                app.get("operation")
                or ((app.get("status") or {}).get("operationState") or {}).get("phase") == "Running"
            ):
                return self._error(400, 9, "another operation is already in progress")
            sync = {
                k: v
                for k, v in body.items()
                if k in ("revision", "prune", "dryRun", "syncOptions", "resources", "syncStrategy")
            }
            if "syncOptions" in sync and isinstance(sync["syncOptions"], dict):
                sync["syncOptions"] = sync["syncOptions"].get("items") or []
            elif app["spec"].get("syncPolicy", {}).get("syncOptions"):
                sync["syncOptions"] = app["spec"]["syncPolicy"]["syncOptions"]
            # resolveRevision: the request's revision (else targetRevision) as a SHA, listed without the cache
            try:
                sync["revision"] = srv.controller.source.resolve(
                    app["spec"]["source"]["repoURL"],
                    str(sync.get("revision") or app["spec"]["source"].get("targetRevision", "HEAD")),
                    store=False,
                )
            except RuntimeError as e:
                return self._error(500, 2, f"error resolving repo revision: {e}")
            op = {"sync": sync, "initiatedBy": {"username": "admin"}}
            updated = world.patch(app, {"operation": op})
            return self._send(200, updated, "v1alpha1Application")
        if rest[:2] == ["resource", "actions"]:
            if method == "GET":
                return self._send(200, {"actions": self._actions(app, q)}, "applicationResourceActionsListResponse")
            if len(rest) == 3 and rest[2] == "v2":
                if not actions_v2(srv.version):
                    return self._error(404, 5, "Not Found")
                q = {
                    "namespace": body.get("namespace", ""),
                    "resourceName": body.get("resourceName", ""),
                    "kind": body.get("kind", ""),
                    "group": body.get("group", ""),
                    "version": body.get("version", ""),
                }
                action = body.get("action", "")
            else:
                action = body if isinstance(body, str) else ""
            return self._run_action(app, q, action)
        if method == "GET" and rest == ["managed-resources"]:
            return self._send(
                200, {"items": srv.controller.managed_resources(app)}, "applicationManagedResourcesResponse"
            )
        if method == "GET" and rest == ["resource"]:
            live = self._target(q)
            if live is None:
                return self._error(404, 5, "resource not found")
            return self._send(200, {"manifest": json.dumps(live)}, "applicationApplicationResourceResponse")
        return self._error(404, 5, "Not Found")

    def _target(self, q: dict[str, str]) -> Obj | None:
        group, version = q.get("group", ""), q.get("version", "")
        api_version = f"{group}/{version}" if group else version
        return self.server.world.get(api_version, q.get("kind", ""), q.get("resourceName", ""), q.get("namespace"))

    def _actions(self, app: Obj, q: dict[str, str]) -> list[Obj]:
        live = self._target(q)
        if live is None or live.get("kind") != "Rollout":
            return []
        paused = bool((live.get("status") or {}).get("pauseConditions")) or bool((live.get("spec") or {}).get("paused"))
        return [
            {"name": "restart", "disabled": False},
            {"name": "resume", "disabled": not paused},
            {"name": "abort", "disabled": False},
            {"name": "retry", "disabled": True},
            {"name": "promote-full", "disabled": False},
        ]

    def _run_action(self, app: Obj, q: dict[str, str], action: str) -> None:
        world = self.server.world
        live = self._target(q)
        if live is None:
            return self._error(404, 5, "resource not found")
        if action != "resume" or live.get("kind") != "Rollout":
            return self._error(
                400, 3, f"action {action!r} is not modelled by the simulated Argo CD (only Rollout resume)"
            )
        new = resume_action(live)
        patch = _merge_diff(live, new)
        if not patch:
            return self._send(200, {}, "applicationApplicationResponse")
        res = world.r(live["apiVersion"], live["kind"])
        ns, name = live["metadata"].get("namespace"), live["metadata"]["name"]
        if "status" in patch:
            world.store.patch(res, ns, name, {"status": patch.pop("status")}, "merge", "status")
        if patch:
            world.store.patch(res, ns, name, patch, "merge")
        world.event(
            app,
            "ResourceActionRan",
            f"admin ran action resume on resources argoproj.io/Rollout/{name}",
            source="argocd-server",
        )
        return self._send(200, {}, "applicationApplicationResponse")


def _merge_diff(old: Any, new: Any) -> Obj:
    """``jsonpatch.CreateMergePatch(old, new)``: the merge patch that turns ``old`` into ``new``."""
    out: Obj = {}
    for k in set(old) | set(new):
        if k not in new or new[k] is None:
            if old.get(k) is not None:
                out[k] = None
        elif k not in old:
            out[k] = new[k]
        elif isinstance(old[k], dict) and isinstance(new[k], dict):
            d = _merge_diff(old[k], new[k])
            if d:
                out[k] = d
        elif old[k] != new[k]:
            out[k] = new[k]
    return out
