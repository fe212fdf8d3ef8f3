"""What the suite's cluster needs beside the kind nodes, built here: the local registry (distribution) and the git
server's base image (Debian with nginx, fcgiwrap and git)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from argo_offline_images import build
from argo_offline_images.imagespec import ImageSpec
from argo_offline_images.nodefiles import (
    GITSERVER_PACKAGES,
    REGISTRY_CONFIG,
    go_directive,
)
from argo_offline_images.recipes import (
    Difference,
    GoBuild,
    split_ref,
    toolchain_for,
    vtag,
)


def cluster_extras(root: Path, registry_ref: str) -> list[dict[str, Any]]:
    """What a kind cluster of the suite needs besides the node: the local registry image (distribution, as
    kind's local-registry recipe runs it) and the git server's base (Debian's nginx, fcgiwrap and git)."""
    _, tag = split_ref(registry_ref)
    version = vtag(tag)
    major = version.split(".")[0]
    module = "github.com/distribution/distribution" + (f"/{major}" if major not in ("v0", "v1", "v2") else "")
    src = build.module_dir(module, version, {"GOFLAGS": "-mod=mod"}, root)
    tc = toolchain_for(go_directive((src / "go.mod").read_text()))
    reg = build.go_build(GoBuild(module, version, ("./cmd/registry",), tc, outputs=("registry",),
                                 ldflags=f"-s -w -X {module}/version.version={version}"), root)  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "config.yml"
        cfg.write_text(REGISTRY_CONFIG)
        spec = ImageSpec([registry_ref], "scratch",
                         {"/bin/registry": str(reg / "registry"), "/etc/distribution/config.yml": str(cfg)},
                         entrypoint=["/bin/registry"], cmd=["serve", "/etc/distribution/config.yml"],
                         built_from=[f"{module}@{version}"],
                         differences=[Difference("base", "alpine", "scratch", "no registry is reachable; Alpine is not built here"),
                                      Difference("config", "the image's config.yml", "ours: filesystem storage, :5000",
                                                 "the image's file is not in the Go module")])  # fmt: skip
        reg_id = spec.build()
    git_tar = build.rootfs_tar("bookworm", list(GITSERVER_PACKAGES), root)
    git_ref = f"localhost/argo-suite-rootfs:gitserver-{git_tar.stem.split('-')[-1]}"
    git_id = build.image_id(git_ref) or build.docker_import(git_tar, git_ref)
    return [
        {"ref": registry_ref, "id": reg_id, "role": "local registry", "built_from": spec.built_from,
         "toolchain": tc.describe(), "differences": [d.as_dict() for d in spec.differences]},
        {"ref": git_ref, "id": git_id, "role": "git server base", "built_from": [f"Debian bookworm: {', '.join(GITSERVER_PACKAGES)}"],
         "differences": [d.as_dict() for d in [Difference("base", "debian:bookworm-slim + apt-get", "debootstrap minbase with the same packages",
                                                          "no registry is reachable")]]},
    ]  # fmt: skip
