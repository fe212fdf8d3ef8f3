"""The static scenarios as a user runs them: ``pytest scenarios -m static --manifests-dir DIR``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fixtures.paths import ROOT


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
    assert "D10 KUSTOMIZE-MISSING-FILE" in proc.stdout
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
