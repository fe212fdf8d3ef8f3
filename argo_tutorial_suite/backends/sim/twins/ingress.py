"""ingress-nginx: a real HTTP and HTTPS listener on loopback routing by Host through Services to pods.

Rules (``kubernetes/ingress-nginx`` controller-v1.5.1 .. v1.15.1, ``internal/ingress/controller``):

* Ingresses of class ``nginx`` are served: ``spec.ingressClassName: nginx`` or the deprecated
  ``kubernetes.io/ingress.class: nginx`` annotation;
* the rule with the request's host and the longest matching path wins (``Prefix``, ``Exact``,
  ``ImplementationSpecific`` as prefix); no match -> 404 from the default backend;
* the backend Service's selector picks Ready pods (the Endpoints), the Service port maps to the pod's
  ``targetPort``; no endpoint -> 503; endpoints are used round-robin (nginx's default balancing);
* a host listed under ``spec.tls`` is redirected from HTTP to HTTPS with 308 (``ssl-redirect``, default
  true), except ACME HTTP-01 paths ``/.well-known/acme-challenge/``; HTTPS serves the secret named in
  ``tls`` when it exists and its certificate is valid for the host (:func:`cert_covers`), else the
  "Kubernetes Ingress Controller Fake Certificate".

Where the profile's Ingress controller is Traefik's Kubernetes Ingress NGINX provider (corrected@current, D37),
one rule differs (``pkg/provider/kubernetes/ingress-nginx/kubernetes.go`` at v3.6.12, ``loadIngresses``: a
``loadCertificates`` error -> ``continue``): an Ingress whose TLS Secret does not exist is not served at all (no
route of it; Traefik's 404), where ingress-nginx serves it with its fake certificate.
"""

from __future__ import annotations

import base64
import itertools
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from cryptography import x509

from argo_tutorial_suite.backends.sim.api_semantics import label_match, selector_of
from argo_tutorial_suite.backends.sim.world import Endpoint, World
from argo_tutorial_suite.backends.tls import self_signed, server_context
from argo_tutorial_suite.objects import Obj

HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "content-length",
    "host",
}


def ingress_class(ing: Obj) -> str | None:
    return (ing.get("spec") or {}).get("ingressClassName") or (ing["metadata"].get("annotations") or {}).get(
        "kubernetes.io/ingress.class"
    )


def path_matches(ptype: str, path: str, req: str) -> bool:
    if ptype == "Exact":
        return req == path
    p = path.rstrip("/") or "/"
    return p == "/" or req == p or req.startswith(p + "/")


def tls_secrets_missing(ing: Obj, exists: Callable[[str, str], bool]) -> bool:
    """Whether an Ingress names a TLS Secret that does not exist (Traefik's provider then skips the Ingress)."""
    ns = ing["metadata"].get("namespace", "default")
    return any(
        t.get("secretName") and not exists(ns, t["secretName"]) for t in (ing.get("spec") or {}).get("tls") or []
    )


def route(
    ingresses: list[Obj], host: str, path: str, skip: Callable[[Obj], bool] = lambda _ing: False
) -> tuple[Obj, Obj] | None:
    """(ingress, backend) for host+path: exact host, longest path; ``skip``: Ingresses the controller does not
    serve (Traefik's: those with a missing TLS Secret)."""
    best: tuple[int, Obj, Obj] | None = None
    for ing in ingresses:
        if ingress_class(ing) != "nginx" or skip(ing):
            continue
        for rule in (ing.get("spec") or {}).get("rules") or []:
            if rule.get("host", "") not in (host, ""):
                continue
            for p in (rule.get("http") or {}).get("paths") or []:
                pp = p.get("path", "/")
                if path_matches(p.get("pathType", "Prefix"), pp, path) and (best is None or len(pp) > best[0]):
                    best = (len(pp), ing, p.get("backend") or {})
    return (best[1], best[2]) if best else None


PUBLISHED_ADDRESS = "localhost"


