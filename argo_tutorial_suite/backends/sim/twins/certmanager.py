"""cert-manager: ingress-shim and the ACME issuer, speaking real ACME (certbot's ``acme`` library) to Pebble.

Rules (``cert-manager/cert-manager`` v1.11 .. v1.21):

* ingress-shim (``pkg/controller/certificate-shim``): an Ingress annotated ``cert-manager.io/issuer`` gets
  one Certificate per ``spec.tls`` entry, named after its ``secretName``, with the entry's hosts as
  ``dnsNames``, owned by the Ingress; a Certificate of that name owned by another Ingress is not touched
  (event ``BadConfig``: "... is not owned by this object"), so two Ingresses sharing a secretName (D14)
  get one certificate for one of them;
* Certificate -> CertificateRequest ``<cert>-1`` (a CSR) -> Order -> one Challenge per authorization,
  HTTP-01 solved by a solver Pod, Service and Ingress ``cm-acme-http-solver-xxxxx`` answering
  ``/.well-known/acme-challenge/<token>`` with the key authorization (``pkg/issuer/acme/http``);
* the ACME client trusts ``spec.acme.caBundle`` for the server's TLS; the account key goes to
  ``spec.acme.privateKeySecretRef``; the issued chain and key go to the Secret (``kubernetes.io/tls``:
  ``tls.crt``, ``tls.key``); Certificate condition ``Ready=True``; failures set Challenge ``state: invalid``,
  Order ``state: errored``/``invalid`` and Certificate ``Ready=False`` with the reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from josepy.jwk import JWKRSA

from argo_tutorial_suite.apis import CERT_MANAGER, CERT_MANAGER_ACME
from argo_tutorial_suite.backends.sim.api_semantics import ApiError
from argo_tutorial_suite.backends.sim.store import now
from argo_tutorial_suite.backends.sim.twins.apps import RUNTIME, suffix
from argo_tutorial_suite.backends.sim.world import Endpoint, World
from argo_tutorial_suite.objects import Obj

ISSUER_ANN = "cert-manager.io/issuer"


class _Retry(Exception):
    """Requeue: the condition is transient (e.g. the Issuer is not created yet)."""


class Solver(ThreadingHTTPServer):
    """The HTTP-01 solver pod's server: ``/.well-known/acme-challenge/<token>`` -> key authorization."""

    daemon_threads = True

    def __init__(self, token: str, key_authz: str):
        super().__init__(("127.0.0.1", 0), SolverHandler)
        self.token, self.key_authz = token, key_authz

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class SolverHandler(BaseHTTPRequestHandler):
    server: Solver

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        ok = self.path.split("?")[0] == f"/.well-known/acme-challenge/{self.server.token}"
        body = (self.server.key_authz if ok else "not found").encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class CertManager:
    def __init__(self, world: World):
        self.world = world
        self.busy: set[str] = set()
        self.done: set[str] = set()
        self.retry_at: dict[str, float] = {}
        self.bad_config: set[tuple[str, str]] = (
            set()
        )  # (ingress uid, certificate uid) already reported  # certificate uid -> when to try again (issuer missing, ...)
        self.solvers: list[Solver] = []
        self.lock = threading.Lock()

    def close(self, world: World) -> None:
        for s in self.solvers:
            s.shutdown()
            s.server_close()

    def reconcile(self, world: World) -> None:
        for ing in world.list("networking.k8s.io/v1", "Ingress"):
            self.shim(world, ing)
        for cert in world.list(CERT_MANAGER, "Certificate"):
            key = cert["metadata"]["uid"] + cert["metadata"]["resourceVersion"]
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (cert.get("status") or {}).get("conditions") or []
            )
            uid = cert["metadata"]["uid"]
            if ready or uid in self.busy or key in self.done or time.monotonic() < self.retry_at.get(uid, 0):
                continue
            with self.lock:
                self.busy.add(uid)
            threading.Thread(target=self.issue, args=(world, cert), daemon=True, name="sim-cert-manager").start()

    # -- ingress-shim -----------------------------------------------------------------------------------------
    def shim(self, world: World, ing: Obj) -> None:
        issuer = (ing["metadata"].get("annotations") or {}).get(ISSUER_ANN)
        if not issuer:
            return
        ns = ing["metadata"]["namespace"]
        for tls in (ing.get("spec") or {}).get("tls") or []:
            name = tls.get("secretName")
            if not name:
                continue
            cur = world.get(CERT_MANAGER, "Certificate", name, ns)
            if cur is not None:
                reported = (ing["metadata"]["uid"], cur["metadata"]["uid"])
                if not world.owned_by(cur, ing) and reported not in self.bad_config:
                    self.bad_config.add(reported)  # the event once per Ingress and Certificate
                    world.event(
                        ing,
                        "BadConfig",
                        f'Certificate resource "{name}" is not owned by this object. Refusing to update non-owned certificate resource',
                        "Warning",
                        "cert-manager-ingress-shim",
                    )
                continue
            world.create(
                {
                    "apiVersion": CERT_MANAGER,
                    "kind": "Certificate",
                    "metadata": {"name": name, "namespace": ns, "ownerReferences": [world.owner_ref(ing)]},
                    "spec": {
                        "secretName": name,
                        "dnsNames": list(tls.get("hosts") or []),
                        "issuerRef": {"name": issuer, "kind": "Issuer", "group": "cert-manager.io"},
                        "usages": ["digital signature", "key encipherment"],
                    },
                }
            )

    # -- issuing ----------------------------------------------------------------------------------------------
    def _cond(self, obj: Obj, status: str, reason: str, message: str) -> None:
        self.world.patch_status(
            obj,
            {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": status,
                        "reason": reason,
                        "message": message,
                        "lastTransitionTime": now(),
                    }
                ]
            },
        )

    def issue(self, world: World, cert: Obj) -> None:
        retry = False
        try:
            self._issue(world, cert)
        except _Retry:
            retry = True
        except Exception as e:  # an issuer error is the Certificate's condition, never a crash
            self._cond(cert, "False", "Failed", f"simulated cert-manager: {type(e).__name__}: {e}")
        finally:
            with self.lock:
                self.busy.discard(cert["metadata"]["uid"])
                cur = world.get(CERT_MANAGER, "Certificate", cert["metadata"]["name"], cert["metadata"]["namespace"])
                if cur is not None and not retry:
                    self.done.add(cur["metadata"]["uid"] + cur["metadata"]["resourceVersion"])

    def _issue(self, world: World, cert: Obj) -> None:

        ns, name = cert["metadata"]["namespace"], cert["metadata"]["name"]
        ref = cert["spec"]["issuerRef"]
        issuer = world.get(CERT_MANAGER, "Issuer", ref["name"], ns)
        if issuer is None:  # cert-manager requeues until the Issuer exists
            self._cond(cert, "False", "IssuerNotFound", f'Issuer "{ref["name"]}" not found')
            self.retry_at[cert["metadata"]["uid"]] = time.monotonic() + 1.0
            raise _Retry
        acme_spec = (issuer.get("spec") or {}).get("acme") or {}
        self._cond(cert, "False", "Issuing", "Issuing certificate as Secret does not exist")
        cr = world.create(
            {
                "apiVersion": CERT_MANAGER,
                "kind": "CertificateRequest",
                "metadata": {"name": f"{name}-1", "namespace": ns, "ownerReferences": [world.owner_ref(cert)]},
                "spec": {"issuerRef": ref},
            }
        )
        order = world.create(
            {
                "apiVersion": CERT_MANAGER_ACME,
                "kind": "Order",
                "metadata": {
                    "name": f"{name}-1-{suffix(10)}",
                    "namespace": ns,
                    "ownerReferences": [world.owner_ref(cr)],
                },
                "spec": {"dnsNames": cert["spec"]["dnsNames"], "issuerRef": ref},
            }
        )
        ca = None
        if acme_spec.get("caBundle"):
            f = Path(tempfile.mkdtemp(dir=world.procs.dir("cert-manager"))) / "ca.pem"
            f.write_bytes(base64.b64decode(acme_spec["caBundle"]))
            ca = str(f)
        account = JWKRSA(key=rsa.generate_private_key(65537, 2048))
        try:
            net = client.ClientNetwork(account, user_agent="cert-manager-sim", verify_ssl=ca or True)  # type: ignore[arg-type]  # requests accepts a CA file path
            directory = client.ClientV2.get_directory(acme_spec.get("server", ""), net)
            acme = client.ClientV2(directory, net=net)
            acme.new_account(
                messages.NewRegistration.from_data(email=acme_spec.get("email"), terms_of_service_agreed=True)
            )
        except Exception as e:
            msg = f"Failed to register ACME account: {e}"
            world.patch_status(
                issuer,
                {
                    "conditions": [
                        {"type": "Ready", "status": "False", "reason": "ErrRegisterACMEAccount", "message": msg}
                    ]
                },
            )
            world.patch_status(order, {"state": "errored", "reason": msg})
            self._cond(cert, "False", "Failed", msg)
            return
        world.patch_status(
            issuer,
            {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "ACMEAccountRegistered",
                        "message": "The ACME account was registered with the ACME server",
                    }
                ]
            },
        )
        key = rsa.generate_private_key(65537, 2048)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        csr = crypto_util.make_csr(key_pem, cert["spec"]["dnsNames"])
        world.patch(cr, {"spec": {"request": base64.b64encode(csr).decode()}})
        orderr = acme.new_order(csr)
        world.patch_status(order, {"state": "pending", "url": orderr.uri})
        cleanup: list[Obj] = []
        try:
            for authz in orderr.authorizations:
                http01 = [c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)]
                if not http01:
                    raise RuntimeError(f"no HTTP-01 challenge offered for {authz.body.identifier.value}")
                chall = http01[0]
                response, validation = chall.response_and_validation(account)
                host = authz.body.identifier.value
                ch = world.create(
                    {
                        "apiVersion": CERT_MANAGER_ACME,
                        "kind": "Challenge",
                        "metadata": {
                            "name": f"{order['metadata']['name']}-{suffix(8)}",
                            "namespace": ns,
                            "ownerReferences": [world.owner_ref(order)],
                        },
                        "spec": {
                            "type": "HTTP-01",
                            "dnsName": host,
                            "token": chall.chall.encode("token"),
                            "key": validation,
                            "url": chall.uri,
                            "issuerRef": ref,
                        },
                    }
                )
                cleanup += self.solver(world, issuer, ch, host, chall.chall.encode("token"), validation)
                world.patch_status(ch, {"state": "pending", "processing": True, "presented": True})
                acme.answer_challenge(chall, response)
                cleanup.append(ch)
            deadline = dt.datetime.now() + dt.timedelta(seconds=60)
            try:
                orderr = acme.poll_and_finalize(orderr, deadline)
            except errors.ValidationError as e:
                reasons = []
                for a in e.failed_authzrs:
                    for c in a.body.challenges:
                        if c.error:
                            reasons.append(f"{a.body.identifier.value}: {c.error.detail}")
                for ch in [o for o in cleanup if o.get("kind") == "Challenge"]:
                    world.patch_status(ch, {"state": "invalid", "processing": False, "reason": "; ".join(reasons)})
                world.patch_status(order, {"state": "invalid", "reason": "; ".join(reasons)})
                self._cond(
                    cert,
                    "False",
                    "Failed",
                    f"The certificate request has failed to complete and will be retried: {'; '.join(reasons)}",
                )
                return
            for ch in [o for o in cleanup if o.get("kind") == "Challenge"]:
                world.patch_status(
                    ch, {"state": "valid", "processing": False, "reason": "Successfully authorized domain"}
                )
            world.patch_status(
                order, {"state": "valid", "certificate": base64.b64encode(orderr.fullchain_pem.encode()).decode()}
            )
            world.patch_status(
                cr,
                {
                    "certificate": base64.b64encode(orderr.fullchain_pem.encode()).decode(),
                    "conditions": [{"type": "Ready", "status": "True", "reason": "Issued"}],
                },
            )
            secret: Obj = {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {
                    "name": cert["spec"]["secretName"],
                    "namespace": ns,
                    "annotations": {
                        "cert-manager.io/certificate-name": name,
                        "cert-manager.io/issuer-name": ref["name"],
                    },
                },
                "data": {
                    "tls.crt": base64.b64encode(orderr.fullchain_pem.encode()).decode(),
                    "tls.key": base64.b64encode(key_pem).decode(),
                },
            }
            world.store.patch(world.r("v1", "Secret"), ns, secret["metadata"]["name"], secret, "apply")
            world.patch_status(
                cert,
                {
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "Ready",
                            "message": "Certificate is up to date and has not expired",
                            "lastTransitionTime": now(),
                        }
                    ],
                    "notAfter": "",
                    "revision": 1,
                },
            )
            world.event(
                cert,
                "Issuing",
                "The certificate has been successfully issued",
                source="cert-manager-certificates-issuing",
            )
        finally:
            for o in cleanup:
                if o.get("kind") != "Challenge":
                    world.delete(o)

    def solver(self, world: World, issuer: Obj, ch: Obj, host: str, token: str, key_authz: str) -> list[Obj]:
        """Solver Pod + Service + Ingress as cert-manager creates them (``pkg/issuer/acme/http``)."""
        ns = ch["metadata"]["namespace"]
        name = f"cm-acme-http-solver-{suffix(5)}"
        solvers = ((issuer.get("spec") or {}).get("acme") or {}).get("solvers") or [{}]
        ing_cfg = (solvers[0].get("http01") or {}).get("ingress") or {}
        labels = {
            "acme.cert-manager.io/http01-solver": "true",
            "acme.cert-manager.io/http-domain": str(abs(hash(host)) % 10**9),
            "sim.argo-suite.test/solver": name,
        }
        srv = Solver(token, key_authz)
        threading.Thread(target=srv.serve_forever, daemon=True, name="sim-acme-solver").start()
        self.solvers.append(srv)
        pod = world.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {RUNTIME: "twin", "sim.argo-suite.test/created-at": str(time.monotonic())},
                    "ownerReferences": [world.owner_ref(ch)],
                },
                "spec": {
                    "containers": [
                        {
                            "name": "acmesolver",
                            "image": "quay.io/jetstack/cert-manager-acmesolver",
                            "ports": [{"containerPort": 8089, "name": "http"}],
                        }
                    ]
                },
            }
        )
        with world.lock:
            world.endpoints[(ns, name)] = {8089: Endpoint("tcp", f"127.0.0.1:{srv.port}")}
        svc = world.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": [world.owner_ref(ch)]},
                "spec": {
                    "type": "NodePort",
                    "selector": labels,
                    "ports": [{"port": 8089, "targetPort": 8089, "name": "http"}],
                },
            }
        )
        ing_meta: Obj = {"name": name, "namespace": ns, "labels": labels, "ownerReferences": [world.owner_ref(ch)]}
        spec: Obj = {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": f"/.well-known/acme-challenge/{token}",
                                "pathType": "ImplementationSpecific",
                                "backend": {"service": {"name": name, "port": {"number": 8089}}},
                            }
                        ]
                    },
                }
            ]
        }
        if ing_cfg.get("class"):
            ing_meta["annotations"] = {"kubernetes.io/ingress.class": ing_cfg["class"]}
        if ing_cfg.get("ingressClassName"):
            spec["ingressClassName"] = ing_cfg["ingressClassName"]
        ing = world.create(
            {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": ing_meta, "spec": spec}
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # like the solver pod's readiness before the challenge is accepted
            p = world.get("v1", "Pod", name, ns)
            if p and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            ):
                break
            time.sleep(0.1)
        return [ing, svc, pod]


__all__ = ["ApiError", "CertManager"]
