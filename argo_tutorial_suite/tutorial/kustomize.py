"""Render a kustomization with the kustomize built into kubectl (``kubectl kustomize DIR``)."""

from __future__ import annotations

import os
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


ORIGIN = "config.kubernetes.io/origin"


@dataclass
class Origin:
    """Where kustomize took an object from: a file under the built directory (``path``, relative to it), or
    nothing known (a remote resource, a generator, or a kustomize without ``buildMetadata``)."""

    path: Path | None  # absolute


def build_with_origins(
    directory: Path, kubectl: str | None = None, timeout: float = 60
) -> tuple[BuildResult, list[Origin]]:
    """Build as :func:`build` does, and say which file each object came from: the directory is built through a
    wrapper kustomization with ``buildMetadata: [originAnnotations]`` (kustomize v4.5.4+, kubectl 1.24+), whose
    annotation is then removed; where that does not build, the plain build (and its error) stands."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="argo-suite-origin-") as tmp:
        rel = os.path.relpath(directory.resolve(), tmp)
        (Path(tmp) / "kustomization.yaml").write_text(
            yaml.safe_dump({"resources": [rel], "buildMetadata": ["originAnnotations"]})
        )
        wrapped = build(Path(tmp), kubectl, timeout)
        base = tmp
    if wrapped.error:
        plain = build(directory, kubectl, timeout)
        return plain, [Origin(None) for _ in plain.objects]
    origins: list[Origin] = []
    for o in wrapped.objects:
        meta: dict[str, object] = o["metadata"] if isinstance(o.get("metadata"), dict) else {}
        notes = meta.get("annotations")
        raw = notes.pop(ORIGIN, None) if isinstance(notes, dict) else None
        if notes == {}:
            del meta["annotations"]
        origins.append(Origin(_origin_path(raw, base)))
    return wrapped, origins


def _origin_path(raw: object, base: str) -> Path | None:
    try:
        data = yaml.safe_load(str(raw)) if raw else None
    except yaml.YAMLError:
        return None
    path = data.get("path") if isinstance(data, dict) and not data.get("repo") else None
    if not isinstance(path, str):
        return None
    return Path(os.path.normpath(os.path.join(base, path)))
