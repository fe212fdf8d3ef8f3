"""The author's deliverable: the tutorial back, fixed by the corrected profile (``artifacts/argo-hands-on.fixed.md``)
and the unified diff against the tutorial's text (``artifacts/argo-hands-on.fixed.diff``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from argo_tutorial_suite.tutorial import fixed
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.tutorial.text import read_tutorial

pytestmark = pytest.mark.static


def test_the_fixed_tutorial_is_written(pytestconfig: pytest.Config, kubectl: str | None, tmp_path: Path) -> None:
    source = str(pytestconfig.getoption("tutorial"))
    if not source.startswith("http") and not Path(source).is_file():
        pytest.skip(f"tutorial text not found at {source} (../shared absent): pass --tutorial PATH_OR_URL")
    text = read_tutorial(source)
    dest = Path(pytestconfig.getoption("artifacts"))
    md, diff = fixed.write(text, Profile.load("corrected", "current"), dest, kubectl)
    print(f"\nthe fixed tutorial: {md}\nits diff against the tutorial: {diff}")
    original = tmp_path / "argo-hands-on.ko.md"
    original.write_text(text, encoding="utf-8")
    patch = shutil.which("patch")
    if patch is not None:  # the diff applies to the tutorial as published and gives the fixed text
        cp = subprocess.run([patch, "-s", str(original), str(diff)], capture_output=True, text=True, check=False)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert original.read_text(encoding="utf-8") == md.read_text(encoding="utf-8")
