"""What ``scripts/offline-images`` built for a pins set, as the kind backend uses it (read side).

The manifest (``<offline dir>/manifests/<pins>.json``) names the node image built here, the kind and kubectl
binaries at the pinned versions, the images the cluster needs besides the node (the local registry, the git
server's base), and every difference from what users pull. The backend uses a local build only when the
image ID it records is the one Docker has now, so a stale tag is never taken for the build it describes.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def default_root() -> Path:
    """Where the offline image builder writes (its own convention: ``$ARGO_SUITE_OFFLINE_DIR``, else
    ``$XDG_CACHE_HOME/argo-suite/offline``, else ``~/.cache/argo-suite/offline``)."""
    env = os.environ.get("ARGO_SUITE_OFFLINE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "argo-suite" / "offline"


class LocalBuildError(ValueError):
    """A manifest that cannot be used; the message says which and how to rebuild it."""


@dataclass(frozen=True)
class LocalBuild:
    pins: str
    path: Path
    data: dict[str, Any]

    @property
    def node_image(self) -> str:
        return str(self.data["node_image"]["ref"])

    def tool(self, name: str) -> str | None:
        p = self.data.get("tools", {}).get(name)
        return str(p) if p and Path(p).exists() else None

    def image(self, role: str) -> dict[str, Any] | None:
        for i in self.data.get("images", []):
            if i.get("role") == role:
                return dict(i)
        return None

    @property
    def stack_images(self) -> list[dict[str, Any]]:
        """The stack's images built here (``scripts/offline-images --pins NAME``; ``[]`` with ``--only node``)."""
        return list((self.data.get("stack") or {}).get("images", []))

    @property
    def install_sources(self) -> dict[str, tuple[Path, str]]:
        """URL -> (file, how it was made): release manifests the offline build rendered."""
        out = {}
        for src in (self.data.get("stack") or {}).get("install_sources", []):
            if Path(src["path"]).is_file():
                out[src["url"]] = (Path(src["path"]), str(src["how"]))
        return out

    @property
    def stack_not_built(self) -> list[dict[str, str]]:
        stack = self.data.get("stack") or {}
        return [*stack.get("not_built", []), *stack.get("failed", [])]

    def differences(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for i in [*self.data.get("images", []), *self.stack_images]:
            out += [{"image": i["ref"], **d} for d in i.get("differences", [])]
        return out

    def not_verified(self) -> list[str]:
        """What a run on these images cannot verify (from the differences that say so)."""
        return [f"{d['image']}: {d['not_verified']}" for d in self.differences() if d.get("not_verified")]

    @property
    def header(self) -> str:
        return f"kind, node image built locally ({self.node_image}; manifest {self.path})"


def parse(pins: str, path: Path, text: str) -> LocalBuild:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise LocalBuildError(f"{path}: not JSON ({e}); rebuild: scripts/offline-images --pins {pins}") from None
    if not isinstance(data, dict) or "node_image" not in data or data.get("pins") != pins:
        raise LocalBuildError(
            f"{path}: not an offline-images manifest for {pins}; rebuild: scripts/offline-images --pins {pins}"
        )
    return LocalBuild(pins, path, data)


def find(pins: str, root: Path | None = None) -> LocalBuild | None:
    """The manifest for ``pins`` if one was built here, else None."""
    path = (root or default_root()) / "manifests" / f"{pins}.json"
    if not path.exists():
        return None
    found = parse(pins, path, path.read_text())
    stack = path.with_name(f"{pins}-stack.json")
    if stack.exists():
        try:
            found.data["stack"] = json.loads(stack.read_text())
        except ValueError as e:
            raise LocalBuildError(
                f"{stack}: not JSON ({e}); rebuild: scripts/offline-images --pins {pins} --only stack"
            ) from None
    return found


def image_matches(ref: str, image_id: str, docker: str = "docker") -> bool:
    cp = subprocess.run([docker, "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, check=False)
    return cp.returncode == 0 and cp.stdout.strip() == image_id
