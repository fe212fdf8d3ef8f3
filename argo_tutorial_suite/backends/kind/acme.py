"""Pebble (Let's Encrypt's ACME test server) inside the kind cluster, the way cert-manager's e2e runs it.

One pod, two containers: ``pebble`` and ``pebble-challtestsrv``. Pebble asks challtestsrv
(``-dnsserver 127.0.0.1:8053``) for every name, and challtestsrv answers with the ingress-nginx controller
Service's ClusterIP (``-defaultIPv4``). So an HTTP-01 validation of the tutorial's hosts reaches the
ingress controller on port 80, which routes the solver Ingress cert-manager creates. cert-manager checks the
challenge itself first (its HTTP-01 "self check", a GET from its controller pod through the cluster's DNS;
``propagation check failed ... lookup`` until it resolves, seen on kind here): the cluster's CoreDNS answers the
tutorial's domains with the same address (:func:`corefile_with_zones`), standing in for public DNS. Pebble's listener certificate is made by the suite for the Service's DNS name. It is
given to the Issuer as ``caBundle``; only ``spec.acme.server`` and ``caBundle`` of the tutorial's Issuer
change. The root of the issued certificates is read from the management port (``/roots/0``).
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
from pathlib import Path
from typing import Any

import httpx

from argo_tutorial_suite.backends.portforward import pick_pod, port_forward
from argo_tutorial_suite.backends.tls import self_signed
from argo_tutorial_suite.kube import Kube
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.tutorial.profiles import PLACEHOLDERS, TUTORIAL_PLACEHOLDERS
from argo_tutorial_suite.verdicts.waits import Seen, expect, timeout_for

NAMESPACE = "argo-suite-acme"
SERVICE = "pebble"
PEBBLE_IMAGE = "ghcr.io/letsencrypt/pebble:2.6.0"
CHALLTESTSRV_IMAGE = "ghcr.io/letsencrypt/pebble-challtestsrv:2.6.0"
ACME_PORT, MANAGEMENT_PORT, DNS_PORT = 14000, 15000, 8053


def service_dns(namespace: str = NAMESPACE) -> str:
    return f"{SERVICE}.{namespace}.svc.cluster.local"


def directory_url(namespace: str = NAMESPACE) -> str:
    return f"https://{service_dns(namespace)}:{ACME_PORT}/dir"


def config() -> dict[str, Any]:
    return {
        "pebble": {
            "listenAddress": f"0.0.0.0:{ACME_PORT}",
            "managementListenAddress": f"0.0.0.0:{MANAGEMENT_PORT}",
            "certificate": "/certs/tls.crt",
            "privateKey": "/certs/tls.key",
            "httpPort": 80,
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }


def manifests(ingress_ip: str, cert_pem: bytes, key_pem: bytes, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": SERVICE, "app.kubernetes.io/part-of": "argo-suite"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"name": "pebble-tls", "namespace": namespace},
            "data": {"tls.crt": base64.b64encode(cert_pem).decode(), "tls.key": base64.b64encode(key_pem).decode()},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "pebble-config", "namespace": namespace},
            "data": {"pebble-config.json": json.dumps(config(), indent=2)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": SERVICE, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": SERVICE}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "pebble",
                                "image": PEBBLE_IMAGE,
                                "args": [
                                    "-config",
                                    "/config/pebble-config.json",
                                    "-strict=false",
                                    "-dnsserver",
                                    f"127.0.0.1:{DNS_PORT}",
                                ],
                                "env": [
                                    {"name": "PEBBLE_VA_NOSLEEP", "value": "1"},
                                    {"name": "PEBBLE_WFE_NONCEREJECT", "value": "0"},
                                ],
                                "ports": [
                                    {"containerPort": ACME_PORT, "name": "acme"},
                                    {"containerPort": MANAGEMENT_PORT, "name": "management"},
                                ],
                                "readinessProbe": {"tcpSocket": {"port": ACME_PORT}, "periodSeconds": 2},
                                "volumeMounts": [
                                    {"name": "config", "mountPath": "/config"},
                                    {"name": "tls", "mountPath": "/certs"},
                                ],
                            },
                            {
                                "name": "challtestsrv",
                                "image": CHALLTESTSRV_IMAGE,
                                "args": [
                                    "-defaultIPv4",
                                    ingress_ip,
                                    "-defaultIPv6",
                                    "",
                                    "-dns01",
                                    f"127.0.0.1:{DNS_PORT}",
                                    "-http01",
                                    "",
                                    "-https01",
                                    "",
                                    "-tlsalpn01",
                                    "",
                                ],
                            },
                        ],
                        "volumes": [
                            {"name": "config", "configMap": {"name": "pebble-config"}},
                            {"name": "tls", "secret": {"secretName": "pebble-tls"}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SERVICE, "namespace": namespace, "labels": labels},
            "spec": {
                "selector": {"app.kubernetes.io/name": SERVICE},
                "ports": [
                    {"name": "acme", "port": ACME_PORT, "targetPort": ACME_PORT},
                    {"name": "management", "port": MANAGEMENT_PORT, "targetPort": MANAGEMENT_PORT},
                ],
            },
        },
    ]


COREFILE_MARKER = "# argo-suite: the tutorial's domains resolve to the ingress controller (stands in for public DNS)"


def corefile_with_zones(corefile: str, zones: list[str], ip: str) -> str:
    """CoreDNS's Corefile with one server block per zone that answers every A query in it with ``ip`` (the
    ``template`` plugin); an earlier block of the suite's is replaced, so applying it twice changes nothing.
    The kubeadm Corefile's ``reload`` plugin picks the change up without a restart."""
    head = corefile.split(COREFILE_MARKER)[0].rstrip("\n")
    blocks = [COREFILE_MARKER]
    for zone in sorted(set(zones)):
        blocks.append(
            f'{zone}:53 {{\n    template IN A {zone} {{\n        answer "{{{{ .Name }}}} 60 IN A {ip}"\n    }}\n}}'
        )
    return head + "\n" + "\n".join(blocks) + "\n"


