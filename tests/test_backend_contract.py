"""The backend contract and the layering, checked by tools rather than by reading.

* ``mypy --strict`` rejects a backend that lacks a method the scenarios call: a stand-in missing one is fed
  to mypy where the factory's return type (:class:`~argo_tutorial_suite.backends.base.Backend`) applies.
* The layering (no module reaches into a backend but the factory): ``tests/test_layering.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from argo_tutorial_suite.paths import ROOT


def _mypy(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """mypy on one probe module; the suite's modules it imports are checked once per worker and cached (the
    probe itself changes each time, so its verdict is always fresh)."""
    mod = tmp_path / "contract_probe.py"
    mod.write_text(body)
    exe = Path(sys.executable).parent / "mypy"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "mypy"]
    cache = tmp_path.parent / "mypy-contract-cache"  # the worker's pytest base folder: shared by its tests
    return subprocess.run(
        [*argv, "--strict", "--ignore-missing-imports", f"--cache-dir={cache}", "--follow-imports=silent", str(mod)],
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


def test_every_cluster_kind_implements_the_cluster_protocol(tmp_path: Path) -> None:
    """Kind and the sim are Worlds (checked where the factory returns them); a value that is none cannot pass."""
    probe = (
        "from argo_tutorial_suite.backends.base import Cluster, World\n"
        "from argo_tutorial_suite.backends.kind.backend import KindBackend\n"
        "from argo_tutorial_suite.backends.sim.backend import SimBackend\n\n"
        "def f(k: KindBackend, s: SimBackend) -> None:\n"
        "    w: World = k\n    v: World = s\n    d: Cluster = k\n"
    )
    ok = _mypy(tmp_path, probe)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _mypy(tmp_path, probe + "\ndef g(n: int) -> None:\n    w: World = n\n")
    assert bad.returncode != 0 and "Incompatible types in assignment" in bad.stdout, bad.stdout


def test_the_live_check_needs_no_backend() -> None:
    """A participant's cluster is read by ``argo_tutorial_suite.live`` alone: no module of it imports a backend
    (kind, the sim, a port-forward), so the live check can start nothing."""
    import ast

    live = Path(__file__).resolve().parent.parent / "argo_tutorial_suite" / "live"
    imported = {
        (f.name, n.module or "")
        for f in live.glob("*.py")
        for n in ast.walk(ast.parse(f.read_text()))
        if isinstance(n, ast.ImportFrom)
    } | {
        (f.name, a.name)
        for f in live.glob("*.py")
        for n in ast.walk(ast.parse(f.read_text()))
        if isinstance(n, ast.Import)
        for a in n.names
    }
    assert len({f for f, _m in imported}) >= 8
    assert not [(f, m) for f, m in imported if m.startswith("argo_tutorial_suite.backends")]
