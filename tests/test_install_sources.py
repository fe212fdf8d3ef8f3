"""Install manifests without a download (argo_tutorial_suite/backends/kind/install_sources.py), on the reference copy in ../shared/upstream."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from argo_tutorial_suite.backends.install import CommandOutcome, StepOutcome, not_applied, not_installed
from argo_tutorial_suite.backends.kind.install_sources import localize, source_objects
from argo_tutorial_suite.tutorial.images import images_in
from argo_tutorial_suite.upstream import Upstream

SHARED = Path(__file__).resolve().parents[2] / "shared" / "upstream"
ROLLOUTS = "https://github.com/argoproj/argo-rollouts/releases/download/v1.4.1/install.yaml"
INGRESS = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.5.1/deploy/static/provider/kind/deploy.yaml"


@pytest.fixture(scope="module")
def upstream() -> Upstream:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the upstream reference copy is not beside the project")
    return Upstream(SHARED, cache_dir=Path("/nonexistent-cache"))


def test_rollouts_release_asset_is_the_tree_file_with_the_tag(upstream: Upstream) -> None:
    got = source_objects(ROLLOUTS, upstream)
    assert got is not None
    objs, where = got
    assert images_in(objs) == ["quay.io/argoproj/argo-rollouts:v1.4.1"]
    assert "argo-rollouts/v1.4.1/manifests/install.yaml" in where and ":latest set to v1.4.1" in where


def test_unknown_or_absent_urls_have_no_local_source(upstream: Upstream) -> None:
    assert source_objects("https://example.invalid/x.yaml", upstream) is None
    absent = "https://github.com/cert-manager/cert-manager/releases/download/v1.11.0/cert-manager.yaml"
    assert source_objects(absent, upstream) is None  # a release asset the reference copy does not hold


def test_localize_rewrites_the_command_and_only_built_digests(upstream: Upstream, tmp_path: Path) -> None:
    run = f"kubectl apply -f {INGRESS} && kubectl apply -n argo-rollouts -f {ROLLOUTS}"
    new, done = localize(run, upstream, tmp_path, {"registry.k8s.io/ingress-nginx/controller:v1.5.1"})
    assert "https://" not in new
    assert [d.url for d in done] == [INGRESS, ROLLOUTS]
    written = list(yaml.safe_load_all(done[0].path.read_text()))
    imgs = images_in(written)
    assert "registry.k8s.io/ingress-nginx/controller:v1.5.1" in imgs
    assert any("kube-webhook-certgen" in i and "@sha256:" in i for i in imgs)
    assert "a local build cannot match the upstream digest" in done[0].note()
    assert not done[1].rewrites


def test_not_installed_names_only_steps_where_nothing_ran() -> None:
    outcomes = [
        StepOutcome("Install start argo-cd", [CommandOutcome("Install start argo-cd", 0, "kubectl ...", "ok")], 1.0),
        StepOutcome(
            "Install start argo-events",
            [
                CommandOutcome("Install start argo-events", i, "kubectl ...", "not-run", note="not built")
                for i in (0, 1)
            ],
            0.0,
        ),
        StepOutcome("Show the admin password", [CommandOutcome("Show", 0, "x &", "not-run", note="bg")], 0.0),
    ]
    assert not_installed(outcomes) == {"argo-events": "not built"}


def test_not_applied_names_steps_whose_apply_did_not_run() -> None:
    """Seen on kind (current pins): ``kubectl create namespace argo`` ran, the apply of v4.1.2's install.yaml had
    no local copy; the component wait then waited for a controller nothing had created."""
    title = "Install start argo-workflows"
    url = "https://github.com/argoproj/argo-workflows/releases/download/v4.1.2/install.yaml"
    outcomes = [
        StepOutcome(title, [CommandOutcome(title, 0, "kubectl create namespace argo", "ok"),
                            CommandOutcome(title, 1, f"kubectl apply -n argo -f {url}", "not-run", note="no local copy"),
                            CommandOutcome(title, 2, "kubectl -n argo wait --for=condition=Available deployment --all",
                                           "ok")], 1.0),
        StepOutcome("Install start argo-cd", [CommandOutcome("Install start argo-cd", 0, "kubectl apply -f x", "ok")], 1.0),
        StepOutcome("Show the admin password", [CommandOutcome("Show", 0, "kubectl apply x &", "not-run", note="bg")], 0.0),
    ]  # fmt: skip
    assert not_applied(outcomes) == {"argo-workflows": "no local copy"}
    assert not_installed(outcomes) == {}  # something of the step ran


def test_workflows_release_asset_is_the_kustomized_cluster_install(upstream: Upstream) -> None:
    got = source_objects("https://github.com/argoproj/argo-workflows/releases/download/v3.4.4/install.yaml", upstream)
    assert got is not None
    objs, where = got
    assert sorted(images_in(objs)) == ["quay.io/argoproj/argocli:v3.4.4", "quay.io/argoproj/workflow-controller:v3.4.4"]
    assert sum(1 for o in objs if o.get("kind") == "CustomResourceDefinition") == 8
    assert all((o.get("metadata") or {}).get("namespace") in (None, "argo") for o in objs)
    assert "cluster-install" in where
