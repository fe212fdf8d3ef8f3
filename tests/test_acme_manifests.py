"""The in-cluster Pebble of the kind backend (rendered offline)."""

from __future__ import annotations

import json

from argo_tutorial_suite.backends.kind import acme
from argo_tutorial_suite.backends.kind.acme import corefile_with_zones


def test_pebble_asks_challtestsrv_which_answers_with_the_ingress_ip() -> None:
    objs = acme.manifests("10.96.12.34", b"CERT", b"KEY")
    kinds = [o["kind"] for o in objs]
    assert kinds == ["Namespace", "Secret", "ConfigMap", "Deployment", "Service"]
    dep = next(o for o in objs if o["kind"] == "Deployment")
    pebble, chall = dep["spec"]["template"]["spec"]["containers"]
    assert (
        pebble["image"] == acme.PEBBLE_IMAGE
        and "@" not in pebble["image"]
        and pebble["image"].rsplit(":", 1)[1][0].isdigit()
    )
    assert pebble["args"][-2:] == ["-dnsserver", f"127.0.0.1:{acme.DNS_PORT}"]
    assert {"name": "PEBBLE_VA_NOSLEEP", "value": "1"} in pebble["env"]
    assert chall["args"][:2] == ["-defaultIPv4", "10.96.12.34"]
    assert f"127.0.0.1:{acme.DNS_PORT}" in chall["args"]


def test_config_validates_http01_on_port_80_with_the_suites_certificate() -> None:
    objs = acme.manifests("10.96.0.10", b"CERT", b"KEY")
    cfg = json.loads(next(o for o in objs if o["kind"] == "ConfigMap")["data"]["pebble-config.json"])["pebble"]
    assert cfg["httpPort"] == 80 and cfg["certificate"] == "/certs/tls.crt"
    svc = next(o for o in objs if o["kind"] == "Service")
    assert {p["port"] for p in svc["spec"]["ports"]} == {acme.ACME_PORT, acme.MANAGEMENT_PORT}
    assert acme.directory_url() == f"https://pebble.{acme.NAMESPACE}.svc.cluster.local:14000/dir"


KUBEADM_COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
"""


def test_corefile_answers_the_tutorial_domains_and_is_idempotent() -> None:
    once = corefile_with_zones(KUBEADM_COREFILE, ["argo-tutorial.test", "your.domain"], "10.96.0.50")
    assert once.startswith(KUBEADM_COREFILE.rstrip("\n"))  # the cluster's own block untouched
    assert "argo-tutorial.test:53 {" in once and "your.domain:53 {" in once
    assert 'answer "{{ .Name }} 60 IN A 10.96.0.50"' in once
    assert corefile_with_zones(once, ["argo-tutorial.test", "your.domain"], "10.96.0.50") == once
    moved = corefile_with_zones(once, ["argo-tutorial.test"], "10.96.0.51")
    assert "10.96.0.50" not in moved and moved.count(":53 {") == 2
