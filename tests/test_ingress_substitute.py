"""The substitute ingress controller's manifests (argo_tutorial_suite/backends/kind/ingress.py) take the tutorial's Ingresses
as ingress-nginx's kind provider would, read against that provider's deploy.yaml in ../shared/upstream."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from argo_tutorial_suite.backends.kind import ingress as sub

KIND_DEPLOY = (
    Path(__file__).resolve().parents[2]
    / "shared/upstream/ingress-nginx/controller-v1.5.1/deploy/static/provider/kind/deploy.yaml"
)


def test_it_runs_where_the_kind_provider_runs_and_takes_class_nginx() -> None:
    if not KIND_DEPLOY.exists():
        pytest.skip(f"{KIND_DEPLOY} is absent: the upstream reference copy is not beside the project")
    upstream = [d for d in yaml.safe_load_all(KIND_DEPLOY.read_text()) if d]
    up_dep = next(d for d in upstream if d["kind"] == "Deployment")
    up_pod = up_dep["spec"]["template"]["spec"]
    up_ports = {p["hostPort"] for p in up_pod["containers"][0]["ports"] if "hostPort" in p}
    up_class = next(d for d in upstream if d["kind"] == "IngressClass")["metadata"]["name"]

    objs = sub.manifests(sub.IMAGE)
    dep = next(o for o in objs if o["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    assert {p["hostPort"] for p in pod["containers"][0]["ports"]} == up_ports == {80, 443}
    assert pod["nodeSelector"] == up_pod["nodeSelector"]  # the kind provider's own
    klass = next(o for o in objs if o["kind"] == "IngressClass")
    assert klass["metadata"]["name"] == up_class == "nginx"
    assert klass["spec"]["controller"] == sub.CONTROLLER
    args = pod["containers"][0]["args"]
    assert "--providers.kubernetesingress.ingressclass=nginx" in args  # the deprecated annotation (as-written)
    assert "--publish-status-address=localhost" in up_pod["containers"][0]["args"]
    assert "--providers.kubernetesingress.ingressendpoint.hostname=localhost" in args  # the same status
    assert pod["containers"][0]["image"] == sub.IMAGE
    svc = next(o for o in objs if o["kind"] == "Service")  # what ACME HTTP-01 reaches, as ingress-nginx-controller
    named = {p["name"] for p in pod["containers"][0]["ports"]}
    assert {p["targetPort"] for p in svc["spec"]["ports"]} <= named
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


def test_the_note_names_the_substitute_and_never_reads_as_passed() -> None:
    note = sub.note(sub.IMAGE)
    assert note.startswith("not verified here") and sub.IMAGE in note