def deploy(kube: Kube, ingress_service: str, ingress_namespace: str) -> tuple[str, bytes]:
    """Deploy Pebble and its challenge server, answering every name with the ingress controller's ClusterIP, and make
    the tutorial's domains resolve to it in the cluster's DNS; (directory URL, Pebble's CA bundle)."""
    svc = kube.get("v1", "Service", ingress_service, ingress_namespace)
    if svc is None:
        raise AssertionError(
            f"no {ingress_namespace}/{ingress_service} Service: the HTTP-01 validation has nothing to reach"
        )
    with tempfile.TemporaryDirectory() as d:
        crt, key = self_signed("pebble", [service_dns(), SERVICE], Path(d))
        cert_pem, key_pem = crt.read_bytes(), key.read_bytes()
    kube.apply_all(manifests(svc["spec"]["clusterIP"], cert_pem, key_pem))
    tutorial_domains_resolve_to(kube, svc["spec"]["clusterIP"])

    def probe() -> Seen:
        dep = kube.get("apps/v1", "Deployment", SERVICE, NAMESPACE)
        return readiness.deployment(dep) if dep else Seen.pending("pebble Deployment not created yet")

    expect(probe, "in-cluster Pebble ready", timeout_for("install"))
    return directory_url(), cert_pem


def issuing_root(kube: Kube, kubectl: str, kubeconfig: Path, ca_pem: bytes) -> str:
    """The root CA of what Pebble issues (new at every Pebble start), read through a port-forward."""
    pods = kube.list("v1", "Pod", NAMESPACE, label_selector=f"app.kubernetes.io/name={SERVICE}")
    target = f"pod/{pick_pod(pods)}"
    with port_forward(kubectl, NAMESPACE, target, MANAGEMENT_PORT, [f"--kubeconfig={kubeconfig}"]) as port:
        ctx = ssl.create_default_context(cadata=ca_pem.decode())
        ctx.check_hostname = False  # the port-forward's address is not the Service name the certificate names
        return httpx.get(f"https://127.0.0.1:{port}/roots/0", verify=ctx, timeout=15).text


def tutorial_domains_resolve_to(kube: Kube, ip: str) -> None:
    """cert-manager's HTTP-01 self check resolves the tutorial's hosts through the cluster's DNS: CoreDNS answers
    the corrected profile's domain and the tutorial's placeholder domains with ``ip``."""
    zones = [PLACEHOLDERS["domain"], *{h.split(".", 1)[1] for h in TUTORIAL_PLACEHOLDERS["hosts"]}]
    cm = kube.get("v1", "ConfigMap", "coredns", "kube-system")
    if cm is None:
        raise AssertionError("no kube-system/coredns ConfigMap: the tutorial's hosts cannot be made to resolve")
    corefile = str((cm.get("data") or {}).get("Corefile", ""))
    new = corefile_with_zones(corefile, zones, ip)
    if new != corefile:
        kube.patch("v1", "ConfigMap", "coredns", {"data": {"Corefile": new}}, "kube-system")
