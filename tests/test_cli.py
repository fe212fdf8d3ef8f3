"""The static scenarios as a user runs them: ``pytest scenarios -m static --manifests-dir DIR``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from argo_tutorial_suite.paths import ROOT


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios", "-m", "static", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_participant_dir_with_defects_fails_readably(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [service_preview.yaml]\n")
    (tmp_path / "service-preview.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: p, namespace: default}\n"
    )
    (tmp_path / "broken.yaml").write_text("a: [\n")
    proc = _pytest("--manifests-dir", str(tmp_path))
    assert proc.returncode == 1, proc.stdout
    assert "KUSTOMIZE-MISSING-FILE (D10)" in proc.stdout  # the tutorial's own defect, reproduced
    assert "the file is named service-preview.yaml" in proc.stdout
    assert "YAML-MALFORMED broken.yaml" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_clean_participant_dir_passes(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n")
    proc = _pytest("--manifests-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert "1 passed" in proc.stdout


def test_missing_dir_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest("--manifests-dir", str(tmp_path / "nope"))
    assert proc.returncode == 4
    assert "no such directory" in proc.stderr


EXISTING = "scenarios/test_existing_cluster.py"


def _pytest_cluster(
    *args: str, env: dict[str, str] | None = None, target: str = "scenarios/test_install.py"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", target, "-p", "no:cacheprovider", "-rs", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "DOCKER": "/bin/false", **(env or {})},
    )


def test_cluster_scenarios_that_cannot_run_fail_naming_the_reason_once() -> None:
    """The main job without an engine is red, not "passed with skips"; the reason and its fix, once, at the end."""
    proc = _pytest_cluster("--profile", "corrected", "--pins", "current")
    assert proc.returncode == 1, proc.stdout
    assert "1 error" in proc.stdout.splitlines()[-1] and "passed" not in proc.stdout.splitlines()[-1]
    assert proc.stdout.count("no container engine") == 1, proc.stdout
    assert "cluster scenarios not run (1)" in proc.stdout and "--backend=sim" in proc.stdout


def test_cluster_scenarios_skip_only_when_asked() -> None:
    proc = _pytest_cluster("--profile", "corrected", "--pins", "current", "--allow-skip")
    assert proc.returncode == 0, proc.stdout
    assert "1 skipped" in proc.stdout and proc.stdout.count("no container engine") == 1
    env_proc = _pytest_cluster("--profile", "corrected", "--pins", "current", env={"ARGO_SUITE_ALLOW_SKIP": "1"})
    assert env_proc.returncode == 0, env_proc.stdout
    # a required cluster is never skipped
    req = _pytest_cluster("--profile", "corrected", "--pins", "current", "--allow-skip", "--require-cluster")
    assert req.returncode == 1, req.stdout


def test_the_reason_is_printed_once_under_xdist() -> None:
    proc = _pytest_cluster("--pins", "current", "-n", "2")
    assert proc.returncode == 1, proc.stdout
    assert proc.stdout.count("no container engine") == 1, proc.stdout
    assert "cluster scenarios not run (2)" in proc.stdout


def test_missing_kubeconfig_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest_cluster("--kubeconfig", str(tmp_path / "nope"))
    assert proc.returncode == 4
    assert "no such file" in proc.stderr


def test_broken_kubeconfig_names_the_contexts(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: a, context: {cluster: a, user: a}}]\nusers: [{name: a, user: {token: t}}]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios/test_existing_cluster.py", "-p", "no:cacheprovider", "-rs",
         "--kubeconfig", str(kc), "--kube-context", "workshop"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "context workshop" in proc.stdout and "contexts in it: a" in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "is a binary file, not a kubeconfig"),
        (b"hello world\n", "is YAML but not a kubeconfig"),
        (b"key: [unclosed\n", "is not valid YAML at line 2"),
    ],
)
def test_a_bad_kubeconfig_is_one_line_naming_the_file(tmp_path: Path, content: bytes, says: str) -> None:
    kc = tmp_path / "config"
    kc.write_bytes(content)
    proc = _pytest_cluster("-m", "existing", "--kubeconfig", str(kc), target=EXISTING)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"ERROR: --kubeconfig {kc} {says}"), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_server_that_does_not_answer_is_one_line_per_test(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: a, context: {cluster: a, user: a}}]\nusers: [{name: a, user: {token: t}}]\n"
    )
    proc = _pytest_cluster("-m", "existing", "--kubeconfig", str(kc), target=EXISTING)
    assert proc.returncode != 0
    assert f"kubeconfig {kc}: server https://127.0.0.1:1 does not answer (Connection refused)" in proc.stdout
    assert "Traceback" not in proc.stdout and "urllib3" not in proc.stdout and len(proc.stdout.splitlines()) < 40


def test_an_unrelated_folder_gets_no_tutorial_defect_ids(tmp_path: Path) -> None:
    """A failing kustomization in somebody else's folder is reported once, and without the tutorial's D10."""
    (tmp_path / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    proc = _pytest("--manifests-dir", str(tmp_path))
    assert proc.returncode == 1, proc.stdout
    assert "KUSTOMIZE-MISSING-FILE" in proc.stdout and "D10" not in proc.stdout.split("tutorial verdict")[0]
    assert "KUSTOMIZE-BUILD" not in proc.stdout.split("tutorial verdict")[0]


def test_a_secret_value_is_never_printed(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\nstringData:\n  token: [ghp_LEAKME123]\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: default}\nspec:\n"
        "  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n    spec:\n"
        "      containers: [{name: c, image: 'nginx:1.25', env: [{name: API_TOKEN, value: ghp_ENVLEAK456}]}]\n"
    )
    (tmp_path / "blob.yaml").write_bytes(b"\x00\x01\x02")
    proc = _pytest("--manifests-dir", str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "ghp_LEAKME123" not in out and "ghp_ENVLEAK456" not in out
    assert "ENV-CREDENTIAL" in out and "FILE-BINARY" in out and "fix: remove it from the folder" in out
    assert "Finding(" not in out and "def test_" not in out  # a report, not a pytest crash
