"""The nightly GitHub workflow, checked offline: schema (SchemaStore's github-workflow, vendored by
check-jsonschema) and what the users need from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from argo_tutorial_suite.paths import ROOT
from argo_tutorial_suite.tutorial.profiles import PINS, PROFILES

WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def steps(job: str) -> list[dict[str, Any]]:
    return list(workflow()["jobs"][job]["steps"])


def run_lines(job: str) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def tool(name: str) -> str | None:
    """A console script of the running interpreter's environment (a tox venv need not be activated), else PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def test_schema() -> None:
    exe = tool("check-jsonschema")
    if exe is None:
        pytest.fail("check-jsonschema is not installed (it is a dev dependency: pip install -e .[dev])")
    cp = subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)], capture_output=True, text=True, check=False
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_both_profiles_on_kind_with_the_cluster_required() -> None:
    job = workflow()["jobs"]["tutorial"]
    assert sorted(job["strategy"]["matrix"]["profile"]) == sorted(PROFILES)
    assert sorted(job["strategy"]["matrix"]["pins"]) == sorted(PINS), "kind v0.17.0 and v0.30.0 both run nightly"
    lines = run_lines("tutorial")
    assert "pytest scenarios" in lines and "--require-cluster" in lines, "a nightly run must not pass by skipping"
    assert "fs.inotify.max_user_watches=524288" in lines and "fs.inotify.max_user_instances=512" in lines
    assert "scripts/pinned-tools.py" in lines


def test_artifacts_cache_and_summary() -> None:
    s = steps("tutorial")
    restore = [x for x in s if str(x.get("uses", "")).startswith("actions/cache/restore@")]
    save = [x for x in s if str(x.get("uses", "")).startswith("actions/cache/save@")]
    assert restore and ".pytest-kind/*/images" in restore[0]["with"]["path"]
    # saved also after a red run, so a failing nightly still warms the cache
    assert (
        save
        and str(save[0].get("if", "")).startswith("always()")
        and save[0]["with"]["path"] == restore[0]["with"]["path"]
    )
    upload = [x for x in s if str(x.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload and upload[0].get("if") == "always()" and upload[0]["with"]["path"].startswith("artifacts")
    summary = [x for x in s if "GITHUB_STEP_SUMMARY" in str(x.get("run", ""))]
    assert summary and summary[0].get("if") == "always()" and "verdicts.md" in summary[0]["run"]
    assert "--junitxml=artifacts/junit.xml" in run_lines("tutorial")


def test_drift_job_resolves_floating_refs_for_both_pins() -> None:
    job = workflow()["jobs"]["drift"]
    assert sorted(job["strategy"]["matrix"]["pins"]) == sorted(PINS)
    lines = run_lines("drift")
    assert "--resolve-floating" in lines and "-m static" in lines and "drift.md" in lines


@pytest.mark.parametrize("pins", PINS)
def test_pinned_tools_script(pins: str) -> None:
    cp = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pinned-tools.py"), pins], capture_output=True, text=True, check=True
    )
    lines = cp.stdout.splitlines()
    assert len(lines) == 2 and "kind.sigs.k8s.io/dl/" in lines[0] and "dl.k8s.io/release/" in lines[1]
    bad = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pinned-tools.py"), "nope"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "usage" in bad.stderr
