"""The package works installed: the wheel alone, in a fresh venv, from a folder outside the repository.

Built with ``pip wheel``, installed with its dependencies into a new venv (no access to this checkout), and run from
another folder: the pytest plugin loads through its ``pytest11`` entry point, the manifests ship inside the package,
and the static check of a participant's folder gives its verdict. ``pip install fixtures`` (an unrelated PyPI
project of that name) beside it changes nothing of ours.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from argo_tutorial_suite.paths import ROOT, UPSTREAM

BAD_SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
    "spec: {selector: {app: web}, ports: [{port: eighty}]}\n"
)
CLEAN = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"


def _run(*argv: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv's python, the wheel): built and installed once per run, whichever xdist worker asks first (the
    others wait on a lock and reuse it: the build and install take most of this module's time)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    tmp = shared / "installed-wheel"
    with open(shared / "installed-wheel.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = tmp / "venv" / ".installed"
        if not done.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            _build_and_install(tmp)
            done.write_text("ok\n")
    (wheel,) = (tmp / "dist").glob("argo_tutorial_suite-*.whl")
    return tmp / "venv" / "bin" / "python", wheel


def _build_and_install(tmp: Path) -> None:
    # built from a copy: a build in the checkout leaves its egg-info there, whose entry points pytest would load;
    # the venvs a checkout holds (.venv from scripts/main-job, .venv-tox from scripts/tox) are not the project's
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".tox", ".venv*", "artifacts", "*.egg-info",
                                                              "build", "__pycache__", ".pytest-kind", ".mypy_cache",
                                                              ".ruff_cache"))  # fmt: skip
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", src, cwd=tmp)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("argo_tutorial_suite-*.whl")
    venv = _run(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp)
    assert venv.returncode == 0, venv.stderr
    python = tmp / "venv" / "bin" / "python"
    pip = _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp, timeout=900)
    assert pip.returncode == 0, pip.stderr[-3000:]


def test_the_wheel_holds_the_suite_and_no_top_level_fixtures(installed: tuple[Path, Path]) -> None:
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"argo_tutorial_suite", "argo_offline_images", "argo_image_refs"}, tops
    for data in ("manifests/defects.yaml", "manifests/versions/current.yaml", "manifests/tutorial/ci/ci.yaml",
                 "fixtures/plugin.py", "scenarios/test_static.py"):  # fmt: skip
        assert f"argo_tutorial_suite/{data}" in names, data
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pytest11]" in text and "argo_tutorial_suite.fixtures.plugin" in text


def test_the_static_check_runs_installed_from_another_folder(installed: tuple[Path, Path], tmp_path: Path) -> None:
    if not UPSTREAM.is_dir():
        pytest.fail(f"{UPSTREAM} is missing: the static check reads the pinned upstream schemas from it")
    python, _ = installed
    bad, clean = tmp_path / "participant-bad", tmp_path / "participant-clean"
    for folder, text in ((bad, BAD_SERVICE), (clean, CLEAN)):
        folder.mkdir()
        (folder / "a.yaml").write_text(text)
    work = tmp_path / "elsewhere"
    work.mkdir()

    def check(folder: Path) -> subprocess.CompletedProcess[str]:
        return _run(python, "-m", "pytest", "--pyargs", "argo_tutorial_suite.scenarios", "-m", "static",
                    "--manifests-dir", folder, "--upstream-dir", UPSTREAM, "-p", "no:cacheprovider", cwd=work)  # fmt: skip

    got = check(bad)
    assert got.returncode == 1, got.stdout[-3000:] + got.stderr[-2000:]
    assert "SCHEMA-INVALID" in got.stdout
    got = check(clean)
    assert got.returncode == 0, got.stdout[-3000:] + got.stderr[-2000:]
    # the PyPI project named "fixtures", installed beside: nothing of ours changes, the check still runs
    ours = Path(_run(python, "-c", "import argo_tutorial_suite, os; print(os.path.dirname(argo_tutorial_suite.__file__))",
                     cwd=work).stdout.strip())  # fmt: skip
    before = _tree_digest(ours)
    pip = _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "fixtures", cwd=work, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    assert _tree_digest(ours) == before
    assert check(clean).returncode == 0
    assert check(bad).returncode == 1


def test_the_folder_check_command_is_installed(installed: tuple[Path, Path], tmp_path: Path) -> None:
    """``argo-tutorial-check`` (the wheel's console script) checks folders from anywhere, linter exit codes."""
    python, _ = installed
    command = python.parent / "argo-tutorial-check"
    bad, clean = tmp_path / "bad", tmp_path / "clean"
    for folder, text in ((bad, BAD_SERVICE), (clean, CLEAN)):
        folder.mkdir()
        (folder / "a.yaml").write_text(text)
    got = _run(command, bad, clean, "--upstream-dir", UPSTREAM, cwd=tmp_path)
    assert got.returncode == 1 and f"{bad}/a.yaml:" in got.stdout, got.stdout + got.stderr
    assert f"{clean}: clean" in got.stdout
    assert _run(command, clean, "--upstream-dir", UPSTREAM, cwd=tmp_path).returncode == 0
    assert _run(command, tmp_path / "nowhere", cwd=tmp_path).returncode == 2


def test_the_live_check_command_is_installed(installed: tuple[Path, Path], tmp_path: Path) -> None:
    """``argo-tutorial-live`` (the wheel's console script) from anywhere: a participant stuck at D10 is named with
    the wheel's own catalog and pins, an unreachable one is one line and exit 1, no kubeconfig is exit 2."""
    from tests.fake_apiserver import Behaviour, serving
    from tests.fake_apiserver import kubeconfig as write_kubeconfig

    python, _ = installed
    command = python.parent / "argo-tutorial-live"
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": "my-awesome-app", "namespace": "argocd"},
           "status": {"sync": {"status": "Unknown"}, "conditions": [
               {"type": "ComparisonError", "message": "lstat service_preview.yaml: no such file or directory"}]}}  # fmt: skip
    with serving(Behaviour([app])) as url:
        got = _run(command, write_kubeconfig(tmp_path / "bob.yaml", url), "--quiet", cwd=tmp_path)
    assert got.returncode == 1 and "[D10] fix: same names in both places" in got.stdout, got.stdout + got.stderr
    kc = tmp_path / "alice.yaml"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: a, context: {cluster: a, user: a}}]\nusers: [{name: a, user: {token: t}}]\n"
    )
    got = _run(command, kc, "--quiet", cwd=tmp_path)
    assert got.returncode == 1 and "does not answer" in got.stdout and "Traceback" not in got.stderr, got.stderr
    assert _run(command, tmp_path / "nowhere", cwd=tmp_path).returncode == 2


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    """pyproject.toml lists the packages (three of them are mapped from the top-level folders): a new folder of the
    library must be listed, or the installed suite misses it."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        p.parent.relative_to(ROOT).as_posix().replace("/", ".")
        for top in ("argo_tutorial_suite", "argo_offline_images", "argo_image_refs")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)


def test_scripts_tox_runs_tox_from_a_venv_of_its_own(tmp_path: Path) -> None:
    """The README's commands start with scripts/tox: a venv made once (PEP 668 refuses pip outside one on Debian
    12 and Ubuntu 24.04), then reused."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "ARGO_SUITE_TOX_VENV": str(tmp_path / "venv")}
    first = subprocess.run(
        [str(root / "scripts" / "tox"), "--version"], env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0 and "making" in first.stderr and str(tmp_path / "venv") in first.stdout, first.stderr
    again = subprocess.run(
        [str(root / "scripts" / "tox"), "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0 and "making" not in again.stderr


def test_scripts_main_job_makes_its_venv_once_and_leaves_no_metadata_in_the_checkout(tmp_path: Path) -> None:
    """The README's first command on a fresh clone: a venv with the suite (made once, reused after), then the
    main job's phases (``--plan``: printed, nothing run). Run on a copy of the checkout: ``pip install -e`` there
    must leave no egg-info behind, whose entry points another Python's pytest in the checkout would fail to load."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".tox", ".venv*", "artifacts", "*.egg-info",
                                                              "build", "__pycache__", ".pytest-kind", ".mypy_cache",
                                                              ".ruff_cache"))  # fmt: skip
    env = {**os.environ, "ARGO_SUITE_VENV": str(tmp_path / "venv"), "DOCKER_HOST": "unix:///nonexistent.sock"}
    argv = [str(src / "scripts" / "main-job"), "--plan", "--pins", "current", "--offline"]
    first = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert "python venv: making" in first.stdout and "python venv: made in" in first.stdout, first.stderr[-2000:]
    if os.geteuid() == 0:  # no engine answers: root may start one, so the plan is printed
        assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
        assert "stack images (current)" in first.stdout and "$ pytest scenarios --backend=kind" in first.stdout
    else:  # and nobody else can: the job says what to do
        assert first.returncode == 2 and "no container engine answers" in first.stderr
    assert not list(src.glob("*.egg-info"))
    again = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "python venv: reused in" in again.stdout and "making" not in again.stdout
    assert again.returncode == first.returncode
