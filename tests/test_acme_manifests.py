"""The in-cluster Pebble of the kind backend (rendered offline)."""

from __future__ import annotations

import json

from fixtures import acme


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
