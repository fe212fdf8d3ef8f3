"""Existing-cluster mode against an API server holding the real upstream Deployments (read-only checks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from argo_tutorial_suite.backends.sim.apiserver import ApiHTTPServer, kubeconfig, make_store
from argo_tutorial_suite.kube import Kube, api_client
from argo_tutorial_suite.live.cluster import ExistingCluster
from argo_tutorial_suite.live.inventory import ADMIN_SECRET
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts.waits import State

FILES = (
    ("argo-cd", "v2.6.3", "manifests/ha/install.yaml", "argocd"),
    ("argo-rollouts", "v1.4.1", "manifests/install.yaml", "argo-rollouts"),
    ("argo-events", "v1.7.5", "manifests/install.yaml", "argo-events"),
)


@pytest.fixture
def cluster(tmp_path: Path, upstream: Upstream) -> Iterator[tuple[ExistingCluster, Kube]]:
    srv = ApiHTTPServer(make_store()).start()
    kc = tmp_path / "kubeconfig"
    kc.write_text(kubeconfig(srv.url))
    kube = Kube(api_client(kc))
    for project, tag, path, ns in FILES:
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for o in upstream.load_all(project, tag, path):
            if o["kind"] in ("Deployment", "StatefulSet"):
                kube.apply(o, ns)
    yield ExistingCluster(kube, "kubectl", kc), kube
    srv.stop()


def ready(kube: Kube, ns: str) -> None:
    for kind in ("Deployment", "StatefulSet"):
        for o in kube.list("apps/v1", kind, ns):
            n = o["spec"].get("replicas", 1)
            status: dict[str, Any] = {
                "observedGeneration": o["metadata"]["generation"],
                "replicas": n,
                "readyReplicas": n,
                "updatedReplicas": n,
                "availableReplicas": n,
            }
            kube.patch("apps/v1", kind, o["metadata"]["name"], {"status": status}, ns, status=True)


def test_versions_from_the_real_images_and_health(cluster: tuple[ExistingCluster, Kube]) -> None:
    existing, kube = cluster
    ready(kube, "argocd")
    ready(kube, "argo-events")
    states = {s.component: s for s in existing.components()}
    assert states["argo-cd"].version == "v2.6.3" and states["argo-cd"].verdict == "healthy"
    assert states["argo-rollouts"].installed and states["argo-rollouts"].verdict == "not ready"  # no status yet
    assert states["argo-events"].version == "v1.7.5" and states["argo-events"].verdict == "healthy"
    assert states["cert-manager"].verdict == "missing" and states["ingress-nginx"].verdict == "missing"
    assert "no workload with image" in states["cert-manager"].health.detail


def test_admin_secret_presence_only(cluster: tuple[ExistingCluster, Kube]) -> None:
    existing, kube = cluster
    assert existing.admin_secret().state is State.FAILED
    ns, name = ADMIN_SECRET
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "data": {"password": "c2VjcmV0LXZhbHVl"},
        }
    )
    seen = existing.admin_secret()
    assert seen.state is State.OK and "c2VjcmV0" not in seen.detail and "secret-value" not in seen.detail


def test_read_only(cluster: tuple[ExistingCluster, Kube]) -> None:
    existing, kube = cluster
    before = {
        (o["metadata"]["namespace"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
        for o in kube.list("apps/v1", "Deployment")
    }
    existing.components()
    existing.admin_secret()
    after = {
        (o["metadata"]["namespace"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
        for o in kube.list("apps/v1", "Deployment")
    }
    assert before == after
