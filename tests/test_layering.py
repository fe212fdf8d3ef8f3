"""The house by owner, checked from the imports (not by reading):

* each backend's modules (``backends/kind``, ``backends/sim``, the existing-cluster checks) are imported only by
  that backend and by the factory that builds them all;
* the offline image builder (``argo_offline_images``) and the suite import nothing of each other (the suite reads
  the builder's manifest through ``backends/kind/localbuild.py``, its one typed reader; both share only
  ``argo_image_refs``, the image reference grammar);
* the library's root holds only the modules every part uses, listed here: a new one needs its entry.
"""

from __future__ import annotations

import ast
from pathlib import Path

from argo_tutorial_suite.paths import ROOT

LIB = "argo_tutorial_suite"
BUILDER = "argo_offline_images"
# The library root: what every part uses. A module added here without an entry fails the test.
ROOT_MODULES = {"__init__", "apis", "kube", "objects", "paths", "proc", "redact", "signals", "tools", "upstream"}
# Allowed to know every backend: the factory builds them (the plugin asks the factory).
KNOWS_ALL = {f"{LIB}.backends.factory"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def module_of(root: Path, path: Path) -> str:
    """The dotted name a file is imported by (``fixtures/``, ``scenarios/`` install inside the library)."""
    rel = path.relative_to(root).with_suffix("").as_posix().replace("/", ".")
    if rel.startswith(("fixtures.", "scenarios.")):
        return f"{LIB}.{rel}"
    return rel


def backend_of(module: str) -> str | None:
    """``argo_tutorial_suite.backends.kind.config`` -> ``kind``; the existing-cluster checks -> ``existing``."""
    parts = module.split(".")
    if parts[:2] != [LIB, "backends"] or len(parts) < 3:
        return None
    if parts[2] in ("kind", "sim"):
        return parts[2]
    if parts[2] in ("existing", "existing_inventory"):
        return "existing"
    return None


def sources(root: Path) -> list[Path]:
    return sorted(
        p
        for folder in (LIB, BUILDER, "argo_image_refs", "fixtures", "scenarios")
        for p in (root / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    )


def violations(root: Path) -> list[str]:
    found = []
    for path in sources(root):
        me = module_of(root, path)
        rel = path.relative_to(root).as_posix()
        mine = backend_of(me)
        for mod in sorted(imports(path)):
            theirs = backend_of(mod)
            if theirs is not None and theirs != mine and me not in KNOWS_ALL:
                found.append(
                    f"{rel} ({f'backend {mine}' if mine else 'outside the backends'}) imports backend {theirs}"
                )
            if me.startswith(BUILDER) and mod.split(".")[0] in (LIB, "fixtures"):
                found.append(f"{rel} (the offline image builder) imports the suite")
            if not me.startswith(BUILDER) and mod.split(".")[0] == BUILDER:
                found.append(f"{rel} imports the offline image builder")
        if me.count(".") == 1 and me.startswith(f"{LIB}.") and me.split(".")[1] not in ROOT_MODULES:
            found.append(f"{rel}: a new module at the library root (place it with its owner, or list it here)")
    return sorted(set(found))


def test_the_house_keeps_its_owners() -> None:
    assert violations(ROOT) == []


def test_the_check_catches_each_kind_of_breach(tmp_path: Path) -> None:
    def write(rel: str, text: str) -> None:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)

    write(f"{LIB}/backends/sim/x.py", f"from {LIB}.backends.kind.config import HASH_LABEL\n")
    write("scenarios/test_x.py", f"import {LIB}.backends.sim.world\n")
    write(f"{LIB}/flow/helper.py", f"from {LIB}.backends.kind import backend\n")
    write(f"{LIB}/backends/factory.py", f"from {LIB}.backends.kind import backend\n")  # allowed
    write(f"{BUILDER}/recipes.py", f"from {LIB}.tutorial.profiles import PINS\n")
    write(f"{LIB}/backends/kind/localbuild.py", f"from {BUILDER}.build import default_root\n")
    write(f"{LIB}/helpers.py", "X = 1\n")
    got = violations(tmp_path)
    assert len(got) == 6, got
    assert any("sim/x.py (backend sim) imports" in g for g in got)
    assert any("scenarios/test_x.py (outside the backends)" in g for g in got)
    assert any("flow/helper.py" in g for g in got)
    assert any("builder) imports the suite" in g for g in got)
    assert any("localbuild.py imports the offline image builder" in g for g in got)
    assert any("helpers.py: a new module at the library root" in g for g in got)
