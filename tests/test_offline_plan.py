"""What a run with no download leaves out (argo_tutorial_suite/backends/kind/offline.py), on the tutorial's and the on-top plans."""

from __future__ import annotations

from pathlib import Path

import yaml

from argo_image_refs import parse_ref
from argo_tutorial_suite.backends.kind import offline as op
from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.tutorial.images import cert_manager_images
from argo_tutorial_suite.tutorial.installplan import InstallPlan, step_component


def test_missing_images_per_component() -> None:
    got = op.missing_images(
        {"argo-cd": ["quay.io/argoproj/argocd:v2.6.3", "redis:7.0.7-alpine"], "argo-rollouts": ["quay.io/argoproj/argo-rollouts:v1.4.1"]},
        {"quay.io/argoproj/argocd:v2.6.3", "docker.io/library/redis:7.0.7-alpine"},
    )  # fmt: skip
    assert got == {"argo-rollouts": ["quay.io/argoproj/argo-rollouts:v1.4.1"]}


def test_step_and_command_components() -> None:
    assert step_component("Install start argo-events") == "argo-events"
    assert step_component("Show the admin password") is None
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


def test_cert_manager_stand_in_is_the_newest_release_built_here(tmp_path: Path) -> None:
    url = "https://github.com/cert-manager/cert-manager/releases/download/{}/cert-manager.yaml"
    sources = {url.format(v): (tmp_path / f"{v}.yaml", "helm template") for v in ("v1.10.1", "v1.11.0", "v1.21.1")}
    built = {parse_ref(r).tagged for v in ("v1.10.1", "v1.11.0") for r in cert_manager_images(v)}
    stand = op.cert_manager_stand_in("v1.21.1", sources, built, "no cmd/controller")
    assert stand is not None and (stand.version, stand.manifest) == ("v1.11.0", tmp_path / "v1.11.0.yaml")
    assert stand.note().startswith("not verified here (cert-manager v1.21.1 substituted: v1.11.0 stands in")
    assert "no cmd/controller" in stand.note()
    # one image of v1.11.0 missing: the older complete release stands in; none complete: no stand-in
    partial = built - {parse_ref(cert_manager_images("v1.11.0")[0]).tagged}
    got = op.cert_manager_stand_in("v1.21.1", sources, partial, "")
    assert got is not None and got.version == "v1.10.1"
    assert op.cert_manager_stand_in("v1.21.1", sources, set(), "") is None
    assert op.cert_manager_stand_in("v1.21.1", {}, built, "") is None
