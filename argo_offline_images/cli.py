"""The offline image builder's command: kind and kubectl at the pinned versions and the kind node image
(``--only node``), and the stack's images (``--only stack``), from their Go modules at the pinned tags plus Debian's
packages, with no registry and no download. Each result is cached by the hash of its inputs; a manifest per pins
set records what each image was built from and every difference from the image users pull.

    python -m argo_offline_images --pins current --images images.json [--only node|stack]

``--images`` is the list of images to build, which this builder does not compute: the suite writes it
(``python -m argo_tutorial_suite.backends.kind.image_list --pins NAME``; ``scripts/offline-images`` does both).
Needs a Docker engine (scripts/docker-engine up) and the build tools (scripts/install-offline-deps).
Output: $ARGO_SUITE_OFFLINE_DIR (default ~/.cache/argo-suite/offline)/manifests/<pins>.json and <pins>-stack.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from argo_offline_images.build import BuildError, default_root
from argo_offline_images.gomod import RecipeError
from argo_offline_images.pins import PINS, PinsError, read_pins


@dataclass(frozen=True)
class ImageList:
    registry: str  # the registry image the suite's cluster runs beside the nodes
    stack: list[str]  # every image the stack and the CI run


def read_image_list(path: Path) -> ImageList:
    """The builder's input; a ValueError says what is wrong with it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"--images {path}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("registry"), str):
        raise ValueError(f"--images {path}: a JSON object with 'registry' (an image) and 'stack' (a list) is needed")
    stack = data.get("stack") or []
    if not isinstance(stack, list) or not all(isinstance(r, str) and r for r in stack):
        raise ValueError(f"--images {path}: 'stack' must be a list of image references")
    return ImageList(data["registry"], sorted(set(stack)))


PARTS = ("node", "stack")
# Measured here: one pins set's Go builds grow the Go build cache by 10 to 20 GB, its modules by 10 GB or more.
WANT_FREE_GB = 15


def disk_warning(free_bytes: int) -> str | None:
    """A warning when the disk has less room than a build of one pins set takes (seen: ``no space left on
    device`` mid-build, every image after it failed)."""
    free_gb = free_bytes / 1e9
    if free_gb >= WANT_FREE_GB:
        return None
    return (f"argo-offline-images: only {free_gb:.1f} GB free; a pins set's build takes about {WANT_FREE_GB} GB "
            "(Go build and module caches). Free some first: go clean -cache (rebuilds recompile), "
            "docker builder prune -f")  # fmt: skip


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="argo-offline-images", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pins", required=True, choices=PINS)
    ap.add_argument(
        "--images",
        type=Path,
        required=True,
        help="the images to build: JSON {registry: REF, stack: [REF, ...]} (the suite writes it: "
        "python -m argo_tutorial_suite.backends.kind.image_list --pins NAME)",
    )
    ap.add_argument(
        "--only", choices=PARTS, default=None, help="build only this part: the node image, or the stack's images"
    )
    ap.add_argument("--root", type=Path, default=None, help="cache folder (default: $ARGO_SUITE_OFFLINE_DIR)")
    args = ap.parse_args(argv)
    root = args.root or default_root()
    if subprocess.run(["docker", "version"], capture_output=True, check=False).returncode != 0:
        print("argo-offline-images: no Docker engine answers; start one with scripts/docker-engine up", file=sys.stderr)
        return 2
    warning = disk_warning(shutil.disk_usage(root if root.exists() else Path.home()).free)
    if warning:
        print(warning, file=sys.stderr)
    try:
        wanted = read_image_list(args.images)
    except ValueError as e:
        print(f"argo-offline-images: {e}", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        pins = read_pins(args.pins)
        from argo_offline_images.nodeimage import build_node

        manifest = build_node(args.pins, pins, root, wanted.registry) if args.only != "stack" else None
        if args.only != "node":
            from argo_offline_images.stackimages import build_stack

            # every recipe and builder module: a change to any of them rebuilds (a hand-kept list missed one)
            code = "".join(f.read_text() for f in sorted(Path(__file__).resolve().parent.glob("*.py")))
            stack = build_stack(args.pins, wanted.stack, root, code)
            print(f"{args.pins}: {len(stack['images'])} stack images built, {len(stack['not_built'])} not:")
            for nb in stack["not_built"]:
                print(f"  not built: {nb['ref']}: {nb['why']}")
            if stack.get("failed"):
                for fb in stack["failed"]:
                    print(f"  FAILED: {fb['ref']}: {fb['why'].splitlines()[0]}", file=sys.stderr)
                print(f"argo-offline-images: {len(stack['failed'])} image build(s) failed (above); the rest are built and "
                      "recorded, run again after a fix", file=sys.stderr)  # fmt: skip
                return 1
    except (BuildError, RecipeError, PinsError) as e:
        print(f"argo-offline-images: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("argo-offline-images: interrupted; what finished is cached, run again to go on", file=sys.stderr)
        return 130
    if manifest is not None:
        node = manifest["node_image"]
        print(f"{args.pins}: {node['ref']} ({node['id'][:19]}) replaces {node['replaces']}")
        print(f"  kind: {manifest['tools']['kind']}\n  kubectl: {manifest['tools']['kubectl']}")
    print(f"  manifests: {root / 'manifests'}/{args.pins}*.json  ({time.monotonic() - start:.1f}s)")
    return 0


def run() -> None:
    sys.exit(main(sys.argv[1:]))
