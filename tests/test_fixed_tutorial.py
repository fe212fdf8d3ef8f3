"""The author's fixed tutorial: each changed block is exactly the corrected profile's file, each change names its
defect, the diff applies to the tutorial's text (read from ../shared; the text's own test skips without it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from argo_tutorial_suite.paths import ROOT
from argo_tutorial_suite.tutorial import fixed
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.tutorial.text import file_blocks, read_tutorial

TUTORIAL = ROOT.parent / "shared" / "tutorial" / "argo-hands-on.ko.md"


@pytest.fixture(scope="module")
def text() -> str:
    if not TUTORIAL.is_file():
        pytest.skip(f"{TUTORIAL} absent (../shared): the tutorial's text is read, never copied")
    return read_tutorial(TUTORIAL)


@pytest.fixture(scope="module")
def files() -> list[fixed.FixedFile]:
    return fixed.corrected_files(Profile.load("corrected", "current"))


def test_each_changed_block_is_the_corrected_file_and_names_its_defects(
    text: str, files: list[fixed.FixedFile]
) -> None:
    out = fixed.fixed_markdown(text, files)
    blocks = fixed.blocks_of(out)
    before = fixed.blocks_of(text)
    changed = [f for f in files if not f.added]
    assert {f.path for f in changed} >= {"gitops/rollout.yaml", "ci/ci.yaml", "install/install.sh", "code/Dockerfile"}
    for f in changed:
        body = blocks[f.path]
        head = [line for line in body.splitlines() if line.startswith(("# corrected:", "// corrected:"))]
        assert head and all(re.search(r"\bD\d+\b", h) for h in head), f"{f.path}: no defect named"
        assert body == fixed.block_text(f)
        if f.path.endswith(".yaml") and f.text:  # what the block says is what the corrected build applies
            assert [d for d in yaml.safe_load_all(body) if d] == [d for d in yaml.safe_load_all(f.text) if d]
    untouched = set(before) - {f.path for f in changed}
    assert untouched and all(blocks[p] == before[p] for p in untouched)  # the others stay as printed


def test_the_corrected_build_is_what_the_blocks_hold(files: list[fixed.FixedFile]) -> None:
    """The Rollout block carries the D13 fix (a previewService) and the install script installs Traefik (D37)."""
    rollout = next(f for f in files if f.path == "gitops/rollout.yaml")
    [obj] = [d for d in yaml.safe_load_all(rollout.text) if d]
    assert obj["spec"]["strategy"]["blueGreen"]["previewService"]
    script = next(f for f in files if f.path == "install/install.sh").text
    assert "kubernetes-ingress-nginx-rbac.yml" in script and "ingress-nginx/controller" not in script


def test_added_files_follow_in_their_own_section(text: str, files: list[fixed.FixedFile]) -> None:
    out = fixed.fixed_markdown(text, files)
    for f in files:
        if f.added:
            assert f"### {f.path}" in out
    assert set(file_blocks(out)) == set(file_blocks(text))  # no block of the tutorial lost


def test_the_diff_applies_to_the_tutorial(text: str, files: list[fixed.FixedFile], tmp_path: Path) -> None:
    out = fixed.fixed_markdown(text, files)
    diff = fixed.unified_diff(text, out)
    original = tmp_path / "t.md"
    original.write_text(text, encoding="utf-8")
    (tmp_path / "t.diff").write_text(diff, encoding="utf-8")
    patch = shutil.which("patch")
    assert patch is not None, "patch(1) is needed to check the diff"
    cp = subprocess.run([patch, "-s", str(original), str(tmp_path / "t.diff")], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert original.read_text(encoding="utf-8") == out
