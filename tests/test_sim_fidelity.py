"""Each modelled upstream rule pinned against upstream's own test data in ../shared/upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from argo_tutorial_suite.backends.sim.twins import events, rollouts, workflows
from argo_tutorial_suite.paths import UPSTREAM
from argo_tutorial_suite.tutorial import payloads

ROLLOUT_CUSTOM = "resource_customizations/argoproj.io/Rollout"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} absent (../shared/upstream not here)")
    return path


def _load(path: Path) -> Any:
    return yaml.safe_load(_need(path).read_text())


def health_cases() -> list[tuple[str, str, str, str]]:
    out = []
    for tag in ("v2.6.3", "v3.5.1"):
        base = UPSTREAM / "argo-cd" / tag / ROLLOUT_CUSTOM
        if not (base / "health_test.yaml").exists():
            continue
        for t in yaml.safe_load((base / "health_test.yaml").read_text())["tests"]:
            obj = yaml.safe_load((base / t["inputPath"]).read_text())
            if (obj.get("status") or {}).get("phase") is None and "Waiting for rollout spec update" not in t[
                "healthStatus"
            ].get("message", ""):
                continue  # legacy (pre-v1.0) Rollouts: not modelled, and not what the tutorial installs
            out.append((tag, t["inputPath"], t["healthStatus"]["status"], t["healthStatus"].get("message", "")))
    return out


@pytest.mark.parametrize(("tag", "input_path", "status", "message"), health_cases())
def test_argocd_rollout_health_matches_health_test_yaml(tag: str, input_path: str, status: str, message: str) -> None:
    obj = _load(UPSTREAM / "argo-cd" / tag / ROLLOUT_CUSTOM / input_path)
    assert rollouts.argocd_health(obj) == (status, message or "")


def test_health_cases_found() -> None:
    if not (UPSTREAM / "argo-cd").exists():
        pytest.skip("../shared/upstream absent")
    assert len(health_cases()) >= 10


@pytest.mark.parametrize("tag", ["v2.6.3", "v3.5.1"])
def test_resume_action_matches_action_test_yaml(tag: str) -> None:
    base = UPSTREAM / "argo-cd" / tag / ROLLOUT_CUSTOM / "actions"
    cases = [t for t in _load(base / "action_test.yaml")["actionTests"] if t["action"] == "resume"]
    assert cases
    for t in cases:
        got = rollouts.resume_action(yaml.safe_load((base / t["inputPath"]).read_text()))
        want = yaml.safe_load((base / t["expectedOutputPath"]).read_text())
        assert _strip_nulls(got) == _strip_nulls(want), t["inputPath"]


def _strip_nulls(o: dict[str, Any]) -> dict[str, Any]:
    return {**o, "status": {k: v for k, v in (o.get("status") or {}).items() if v is not None}}


def test_phase_of_the_upstream_paused_bluegreen_sample() -> None:
    ro = _load(
        UPSTREAM
        / "samples/argo-rollouts/v1.4.1/pkg/kubectl-argo-rollouts/info/testdata/blue-green/bluegreen-rollout.yaml"
    )
    assert rollouts.calculate_phase(ro) == ("Paused", "BlueGreenPause")
    ro["status"]["pauseConditions"] = None
    ro["status"]["blueGreen"]["activeSelector"] = ro["status"]["currentPodHash"]
    ro["status"]["stableRS"] = ro["status"]["currentPodHash"]
    ro["status"]["updatedReplicas"] = ro["status"]["availableReplicas"] = ro["spec"]["replicas"]
    assert rollouts.calculate_phase(ro) == ("Healthy", "")


def test_invalid_spec_is_degraded() -> None:
    ro: dict[str, Any] = {"spec": {"replicas": 1}, "status": {"conditions": [{"type": "InvalidSpec", "message": "x"}]}}
    assert rollouts.calculate_phase(ro)[0] == "Degraded"


def test_sensor_template_on_github_and_bitbucket_payloads() -> None:
    """D18: the tutorial's dataTemplate on a GitHub push fails as Go's text/template does."""
    tmpl = '"{{ (index .Input.body.push.changes 0).new.target.hash | substr 0 7 }}"'
    _, gh = payloads.github_push("a" * 40)
    _, bb = payloads.bitbucket_push("b" * 40)
    with pytest.raises(Exception, match="index of untyped nil"):
        events.resolve_param({"dataTemplate": tmpl, "dependencyName": "ci"}, {"header": {}, "body": gh})
    assert events.resolve_param({"dataTemplate": tmpl}, {"header": {}, "body": bb}) == '"bbbbbbb"'
    assert (
        events.resolve_param({"dataTemplate": "{{ .Input.body.after | substr 0 7 }}"}, {"header": {}, "body": gh})
        == "aaaaaaa"
    )


def test_data_filter_matches_the_canonical_header_list() -> None:
    """``filter.go``: gjson path on the event data; type string = unanchored regexp on the result's text."""
    dep = {"filters": {"data": [{"path": "header.X-Github-Event", "type": "string", "value": ["push"]}]}}
    assert events.filters_pass(dep, {"header": {"X-Github-Event": ["push"]}, "body": {}})[0]
    assert not events.filters_pass(dep, {"header": {"X-Event-Key": ["repo:push"]}, "body": {}})[0]
    assert not events.filters_pass(dep, {"header": {"X-Github-Event": ["ping"]}, "body": {}})[0]


def test_sjson_set_paths() -> None:
    obj: dict[str, Any] = {"spec": {"templates": [{}, {"inputs": {"parameters": [{"name": "tag"}]}}]}}
    events.sjson_set(obj, "spec.templates.1.inputs.parameters.0.value", "abc")
    assert obj["spec"]["templates"][1]["inputs"]["parameters"][0] == {"name": "tag", "value": "abc"}


