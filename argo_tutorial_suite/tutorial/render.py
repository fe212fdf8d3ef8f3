"""A profile's files as objects: placeholders filled in, kustomizations built (pure but for ``kubectl kustomize``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.tutorial import kustomize


def substitute_tree(root: Path, subs: dict[str, str]) -> None:
    """Replace placeholders in every text file under ``root`` (longest first, so URLs win over hosts)."""
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        try:
            text = p.read_text()
        except UnicodeDecodeError:
            continue
        new = text
        for k in sorted(subs, key=len, reverse=True):
            new = new.replace(k, subs[k])
        if new != text:
            p.write_text(new)


def yaml_objects(directory: Path) -> list[Obj]:
    out: list[Obj] = []
    for p in sorted(directory.glob("*.y*ml")):
        if p.name.startswith("kustomization"):
            continue
        out += [o for o in yaml.safe_load_all(p.read_text()) if isinstance(o, dict)]
    return out


def render_dir(d: Path, what: str = "the kustomization") -> list[Obj]:
    """The objects of a folder: its kustomization built when it has one (a build error is an AssertionError
    naming ``what``), else its YAML files as they are."""
    if (d / "kustomization.yaml").exists():
        built = kustomize.build(d)
        if built.error:
            raise AssertionError(f"{what} does not build: {built.error}")
        return built.objects
    return yaml_objects(d)
