#!/usr/bin/env python3
"""kind and kubectl at the versions a pins file names, for this host's OS and architecture.

    python3 scripts/pinned-tools.py current | sudo bash     print the download commands (the nightly workflow)
    python3 scripts/pinned-tools.py current --offline       build both from their Go modules into the offline
                                                            cache and print their paths (no download site)

Reads the pins with the standard library alone, so it runs before the suite's dependencies are installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argo_offline_images.pins import PINS, PinsError, read_pins
from argo_tutorial_suite.tools import ToolError, download_hint


def offline(name: str, pins: dict[str, str | dict[str, str]]) -> int:
    from argo_offline_images.build import BuildError, default_root, go_build, module_info
    from argo_offline_images.gomod import RecipeError, k8s_ldflags
    from argo_offline_images.recipes import GoBuild, toolchain_for, upstream_go

    root = default_root()
    root.mkdir(parents=True, exist_ok=True)
    kind = pins["kind"]
    kubectl = pins["kubectl"]
    assert isinstance(kind, dict) and isinstance(kubectl, dict)
    from argo_offline_images.build import module_dir

    try:
        env = {"GOFLAGS": "-mod=mod"}
        kdir = module_dir("sigs.k8s.io/kind", kind["version"], env, root)
        kind_go = (kdir / ".go-version").read_text().strip()
        built = go_build(
            GoBuild("sigs.k8s.io/kind", kind["version"], (".",), toolchain_for(kind_go), outputs=("kind",)), root
        )
        kv = kubectl["version"]
        k8s = module_dir("k8s.io/kubernetes", kv, env, root)
        gv, deps = k8s / ".go-version", k8s / "build/dependencies.yaml"
        go = upstream_go(gv.read_text() if gv.exists() else None, deps.read_text() if deps.exists() else None)
        info = module_info("k8s.io/kubernetes", kv, env, root)
        ld = k8s_ldflags(kv, str((info.get("Origin") or {}).get("Hash", "")), str(info.get("Time", "")))
        kc = go_build(GoBuild("k8s.io/kubernetes", kv, ("./cmd/kubectl",), toolchain_for(go), "k8s", ldflags=ld), root)
    except (BuildError, RecipeError, OSError) as e:
        print(f"pinned-tools: {e}", file=sys.stderr)
        return 1
    print(f"kind {kind['version']}: {built / 'kind'}")
    print(f"kubectl {kv}: {kc / 'kubectl'}")
    print(
        f"use them: export KIND={built / 'kind'} KUBECTL={kc / 'kubectl'}  (or run scripts/offline-images --pins {name})"
    )
    return 0


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    flags = [a for a in argv if a.startswith("--")]
    if len(args) != 1 or args[0] not in PINS or any(f != "--offline" for f in flags):
        print(f"usage: pinned-tools.py {{{'|'.join(PINS)}}} [--offline]", file=sys.stderr)
        return 2
    try:
        pins = read_pins(args[0])
    except PinsError as e:
        print(f"pinned-tools: {e}", file=sys.stderr)
        return 2
    if "--offline" in flags:
        return offline(args[0], pins)
    try:
        print(download_hint("kind", pins["kind"]["version"]))
        print(download_hint("kubectl", pins["kubectl"]["version"]))
    except ToolError as e:
        print(f"pinned-tools: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
