"""What a run with no download leaves out (fixtures/offlineplan.py), on the tutorial's and the on-top plans."""

from __future__ import annotations

import yaml

from fixtures import offlineplan as op
from fixtures.installplan import InstallPlan
from fixtures.paths import MANIFESTS


def test_missing_images_per_component() -> None:
    got = op.missing_images(
        {"argo-cd": ["quay.io/argoproj/argocd:v2.6.3", "redis:7.0.7-alpine"], "argo-rollouts": ["quay.io/argoproj/argo-rollouts:v1.4.1"]},
        {"quay.io/argoproj/argocd:v2.6.3", "docker.io/library/redis:7.0.7-alpine"},
    )  # fmt: skip
    assert got == {"argo-rollouts": ["quay.io/argoproj/argo-rollouts:v1.4.1"]}


def test_step_and_command_components() -> None:
    assert op.step_component("Install start argo-events") == "argo-events"
    assert op.step_component("Show the admin password") is None
    assert op.command_components("kubectl -n argo-events wait --for=condition=Available deployment --all") == {
        "argo-events"
    }
    assert op.command_components("kubectl --namespace=cert-manager get pods") == {"cert-manager"}
    url = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.5.1/deploy/static/provider/kind/deploy.yaml"
    assert op.command_components(f"kubectl apply -f {url}") == {"ingress-nginx"}
    assert op.command_components("kubectl get nodes") == set()


def test_every_on_top_command_maps_to_the_component_it_waits_on() -> None:
    """The as-written run's extra steps: each wait or apply names its component, so a component left out
    leaves out its commands (and nothing else)."""
    plan = InstallPlan.from_data(yaml.safe_load((MANIFESTS / "workarounds" / "install-on-top.yaml").read_text()))
    for cmd in plan.commands():
        assert len(op.command_components(cmd.run)) == 1, cmd.run
