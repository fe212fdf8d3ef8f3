"""What the offline image builder built for a pins set, as the kind backend uses it: the one reader of its manifests
(versioned, ``manifest_version``; each image entry read into :class:`ImageEntry`, a bad entry refused with how to
rebuild).

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
from typing import Any, NotRequired, TypedDict

# The builder's manifests this reader understands (``manifest_version`` of the node's and of the stack's).
READS_VERSION = 1


class DifferenceEntry(TypedDict):
    """One way an image built here differs from the one users pull, as the builder records it."""

    what: str
    upstream: str
    here: str
    why: str
    relation: NotRequired[str]  # "same release", "another release", "stand-in" (absent in older manifests)
    not_verified: NotRequired[str]  # what a run on this image cannot verify


class ImageEntry(TypedDict):
    """One image the builder built: its reference, Docker's image ID, and its differences."""

    ref: str
    id: str
    role: NotRequired[str]
    built_from: NotRequired[list[str]]
    differences: NotRequired[list[DifferenceEntry]]


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

    def image(self, role: str) -> ImageEntry | None:
        for i in self.node_images:
            if i.get("role") == role:
                return i
        return None

    @property
    def node_images(self) -> list[ImageEntry]:
        """The node image and what the cluster needs beside it (the registry, the git server's base)."""
        return [_image(i, self.path) for i in self.data.get("images", [])]

    @property
    def stack_images(self) -> list[ImageEntry]:
        """The stack's images built here (``scripts/offline-images --pins NAME``; ``[]`` with ``--only node``)."""
        return [_image(i, self.path) for i in (self.data.get("stack") or {}).get("images", [])]

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
        """Every recorded difference, with the image it belongs to (``image``)."""
        out: list[dict[str, str]] = []
        for i in [*self.node_images, *self.stack_images]:
            out += [{"image": i["ref"], **{k: str(v) for k, v in d.items()}} for d in i.get("differences", [])]
        return out

    def not_verified(self) -> list[str]:
        """What a run on these images cannot verify (from the differences that say so)."""
        return [f"{d['image']}: {d['not_verified']}" for d in self.differences() if d.get("not_verified")]

    @property
    def header(self) -> str:
        return f"kind, node image built locally ({self.node_image}; manifest {self.path})"


def _image(raw: Any, path: Path) -> ImageEntry:
    if not isinstance(raw, dict) or not isinstance(raw.get("ref"), str) or not isinstance(raw.get("id"), str):
        raise LocalBuildError(f"{path}: an image entry without a ref and an id ({str(raw)[:120]})")
    diffs = raw.get("differences") or []
    if not isinstance(diffs, list) or not all(isinstance(d, dict) and "what" in d for d in diffs):
        raise LocalBuildError(f"{path}: {raw['ref']}: its differences are not a list of recorded differences")
    out: ImageEntry = {"ref": raw["ref"], "id": raw["id"], "differences": [_difference(d) for d in diffs]}
    if isinstance(raw.get("role"), str):
        out["role"] = raw["role"]
    if isinstance(raw.get("built_from"), list):
        out["built_from"] = [str(b) for b in raw["built_from"]]
    return out


def _difference(raw: dict[str, Any]) -> DifferenceEntry:
    d = DifferenceEntry(
        what=str(raw.get("what", "")),
        upstream=str(raw.get("upstream", "")),
        here=str(raw.get("here", "")),
        why=str(raw.get("why", "")),
    )
    if raw.get("relation"):
        d["relation"] = str(raw["relation"])
    if raw.get("not_verified"):
        d["not_verified"] = str(raw["not_verified"])
    return d


def _version_ok(data: dict[str, Any]) -> bool:
    return bool(data.get("manifest_version", READS_VERSION) == READS_VERSION)


def parse(pins: str, path: Path, text: str) -> LocalBuild:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise LocalBuildError(f"{path}: not JSON ({e}); rebuild: scripts/offline-images --pins {pins}") from None
    if not isinstance(data, dict) or "node_image" not in data or data.get("pins") != pins:
        raise LocalBuildError(
            f"{path}: not an offline-images manifest for {pins}; rebuild: scripts/offline-images --pins {pins}"
        )
    if not _version_ok(data):
        raise LocalBuildError(
            f"{path}: manifest version {data.get('manifest_version')}, this suite reads {READS_VERSION}; rebuild: "
            f"scripts/offline-images --pins {pins}"
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
        if not isinstance(found.data["stack"], dict) or not _version_ok(found.data["stack"]):
            raise LocalBuildError(
                f"{stack}: not a stack manifest this suite reads (version {READS_VERSION}); rebuild: "
                f"scripts/offline-images --pins {pins} --only stack"
            )
    return found


def image_matches(ref: str, image_id: str, docker: str = "docker") -> bool:
    cp = subprocess.run([docker, "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, check=False)
    return cp.returncode == 0 and cp.stdout.strip() == image_id
