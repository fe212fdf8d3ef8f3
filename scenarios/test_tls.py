"""TLS for the tutorial's hosts with the ACME HTTP-01 flow, against a local ACME server (Pebble).

The tutorial's Issuers name Let's Encrypt; the only edits are ``spec.acme.server`` (the local Pebble)
and a ``caBundle`` for it, as cert-manager's own e2e does. Checked: the Order and the Challenges are
valid, each Certificate is Ready, and each host serves a certificate for its own name that chains to
Pebble's root. As written, both app Ingresses share the secret ``letsencrypt-tls`` (D14): one host
gets the other's certificate. The real Let's Encrypt endpoint and public DNS are never "passed" here.
"""

from __future__ import annotations

import ssl
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from argo_tutorial_suite.apis import CERT_MANAGER, CERT_MANAGER_ACME
from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.flow import APP_NS, CI_NS, Tutorial, yaml_objects
from argo_tutorial_suite.tutorial import kustomize
from argo_tutorial_suite.tutorial.issuers import issuer_for_pebble
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.verdicts import components as C
from argo_tutorial_suite.verdicts.steps import Steps
from argo_tutorial_suite.verdicts.waits import Seen

pytestmark = [pytest.mark.cluster, pytest.mark.profiles]


def _ready(o: dict[str, Any] | None) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in ((o or {}).get("status") or {}).get("conditions") or []
    )


def _serves_verified(backend: Backend, host: str, ctx: ssl.SSLContext) -> Seen:
    try:
        r = backend.http(host, "/", scheme="https", timeout=10, verify=ctx)
    except httpx.ConnectError as e:
        return Seen.pending(f"TLS verification for {host} failed: {e}", **{"tls error": f"{host}: {e}"})
    if r.status_code >= 500 and r.status_code != 503:
        return Seen.failed(f"{host}: HTTP {r.status_code}")
    return Seen.ok(f"{host}: verified, HTTP {r.status_code}")


def test_tls(backend: Backend, profile: Profile, steps: Steps, tmp_path: Path) -> None:
    t = Tutorial.start(backend, profile, steps, tmp_path)
    steps.not_verified(
        "Let's Encrypt's real endpoint issues for the tutorial's hosts",
        "TLS",
        "needs public DNS and a reachable host (D15); a local Pebble stands in",
    )
    acme = backend.acme()
    if acme is None:
        steps.not_verified(
            "HTTP-01 with a local ACME server",
            "TLS",
            f"the {backend.name} backend runs no local ACME server yet",
        )
        return
    directory, ca_bundle, _ = acme

    with t.step("apply the GitOps Ingresses and Issuer, the Issuer pointed at the local Pebble", "TLS"):
        built = kustomize.build(t.gitops_dir)
        if (
            built.error
        ):  # as written the kustomization does not build (D10): the files themselves, as kubectl apply -f would
            objs = yaml_objects(t.gitops_dir)
        else:
            objs = built.objects
        wanted = [o for o in objs if o["kind"] in ("Namespace", "Service", "Ingress", "Issuer")]
        t.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP_NS}})
        for o in wanted:
            t.kube.apply(issuer_for_pebble(o, directory, ca_bundle) if o["kind"] == "Issuer" else o, APP_NS)

    ingresses = [o for o in wanted if o["kind"] == "Ingress"]
    secret_of = {
        h: tls["secretName"]
        for ing in ingresses
        for tls in ing["spec"].get("tls") or []
        for h in tls.get("hosts") or []
    }

    # issued by cert-manager, its HTTP-01 solver answered through the ingress controller
    with t.step(
        "cert-manager issues every Certificate (Order and Challenges valid)",
        "TLS",
        decided_by=(C.CERT_MANAGER, *C.INGRESS_CONTROLLERS),
    ) as rec:

        def probe() -> Seen:
            certs = t.kube.list(CERT_MANAGER, "Certificate", APP_NS)
            for c in certs:
                for cond in (c.get("status") or {}).get("conditions") or []:
                    if cond.get("type") == "Ready" and cond.get("reason") == "Failed":
                        return Seen.failed(f"Certificate {c['metadata']['name']}: {cond.get('message')}")
            names = sorted(set(secret_of.values()))
            ready = [n for n in names if _ready(next((c for c in certs if c["metadata"]["name"] == n), None))]
            if len(ready) < len(names):
                return Seen.pending(f"{len(ready)}/{len(names)} Certificates Ready")
            orders = t.kube.list(CERT_MANAGER_ACME, "Order", APP_NS)
            challenges = t.kube.list(CERT_MANAGER_ACME, "Challenge", APP_NS)
            if any((o.get("status") or {}).get("state") != "valid" for o in orders) or any(
                (c.get("status") or {}).get("state") != "valid" for c in challenges
            ):
                return Seen.pending("Orders/Challenges not all valid yet")
            return Seen.ok(
                f"{len(ready)} Certificate(s) Ready, {len(orders)} Order(s) and {len(challenges)} Challenge(s) valid"
            )

        rec.detail = t.wait(probe, "Certificates Ready through ACME HTTP-01", "certificate").detail

    again = backend.acme()
    assert again is not None, "the local ACME server went away"
    root = again[2]
    ca_file = Path(tempfile.mkdtemp(dir=tmp_path)) / "pebble-root.pem"
    ca_file.write_text(root)
    ctx = ssl.create_default_context(cafile=str(ca_file))
    groups: dict[str, list[str]] = {}
    for host, secret in sorted(secret_of.items()):
        groups.setdefault(secret, []).append(host)
    for secret, hosts in sorted(groups.items()):
        names = ", ".join(hosts)
        # which certificate a host gets is the ingress controller's choice (for a host its secret does not cover,
        # ingress-nginx serves its own fake certificate), from what cert-manager issued
        with t.step(
            f"{names}: each serves its own certificate from {secret}, chained to the ACME root",
            "TLS",
            defect="D14" if len(hosts) > 1 else None,
            decided_by=(*C.INGRESS_CONTROLLERS, C.CERT_MANAGER),
        ):
            for host in hosts:
                # the controller serves a Secret it was just given after its reload (seen on kind: one host
                # still had the default certificate right after its Certificate went Ready)
                t.wait(partial(_serves_verified, backend, host, ctx),
                       f"{host} serves a certificate chained to the ACME root", "tls-reload")  # fmt: skip

    # The webhook host: the ci Issuer and Ingress (its TLS is what GitHub would check, D31).
    with t.step(
        "the CI webhook Ingress gets its certificate too", "TLS", decided_by=(C.CERT_MANAGER, *C.INGRESS_CONTROLLERS)
    ):
        ci_objs = [o for o in t.render_ci(t.ci_dir) if o["kind"] in ("Namespace", "Issuer", "Ingress")]
        for o in ci_objs:
            t.kube.apply(issuer_for_pebble(o, directory, ca_bundle) if o["kind"] == "Issuer" else o, CI_NS)
        name = next(tls["secretName"] for o in ci_objs if o["kind"] == "Ingress" for tls in o["spec"].get("tls") or [])
        t.wait(
            lambda: (
                Seen.ok("Ready")
                if _ready(t.kube.get(CERT_MANAGER, "Certificate", name, CI_NS))
                else Seen.pending("not Ready")
            ),
            f"Certificate {CI_NS}/{name} Ready",
            "certificate",
        )
