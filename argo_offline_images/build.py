"""The I/O of the offline builds: Go module builds, Debian root filesystems, Docker images; each cached by the
hash of its inputs, each long step with progress on stderr."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from argo_offline_images.gomod import rewrite_staging_replaces, wrapper_gomod
from argo_offline_images.recipes import GoBuild, toolchain_for


class BuildError(RuntimeError):
    """A build step failed; the message names the step, the command and the last lines of its output."""


def default_root() -> Path:
    env = os.environ.get("ARGO_SUITE_OFFLINE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "argo-suite" / "offline"


def input_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def log(msg: str) -> None:
    print(f"[offline {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextmanager
def progress(what: str, every: float = 30.0) -> Iterator[None]:
    """Say when ``what`` starts, every ``every`` seconds while it runs, and how long it took."""
    start = time.monotonic()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            log(f"{what}: still running, {time.monotonic() - start:.0f}s")

    log(f"{what} ...")
    t = threading.Thread(target=beat, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
    log(f"{what}: done in {time.monotonic() - start:.1f}s")


def run(
    argv: Sequence[str],
    what: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: bytes | None = None,
    timeout: float = 7200,
) -> str:
    """Run a command; on failure raise :class:`BuildError` naming ``what`` with the output's last lines."""
    full_env = {**os.environ, **(env or {})}
    try:
        cp = subprocess.run(
            list(argv), cwd=cwd, env=full_env, input=input, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError as e:
        raise BuildError(f"{what}: {argv[0]} not found ({e})") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what}: timed out after {timeout:.0f}s: {' '.join(argv)}") from None
    out = cp.stdout.decode(errors="replace")
    if cp.returncode != 0:
        tail = "\n".join((cp.stderr.decode(errors="replace") + out).strip().splitlines()[-25:])
        raise BuildError(f"{what} failed (exit {cp.returncode}): {' '.join(argv)}\n{tail}")
    return out


# -- Go ---------------------------------------------------------------------------------------------------------
def go_env(b: GoBuild, root: Path) -> dict[str, str]:
    env = {
        **b.toolchain.env(os.environ.get("PATH", "")),
        "GOWORK": "off",
        "GOFLAGS": "-mod=mod",
        "CGO_ENABLED": "1" if b.cgo else "0",
    }
    if b.nosumdb:
        env["GONOSUMDB"] = b.module
    return env


# Fetching a module: the go command may need a newer Go than its own to read a go.mod (``go 1.27.0``); ``auto``
# downloads it from the module proxy (``golang.org/toolchain``), whatever the machine's GOENV says.
FETCH_ENV = {"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "auto"}


def module_served(module: str, version: str, root: Path, nosumdb: bool = False) -> bool:
    """Whether the module proxy serves ``module@version`` (``go mod download`` succeeds); ``nosumdb``: without
    asking sum.golang.org (which may not know a version the proxy has)."""
    extra = {"GONOSUMDB": module} if nosumdb else {}
    cp = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        env={**os.environ, **FETCH_ENV, **extra},
        cwd=root,
        check=False,
    )
    return cp.returncode == 0


def module_dir(module: str, version: str, env: Mapping[str, str], cwd: Path) -> Path:
    out = run(
        ["go", "mod", "download", "-json", f"{module}@{version}"], f"download {module}@{version}", env=env, cwd=cwd
    )
    info = json.loads(out)
    if info.get("Error"):
        raise BuildError(f"download {module}@{version}: {info['Error']}")
    return Path(info["Dir"])


