"""Render a kustomization with the kustomize built into kubectl (``kubectl kustomize DIR``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from argo_tutorial_suite.objects import Obj


class ToolMissing(RuntimeError):
    """A binary the suite needs is not on PATH."""


@dataclass
class BuildResult:
    objects: list[Obj]
    error: str  # empty on success


def kubectl_binary(explicit: str | None = None) -> str:
    """Find kubectl: an explicit path, else PATH; fail with the fix when absent."""
    if explicit:
        if not Path(explicit).is_file():
            raise ToolMissing(f"kubectl not found at {explicit} (from --kubectl or KUBECTL)")
        return explicit
    found = shutil.which("kubectl")
    if not found:
        raise ToolMissing(
            "kubectl is not on PATH; it is needed to render kustomizations "
            "(install it: https://kubernetes.io/docs/tasks/tools/ , or pass --kubectl PATH)"
        )
    return found


def build(directory: Path, kubectl: str | None = None, timeout: float = 60) -> BuildResult:
    """Run ``kubectl kustomize`` on a directory; a failed build is data, not an exception."""
    exe = kubectl_binary(kubectl)
    proc = subprocess.run(
        [exe, "kustomize", str(directory)], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        # kustomize names the temporary absolute path; keep the message readable and portable.
        err = proc.stderr.strip().replace(str(directory.resolve()) + "/", "").replace(str(directory) + "/", "")
        m = re.search(r'err="(.*)"\s*$', err, re.S)  # kubectl wraps kustomize's error in a klog line
        return BuildResult([], (m.group(1) if m else err) or f"kubectl kustomize exited {proc.returncode}")
    return BuildResult([d for d in yaml.safe_load_all(proc.stdout) if isinstance(d, dict)], "")
