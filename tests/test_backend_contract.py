"""The backend contract and the layering, checked by tools rather than by reading.

* ``mypy --strict`` rejects a backend that lacks a method the scenarios call: a stand-in missing one is fed
  to mypy where the factory's return type (:class:`~fixtures.backends.base.Backend`) applies.
* No backend imports from another; no scenario and no neutral module imports from a backend (the factory
  and the plugin that uses it are the only places that know them all).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from fixtures.paths import ROOT

BACKENDS = ("kind", "sim")
# Allowed to know every backend: the factory builds them, the plugin asks the factory.
KNOWS_ALL = {"fixtures/backends/factory.py"}


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


def owner(module: str) -> str | None:
    """``fixtures.backends.kind.config`` -> ``kind``."""
    parts = module.split(".")
    if parts[:2] == ["fixtures", "backends"] and len(parts) > 2 and parts[2] in BACKENDS:
        return parts[2]
    return None


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted([*(root / "fixtures").rglob("*.py"), *(root / "scenarios").rglob("*.py")]):
        rel = path.relative_to(root).as_posix()
        if rel in KNOWS_ALL:
            continue
        mine = owner(rel.removesuffix(".py").replace("/", "."))
        seen: set[str] = set()
        for mod in sorted(imports(path)):
            theirs = owner(mod)
            if theirs is not None and theirs != mine and theirs not in seen:
                seen.add(theirs)
                where = (
                    f"backend {mine}"
                    if mine
                    else ("a scenario" if rel.startswith("scenarios/") else "a neutral module")
                )
                found.append(f"{rel} ({where}) imports {mod}")
    return found


def test_no_module_reaches_into_another_backend() -> None:
    assert violations(ROOT) == []


def test_the_check_catches_a_new_cross_import(tmp_path: Path) -> None:
    (tmp_path / "fixtures/backends/sim").mkdir(parents=True)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "fixtures/backends/sim/x.py").write_text("from fixtures.backends.kind.config import HASH_LABEL\n")
    (tmp_path / "scenarios/test_x.py").write_text("import fixtures.backends.sim.world\n")
    (tmp_path / "fixtures/helper.py").write_text("from fixtures.backends.kind import backend\n")
    got = violations(tmp_path)
    assert len(got) == 3
    assert any("sim/x.py (backend sim) imports fixtures.backends.kind.config" in g for g in got)
    assert any("scenarios/test_x.py (a scenario)" in g for g in got)
    assert any("fixtures/helper.py (a neutral module) imports fixtures.backends.kind" in g for g in got)


def _mypy(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    mod = tmp_path / "contract_probe.py"
    mod.write_text(body)
    exe = Path(sys.executable).parent / "mypy"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "mypy"]
    return subprocess.run(
        [*argv, "--strict", "--ignore-missing-imports", "--no-incremental", "--follow-imports=silent", str(mod)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_mypy_rejects_a_backend_missing_a_method(tmp_path: Path) -> None:
    complete = (ROOT / "tests/backend_standin.py").read_text()
    ok = _mypy(tmp_path, complete + "\n\nb: Backend = StandIn()\n")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = complete.replace("    def acme(self)", "    def _not_acme(self)")
    bad = _mypy(tmp_path, broken + "\n\nb: Backend = StandIn()\n")
    assert bad.returncode != 0 and "Incompatible types in assignment" in bad.stdout and "acme" in bad.stdout, bad.stdout