def module_info(module: str, version: str, env: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    """The proxy's ``.info`` of a module version (``Time``, and ``Origin.Hash`` when the proxy kept it)."""
    out = run(
        ["go", "mod", "download", "-json", f"{module}@{version}"], f"download {module}@{version}", env=env, cwd=cwd
    )
    info = json.loads(out)
    data: dict[str, Any] = json.loads(Path(info["Info"]).read_text())
    return data


def go_build(b: GoBuild, root: Path, source: Path | None = None) -> Path:
    """Build ``b`` into ``root/bin/<hash>/``; a second call with the same inputs returns at once.
    ``source``: a module of this project (our own code) instead of one from the module proxy."""
    key = input_hash({**b.key(), "source": _tree_digest(source) if source else None})
    out = root / "bin" / key
    if (out / ".done").exists():
        return out
    root.mkdir(parents=True, exist_ok=True)
    # fetched with the machine's own Go: the recipe's may be older than the module's go.mod asks (then raised below)
    fetch = {**FETCH_ENV, **({"GONOSUMDB": b.module} if b.nosumdb else {})}
    src = source if source is not None else module_dir(b.module, b.version, fetch, root)
    b = raised_toolchain(b, (src / "go.mod").read_text() if (src / "go.mod").exists() else "")
    env = go_env(b, root)
    work = root / "work" / key
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    if b.mode == "wrapper":
        work.mkdir(parents=True)
        go = b.toolchain.version if not b.toolchain.debian else "1.19"
        (work / "go.mod").write_text(wrapper_gomod(b.module, b.version, go))
        pkgs = [f"{b.module}/{p.removeprefix('./').removeprefix('.')}".rstrip("/") for p in b.packages]
    else:
        shutil.copytree(src, work, symlinks=True)
        for dirpath, dirnames, filenames in os.walk(work):
            for n in dirnames + filenames:
                p = Path(dirpath) / n
                if not p.is_symlink():
                    p.chmod(p.stat().st_mode | 0o200)
        (work / "go.work").unlink(missing_ok=True)
        for src_rel, dst_rel in b.prepare:
            if not (work / dst_rel).exists():  # only what the module zip lacks
                if not (work / src_rel).is_file():
                    raise BuildError(f"{b.module}@{b.version} has no {src_rel} (to copy to {dst_rel})")
                shutil.copy(work / src_rel, work / dst_rel)
        for rel in b.touch:
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).touch()
        if b.mode == "k8s":
            text, _ = rewrite_staging_replaces((work / "go.mod").read_text(), b.version)
            (work / "go.mod").write_text(text)
        for module, target in b.replaces:  # a nested module the zip left out: its served version instead
            run(["go", "mod", "edit", f"-replace={module}={target}"], f"replace {module}", env=env, cwd=work)
        pkgs = list(b.packages)
    with progress(f"go build {b.module}@{b.version} {' '.join(b.output_names())} ({b.toolchain.describe()})"):
        if b.mode == "wrapper":
            # `go get PKG@VERSION` adds what the packages need at the versions the module's own go.mod
            # selects (minimal version selection); `go mod tidy` on a module with no packages would drop it.
            run(
                ["go", "get", *(f"{p}@{b.version}" for p in pkgs)], f"resolve {b.module}@{b.version}", env=env, cwd=work
            )
        for pkg, name in zip(pkgs, b.output_names(), strict=True):
            argv = ["go", "build", "-trimpath", "-ldflags", b.ldflags, "-o", str(out / name)]
            if b.tags:
                argv += ["-tags", " ".join(b.tags)]
            run([*argv, pkg], f"go build {pkg} of {b.module}@{b.version}", env=env, cwd=work)
    (out / "build.json").write_text(json.dumps({**b.key(), "go_describe": b.toolchain.describe()}, indent=1))
    (out / ".done").write_text("")
    shutil.rmtree(work, ignore_errors=True)
    return out


def raised_toolchain(b: GoBuild, gomod: str) -> GoBuild:
    """``b`` with the Go its go.mod requires when that is newer than the recipe's (a substituted module version
    may need a newer Go than the release it stands in for); the build.json records which was used."""

    m = re.search(r"^go (\d+)\.(\d+)(?:\.(\d+))?\s*$", gomod, re.M)
    if not m:
        return b
    need = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    have = tuple(int(x) for x in ([*b.toolchain.version.split("."), "0"])[:3])
    if need <= have:
        return b
    raised = toolchain_for(".".join(str(x) for x in need))
    return replace(b, toolchain=replace(raised, upstream=b.toolchain.upstream))


def _tree_digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return input_hash([(p.relative_to(path).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest()) for p in files])


# -- Debian root filesystems --------------------------------------------------------------------------------------
def rootfs_key(suite: str, packages: Sequence[str]) -> str:
    return input_hash({"suite": suite, "packages": sorted(packages)})


def rootfs_tar(suite: str, packages: Sequence[str], root: Path) -> Path:
    """A ``debootstrap --variant=minbase`` root filesystem as a tar, cached by suite and package list."""
    key = rootfs_key(suite, packages)
    tar = root / "rootfs" / f"{suite}-{key}.tar"
    if tar.exists():
        return tar
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is missing: scripts/install-offline-deps installs it")
    tar.parent.mkdir(parents=True, exist_ok=True)
    target = root / "rootfs" / f"{suite}-{key}.d"
    shutil.rmtree(target, ignore_errors=True)
    with progress(f"debootstrap {suite} ({len(packages)} packages)"):
        run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(sorted(packages))}", suite, str(target),
             "http://deb.debian.org/debian"],
            f"debootstrap {suite}",
        )  # fmt: skip
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for p in (target / junk).glob("*"):
                if p.is_file():
                    p.unlink()
        run(["tar", "-C", str(target), "-cf", str(tar) + ".part", "."], "tar the rootfs")
        os.replace(str(tar) + ".part", tar)
    shutil.rmtree(target, ignore_errors=True)
    return tar


# -- Docker ---------------------------------------------------------------------------------------------------------
def image_id(ref: str) -> str | None:
    cp = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, check=False
    )
    return cp.stdout.strip() if cp.returncode == 0 else None


def docker_import(tar: Path, ref: str, changes: Sequence[str] = ()) -> str:
    argv = ["docker", "import"]
    for c in changes:
        argv += ["-c", c]
    run([*argv, str(tar), ref], f"docker import {ref}")
    got = image_id(ref)
    if got is None:
        raise BuildError(f"docker import {ref}: image not found afterwards")
    return got


def docker_build(context: Path, dockerfile: str, refs: Sequence[str]) -> str:
    """Build offline (never pulls: every FROM is a local image or scratch)."""
    (context / "Dockerfile").write_text(dockerfile)
    argv = ["docker", "build", "--pull=false", "--network=none", "-q"]
    for r in refs:
        argv += ["-t", r]
    run([*argv, str(context)], f"docker build {refs[0]}", env={"DOCKER_BUILDKIT": "1"})
    got = image_id(refs[0])
    if got is None:
        raise BuildError(f"docker build {refs[0]}: image not found afterwards")
    return got


def docker_save(refs: Sequence[str], dest: Path) -> Path:
    run(["docker", "save", "-o", str(dest), *refs], f"docker save {refs[0]}")
    return dest
