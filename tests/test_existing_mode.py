"""The live check on the simulated API server holding the real upstream Deployments (the pinned releases'
install manifests): versions read from the real images, health from their status, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from argo_tutorial_suite.backends.sim.apiserver import ApiHTTPServer, kubeconfig, make_store
from argo_tutorial_suite.kube import Kube, api_client
from argo_tutorial_suite.live import kubeconfig as live_kubeconfig
from argo_tutorial_suite.live import progress, snapshot
from argo_tutorial_suite.live.inventory import ADMIN_SECRET
from argo_tutorial_suite.live.progress import Reach
from argo_tutorial_suite.live.readonly import ReadOnlyKube
from argo_tutorial_suite.upstream import Upstream

FILES = (
    ("argo-cd", "v2.6.3", "manifests/ha/install.yaml", "argocd"),
    ("argo-rollouts", "v1.4.1", "manifests/install.yaml", "argo-rollouts"),
    ("argo-events", "v1.7.5", "manifests/install.yaml", "argo-events"),
)


@pytest.fixture
def sim_cluster(tmp_path: Path, upstream: Upstream) -> Iterator[tuple[Path, Kube]]:
    srv = ApiHTTPServer(make_store()).start()
    kc = tmp_path / "kubeconfig"
    kc.write_text(kubeconfig(srv.url))
    kube = Kube(api_client(kc))
    for project, tag, path, ns in FILES:
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for o in upstream.load_all(project, tag, path):
            if o["kind"] in ("Deployment", "StatefulSet"):
                kube.apply(o, ns)
    yield kc, kube
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


def steps(kc: Path) -> dict[str, progress.Step]:
    [target] = live_kubeconfig.read(kc)
    with ReadOnlyKube(target) as kube:
        snap = snapshot.read(target.name, kube)
    return {s.key: s for s in progress.steps(snap)}


def test_versions_from_the_real_images_and_health(sim_cluster: tuple[Path, Kube]) -> None:
    kc, kube = sim_cluster
    ready(kube, "argocd")
    ready(kube, "argo-events")
    s = steps(kc)
    assert s["install:argo-cd"].reach is Reach.REACHED and s["install:argo-cd"].detail.startswith("v2.6.3 ")
    assert "tutorial-2023: =" in s["install:argo-cd"].detail  # the tutorial's own release
    assert s["install:argo-rollouts"].reach is Reach.NOT_YET and "v1.4.1" in s["install:argo-rollouts"].detail
    assert s["install:argo-events"].reach is Reach.REACHED
    assert (
        s["install:cert-manager"].reach is Reach.NOT_YET
        and "no cert-manager controller" in s["install:cert-manager"].detail
    )


def test_admin_secret_by_name_only(sim_cluster: tuple[Path, Kube]) -> None:
    kc, kube = sim_cluster
    assert steps(kc)["admin-secret"].reach is Reach.NOT_YET
    ns, name = ADMIN_SECRET
    kube.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
                "data": {"password": "c2VjcmV0LXZhbHVl"}})  # fmt: skip
    s = steps(kc)["admin-secret"]
    assert s.reach is Reach.REACHED and "c2VjcmV0" not in repr(s) and "secret-value" not in repr(s)


def test_nothing_is_written(sim_cluster: tuple[Path, Kube]) -> None:
    kc, kube = sim_cluster

    def versions() -> set[tuple[str, str, str]]:
        return {
            (o["metadata"]["namespace"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
            for kind in ("Deployment", "StatefulSet")
            for o in kube.list("apps/v1", kind)
        }

    before = versions()
    steps(kc)
    assert versions() == before


def test_the_pytest_path_is_the_same_read_only_check(sim_cluster: tuple[Path, Kube], tmp_path: Path) -> None:
    """``pytest scenarios -m existing --kubeconfig``: whatever backend is asked for, nothing starts (no Docker:
    ``DOCKER=/bin/false``; no simulated world), one test per section, the board in the artifacts."""
    import os
    import subprocess
    import sys

    kc, kube = sim_cluster
    ready(kube, "argocd")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DOCKER": "/bin/false"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "scenarios",
            "-m",
            "existing",
            f"--kubeconfig={kc}",
            "--backend=sim",
            "-p",
            "no:cacheprovider",
            f"--artifacts={tmp_path / 'artifacts'}",
            "-q",
            "-rsf",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = r.stdout + r.stderr
    assert "[simulated]" not in out and "kind" not in out.lower().replace("kind:", "")
    assert r.returncode == 1, out  # argo-rollouts is not ready: the Install section fails
    assert "FAILED scenarios/test_existing_cluster.py::test_progress[Install]" in out
    assert (tmp_path / "artifacts" / "board.html").is_file()
