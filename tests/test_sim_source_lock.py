"""The Argo CD twin renders a repository's revisions one at a time (repo-server's per-repository lock), so two
callers rendering different revisions never see each other's half-done checkout."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from argo_tutorial_suite.backends.sim.twins.argocd import Source

KUSTOMIZATION = "resources:\n  - {name}\n"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def _commit(repo: Path, name: str) -> str:
    for p in repo.glob("*.yaml"):
        p.unlink()
    (repo / "kustomization.yaml").write_text(KUSTOMIZATION.format(name=f"{name}.yaml"))
    (repo / f"{name}.yaml").write_text(CM.format(name=name))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", name], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def test_concurrent_renders_of_two_revisions_are_each_whole(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH (it renders kustomizations)")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    shas = [_commit(repo, "first"), _commit(repo, "second")]
    world: Any = SimpleNamespace(procs=SimpleNamespace(dir=lambda name: tmp_path / name))
    (tmp_path / "argocd-repos").mkdir()
    source = Source(world, kubectl)
    errors: list[str] = []

    def render(i: int) -> None:
        for n in range(6):
            sha = shas[(i + n) % 2]
            try:
                objs = source.render(str(repo), sha, ".")
                want = "first" if sha == shas[0] else "second"
                if [o["metadata"]["name"] for o in objs] != [want]:
                    errors.append(f"{sha[:7]} rendered {objs}")
            except Exception as e:  # any failure of a render is what this test looks for
                errors.append(f"{type(e).__name__}: {str(e)[:200]}")

    threads = [threading.Thread(target=render, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
