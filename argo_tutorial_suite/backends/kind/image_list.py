"""The images a pins set needs on the real kind tier, as the offline image builder's input: the registry the
suite's cluster runs beside its nodes, and every image the two profiles run (install plans, EventBus, the CI's
containers, the suite's ACME server and the substitute ingress controller), computed from the rendered manifests.

    python -m argo_tutorial_suite.backends.kind.image_list --pins current > images.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from argo_tutorial_suite.backends.base import substitutions_for
from argo_tutorial_suite.backends.kind import acme
from argo_tutorial_suite.backends.kind import ingress as ingress_substitute
from argo_tutorial_suite.backends.kind.registry import IMAGE as REGISTRY_IMAGE
from argo_tutorial_suite.backends.kind.registry import LocalRegistry
from argo_tutorial_suite.paths import UPSTREAM
from argo_tutorial_suite.tutorial.images import profile_images
from argo_tutorial_suite.tutorial.profiles import PINS, PROFILES, Profile
from argo_tutorial_suite.upstream import Upstream


def stack_refs(pins_name: str, upstream_dir: Path | None) -> list[str]:
    """Every image the two profiles run with these pins."""
    upstream = Upstream(upstream_dir if upstream_dir and upstream_dir.is_dir() else None)
    registry = LocalRegistry(0).in_cluster
    subs = substitutions_for(registry, "http://git.example.invalid")
    refs: set[str] = set()
    for name in PROFILES:
        profile = Profile.load(name, pins_name)
        extra = [acme.PEBBLE_IMAGE, acme.CHALLTESTSRV_IMAGE, ingress_substitute.IMAGE]
        refs |= set(profile_images(profile, upstream, subs, f"{registry}/", extra))
    return sorted(refs)


def image_list(pins_name: str, upstream_dir: Path | None) -> dict[str, object]:
    return {"pins": pins_name, "registry": REGISTRY_IMAGE, "stack": stack_refs(pins_name, upstream_dir)}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="argo-tutorial-images", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pins", required=True, choices=PINS)
    ap.add_argument("--upstream-dir", type=Path, default=UPSTREAM, help="the upstream reference copy")
    args = ap.parse_args(argv)
    print(json.dumps(image_list(args.pins, args.upstream_dir), indent=1))
    return 0


def run() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