def test_workflow_node_and_pod_names() -> None:
    """``NodeID`` is ``<wf>-<fnv32a(name)>``; POD_NAMES v2 is ``<wf>-<template>-<same hash>``."""
    assert workflows.fnv32a("") == 2166136261
    assert workflows.fnv32a("a") == 0xE40C292C
    nid = workflows.node_id("ci-abcde", "ci-abcde.image")
    assert workflows.pod_name("ci-abcde", "image", "ci-abcde.image") == f"ci-abcde-image-{nid.rsplit('-', 1)[1]}"
    assert workflows.depends_on({"depends": "image && update-gitops"}) == ["image", "update-gitops"]


def test_ssh_key_is_parsed_before_the_clone() -> None:
    """argo-workflows ``git.go`` ``auth()`` runs ``ssh.ParsePrivateKey`` first: the tutorial's placeholder key
    fails there ("ssh: no key found", what Go's ``pem.Decode`` gives for a body that is not base64), and only a
    key that parses reaches go-git, where an https URL gives "invalid auth method"."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from argo_tutorial_suite.paths import MANIFESTS

    docs = list(yaml.safe_load_all((MANIFESTS / "tutorial/ci/ci.yaml").read_text()))
    secret = next(d for d in docs if d and d.get("kind") == "Secret" and d["metadata"]["name"] == "git-ssh-key")
    tutorial_key = base64.b64decode(secret["data"]["private-key"])
    assert workflows.parse_private_key(tutorial_key) == "ssh: no key found"
    real = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    assert workflows.parse_private_key(real) is None
    cert = workflows.parse_private_key(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert (cert or "").startswith("ssh: unsupported key type")
    broken = b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    assert (workflows.parse_private_key(broken) or "").startswith("ssh: ")


def test_ingress_serves_a_secret_only_for_the_hosts_it_names(tmp_path: Path) -> None:
    """ingress-nginx keeps the fake certificate for a host the TLS secret's certificate does not name (D14's
    second host), instead of serving a certificate for another name."""
    from argo_tutorial_suite.backends.sim.twins.ingress import cert_covers
    from argo_tutorial_suite.backends.tls import self_signed

    crt, _ = self_signed("app", ["my-awesome-app.argo-tutorial.test", "*.wild.test"], tmp_path)
    pem = crt.read_bytes()
    assert cert_covers(pem, "my-awesome-app.argo-tutorial.test")
    assert not cert_covers(pem, "my-awesome-app-preview.argo-tutorial.test")
    assert (
        cert_covers(pem, "a.wild.test") and not cert_covers(pem, "a.b.wild.test") and not cert_covers(pem, "wild.test")
    )


@pytest.mark.parametrize(
    ("status", "health"),
    [
        (
            {"conditions": [{"type": "Ready", "status": "False", "message": "Failed to register ACME account"}]},
            "Degraded",
        ),
        (
            {"conditions": [{"type": "Ready", "status": "True", "message": "The ACME account was registered"}]},
            "Healthy",
        ),
        ({}, "Progressing"),
    ],
)
def test_issuer_health_follows_argo_cds_lua(status: dict[str, Any], health: str) -> None:
    """``resource_customizations/cert-manager.io/Issuer/health.lua``: Ready False -> Degraded, True -> Healthy,
    else Progressing "Initializing issuer" (the app is as Degraded as its worst resource)."""
    from argo_tutorial_suite.backends.sim.twins.argocd import resource_health

    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "x"}, "status": status}
    assert resource_health(None, issuer, issuer)[0] == health  # type: ignore[arg-type]


def test_ingress_health_waits_for_the_published_address() -> None:
    """gitops-engine ``health_ingress.go``: Progressing until ``status.loadBalancer.ingress`` is set (ingress-nginx's
    kind provider publishes ``localhost``)."""
    from argo_tutorial_suite.backends.sim.twins.argocd import resource_health

    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "x"}}
    assert resource_health(None, ing, ing)[0] == "Progressing"  # type: ignore[arg-type]
    ing["status"] = {"loadBalancer": {"ingress": [{"hostname": "localhost"}]}}
    assert resource_health(None, ing, ing)[0] == "Healthy"  # type: ignore[arg-type]


def test_traefik_serves_no_route_of_an_ingress_whose_tls_secret_is_missing() -> None:
    """Traefik's Ingress NGINX provider (kubernetes.go at v3.6.12: a loadCertificates error skips the Ingress) does
    not route an Ingress whose TLS Secret is missing; ingress-nginx serves it with its fake certificate."""
    from argo_tutorial_suite.backends.sim.twins.ingress import route, tls_secrets_missing

    ing = {
        "metadata": {"name": "ci", "namespace": "ci"},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["webhook.test"], "secretName": "letsencrypt-tls"}],
            "rules": [{"host": "webhook.test", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "es", "port": {"number": 12000}}}}
            ]}}],
        },
    }  # fmt: skip
    secrets: set[tuple[str, str]] = set()

    def missing(i: dict[str, object]) -> bool:
        return tls_secrets_missing(i, lambda ns, name: (ns, name) in secrets)

    assert route([ing], "webhook.test", "/health") is not None  # ingress-nginx
    assert route([ing], "webhook.test", "/health", missing) is None  # Traefik, before the certificate is issued
    secrets.add(("ci", "letsencrypt-tls"))
    assert route([ing], "webhook.test", "/health", missing) is not None  # Traefik, once it is
