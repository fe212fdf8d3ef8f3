"""One image assembled from files on a base (``docker build`` of a generated Dockerfile), labelled with what it was
built from and its differences from the image users pull."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from argo_offline_images import build
from argo_offline_images.recipes import Difference


@dataclass
class ImageSpec:
    """One image the node carries (or the stack needs): its upstream references and how we build it."""

    refs: list[str]
    base: str  # "scratch", or a local image reference
    files: dict[str, str]  # destination in the image -> path of a built file
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    built_from: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # after the files (RUN needs a base with a shell)

    def dockerfile(self) -> str:
        lines = [f"FROM {self.base}"]
        for i, dest in enumerate(self.files):
            lines.append(f"COPY --chmod=0755 f{i} {dest}")
        lines += self.lines
        if self.base == "scratch":
            lines += [
                "COPY --chmod=1777 tmp/ /tmp/",
                "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            ]
        if self.entrypoint is not None:
            lines.append(f"ENTRYPOINT {json.dumps(self.entrypoint)}")
        if self.cmd is not None:
            lines.append(f"CMD {json.dumps(self.cmd)}")
        return "\n".join(lines) + "\n"

    def build(self) -> str:
        with tempfile.TemporaryDirectory(prefix="argo-suite-img-") as d:
            ctx = Path(d)
            (ctx / "tmp").mkdir()
            for i, src in enumerate(self.files.values()):
                if Path(src).is_dir():  # a whole tree (a Go toolchain): its modes kept, made writable to copy
                    shutil.copytree(src, ctx / f"f{i}", symlinks=True)
                    for d, _dirs, _files in os.walk(ctx / f"f{i}"):
                        os.chmod(d, 0o755)  # the module cache's folders are read-only
                else:
                    shutil.copy2(src, ctx / f"f{i}")
            return build.docker_build(ctx, self.dockerfile(), self.refs)
