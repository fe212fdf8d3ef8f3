"""The Argo CD twin's refs cache (repo-server ``--revision-cache-expiration``): a comparison may resolve HEAD to
the commit from before a push until the cache expires; a forced resolve and argocd-server's sync do not."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from argo_tutorial_suite.backends.sim.twins.argocd import Source
from argo_tutorial_suite.backends.sim.world import Settings, World


def commit(repo: Path, text: str) -> str:
    (repo / "f").write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "f"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", text], check=True
    )
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(r)], check=True)
    return r


def source(tmp_path: Path, ttl: float) -> Source:
    procs = SimpleNamespace(dir=lambda name: tmp_path / name)
    return Source(cast(World, SimpleNamespace(settings=Settings(revision_cache=ttl), procs=procs)), "kubectl")


def test_a_cached_head_is_served_until_it_expires(tmp_path: Path, repo: Path) -> None:
    src = source(tmp_path, ttl=60.0)
    first = commit(repo, "1")
    assert src.resolve(str(repo), "HEAD", load=True) == first  # listed and stored
    second = commit(repo, "2")
    assert src.resolve(str(repo), "HEAD", load=True) == first  # the cache, from before the push
    assert src.resolve(str(repo), "main", load=True) == first
    src.world.settings.revision_cache = 0.0  # the entry is now older than the expiry
    assert src.resolve(str(repo), "HEAD", load=True) == second


def test_a_forced_resolve_lists_afresh_and_stores(tmp_path: Path, repo: Path) -> None:
    src = source(tmp_path, ttl=60.0)
    commit(repo, "1")
    src.resolve(str(repo), "HEAD", load=True)
    second = commit(repo, "2")
    assert src.resolve(str(repo), "HEAD", load=False) == second
    assert src.resolve(str(repo), "HEAD", load=True) == second


def test_the_servers_resolve_neither_reads_nor_stores(tmp_path: Path, repo: Path) -> None:
    src = source(tmp_path, ttl=60.0)
    first = commit(repo, "1")
    src.resolve(str(repo), "HEAD", load=True)
    second = commit(repo, "2")
    assert src.resolve(str(repo), "HEAD", store=False) == second
    assert src.resolve(str(repo), "HEAD", load=True) == first


def test_a_commit_sha_needs_no_lookup(tmp_path: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert source(tmp_path, 60.0).resolve("/nonexistent", sha, load=True) == sha


def test_an_unknown_ref_is_an_rpc_error(tmp_path: Path, repo: Path) -> None:
    commit(repo, "1")
    with pytest.raises(RuntimeError, match="unable to resolve 'nope'"):
        source(tmp_path, 60.0).resolve(str(repo), "nope")