def cert_covers(pem: bytes, host: str) -> bool:
    """Whether a certificate is valid for ``host``: a DNS SAN equal to it, or a one-label wildcard
    (``*.example.test``), as ingress-nginx checks (``controller.go`` createServers, ``cert.VerifyHostname``)."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except (ValueError, x509.ExtensionNotFound):
        return False
    host = host.lower().rstrip(".")
    for n in names:
        n = n.lower()
        if n == host or (n.startswith("*.") and host.split(".", 1)[-1] == n[2:] and host.count(".") >= 2):
            return True
    return False


def tls_secret(ingresses: list[Obj], host: str) -> tuple[str, str | None] | None:
    """(namespace, secretName) of the TLS entry that lists ``host``."""
    for ing in ingresses:
        if ingress_class(ing) != "nginx":
            continue
        for t in (ing.get("spec") or {}).get("tls") or []:
            if host in (t.get("hosts") or []):
                return ing["metadata"]["namespace"], t.get("secretName")
    return None


class Ingress:
    def __init__(self, world: World, skips_ingress_without_tls_secret: bool = False):
        self.world = world
        self.strict_tls = skips_ingress_without_tls_secret  # Traefik's Ingress NGINX provider (D37)
        self.rr: dict[str, itertools.count[int]] = {}
        certs = world.procs.dir("ingress-tls")
        crt, key = self_signed("Kubernetes Ingress Controller Fake Certificate", ["ingress.local"], certs)
        self.fake = server_context(crt, key)
        self.contexts: dict[tuple[str, str, str], ssl.SSLContext] = {}
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(False))
        self.https = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(True))
        ctx = server_context(crt, key)
        ctx.sni_callback = self._sni
        self.https.socket = ctx.wrap_socket(self.https.socket, server_side=True)
        for s in (self.http, self.https):
            s.daemon_threads = True
            threading.Thread(target=s.serve_forever, daemon=True, name="sim-ingress").start()
        self.served: list[tuple[str, str, int, str]] = []  # (host, path, status, pod)

    def unserved(self, ing: Obj) -> bool:
        """An Ingress this controller does not serve now (Traefik: its TLS Secret is missing)."""
        return self.strict_tls and tls_secrets_missing(
            ing, lambda ns, name: self.world.get("v1", "Secret", name, ns) is not None
        )

    @property
    def http_port(self) -> int:
        return int(self.http.server_address[1])

    @property
    def https_port(self) -> int:
        return int(self.https.server_address[1])

    def close(self, world: World) -> None:
        for s in (self.http, self.https):
            s.shutdown()
            s.server_close()

    def reconcile(self, world: World) -> None:
        """Routing is stateless (every request reads the current Ingresses, Services and pods); the status sync
        publishes the address the kind provider gives (``--publish-status-address=localhost`` in its
        ``deploy.yaml`` at both pinned tags) on every Ingress of class nginx."""
        for ing in world.list("networking.k8s.io/v1", "Ingress"):
            if ingress_class(ing) != "nginx":
                continue
            if ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            world.patch_status(ing, {"loadBalancer": {"ingress": [{"hostname": PUBLISHED_ADDRESS}]}})

    def _sni(self, sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
        found = tls_secret(self.world.list("networking.k8s.io/v1", "Ingress"), name or "")
        if not found or not found[1]:
            return None
        sec = self.world.get("v1", "Secret", found[1], found[0])
        if not sec or "tls.crt" not in (sec.get("data") or {}):
            return None
        if not cert_covers(base64.b64decode(sec["data"]["tls.crt"]), name or ""):
            # ingress-nginx: "SSL certificate ... does not contain a Common Name or Subject Alternative Name for
            # server ...", and the server keeps the default (fake) certificate
            return None
        key = (found[0], found[1], sec["metadata"]["resourceVersion"])
        if key not in self.contexts:
            d = self.world.procs.dir(f"ingress-tls/{found[0]}-{found[1]}-{key[2]}")
            (d / "tls.crt").write_bytes(base64.b64decode(sec["data"]["tls.crt"]))
            (d / "tls.key").write_bytes(base64.b64decode(sec["data"]["tls.key"]))
            self.contexts[key] = server_context(d / "tls.crt", d / "tls.key")
        sock.context = self.contexts[key]
        return None

    def endpoints(self, ns: str, backend: Obj) -> list[tuple[str, Endpoint]]:
        svc_ref = backend.get("service") or {}
        svc = self.world.get("v1", "Service", svc_ref.get("name", ""), ns)
        if svc is None:
            return []
        want = svc_ref.get("port") or {}
        port = next(
            (
                p
                for p in svc["spec"].get("ports") or []
                if p.get("port") == want.get("number") or (want.get("name") and p.get("name") == want.get("name"))
            ),
            None,
        )
        if port is None:
            return []
        target = port.get("targetPort", port.get("port"))
        sel = selector_of(svc["spec"].get("selector") or {})
        if not sel:
            return []
        out = []
        for p in self.world.list("v1", "Pod", ns):
            if not label_match(p["metadata"].get("labels") or {}, sel):
                continue
            if not any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            ):
                continue
            tp = target
            if isinstance(tp, str):
                tp = next(
                    (
                        cp.get("containerPort")
                        for c in p["spec"].get("containers") or []
                        for cp in c.get("ports") or []
                        if cp.get("name") == tp
                    ),
                    None,
                )
            ep = self.world.endpoints.get((ns, p["metadata"]["name"]), {}).get(int(tp)) if tp else None
            if ep is not None:
                out.append((p["metadata"]["name"], ep))
        return sorted(out, key=lambda e: e[0])

    def _handler(self, secure: bool) -> type[BaseHTTPRequestHandler]:
        twin = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {"Content-Type": "text/html"}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _any(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0]
                path = self.path.split("?")[0]
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                ings = twin.world.list("networking.k8s.io/v1", "Ingress")
                found = route(ings, host, path, twin.unserved)
                if found is None:
                    twin.served.append((host, path, 404, ""))
                    return self._reply(
                        404,
                        b"<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>",
                    )
                ing, backend = found
                if not secure and tls_secret([ing], host) and not path.startswith("/.well-known/acme-challenge/"):
                    twin.served.append((host, path, 308, ""))
                    return self._reply(
                        308,
                        b"<html><body>308 Permanent Redirect</body></html>",
                        {"Location": f"https://{host}{self.path}", "Content-Type": "text/html"},
                    )
                eps = twin.endpoints(ing["metadata"]["namespace"], backend)
                if not eps:
                    twin.served.append((host, path, 503, ""))
                    return self._reply(
                        503,
                        b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
                    )
                key = f"{ing['metadata']['namespace']}/{host}{path}"
                i = next(twin.rr.setdefault(key, itertools.count()))
                pod, ep = eps[i % len(eps)]
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                headers["Host"] = host
                headers["X-Forwarded-Proto"] = "https" if secure else "http"
                try:
                    transport = httpx.HTTPTransport(uds=ep.address) if ep.kind == "unix" else None
                    base = "http://pod" if ep.kind == "unix" else f"http://{ep.address}"
                    with httpx.Client(transport=transport, timeout=30) as c:
                        r = c.request(self.command, base + self.path, headers=headers, content=body)
                except httpx.HTTPError:
                    twin.served.append((host, path, 502, pod))
                    return self._reply(502, b"<html><head><title>502 Bad Gateway</title></head></html>")
                twin.served.append((host, path, r.status_code, pod))
                out = {k: v for k, v in r.headers.items() if k.lower() not in HOP}
                return self._reply(r.status_code, r.content, out)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

        return H
