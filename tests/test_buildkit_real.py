"""The sim's BuildKit push rule (plain HTTP only to loopback, else ``registry.insecure=true``) against BuildKit
v0.11.0 itself: the rootless image built here (``scripts/offline-images --only stack``) pushes a one-file image to
a local distribution registry on an internal Docker network. Skips where no engine or no such image is here."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.backends.kind.registry import IMAGE as REGISTRY_IMAGE
from fixtures.backends.sim.twins.workflows import PLAIN_HTTP_REFUSED, pushes_over_plain_http

BUILDKIT = "moby/buildkit:v0.11.0-rootless"


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    if shutil.which("docker") is None or _docker("version").returncode != 0:
        pytest.skip("no Docker engine answers (scripts/docker-engine up)")
    for image in (BUILDKIT, REGISTRY_IMAGE):
        if _docker("image", "inspect", image).returncode != 0:
            pytest.skip(f"{image} is not built here (scripts/offline-images --pins tutorial-2023)")
    name = f"argo-suite-bktest-{uuid.uuid4().hex[:6]}"
    assert _docker("network", "create", "--internal", name).returncode == 0
    try:
        started = _docker("run", "-d", "--name", name, "--network", name, REGISTRY_IMAGE)
        assert started.returncode == 0, started.stderr
        yield name
    finally:
        _docker("rm", "-f", name)
        _docker("network", "rm", name)


@pytest.mark.parametrize(
    ("where", "opts"),
    [("name", {}), ("name", {"registry.insecure": "true"}), ("localhost", {})],
)
def test_buildkit_pushes_over_plain_http_as_the_twin_says(
    registry: str, tmp_path: Path, where: str, opts: dict[str, str]
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY x /x\n")
    (tmp_path / "x").write_text("x\n")
    tmp_path.chmod(0o777)
    host = f"{registry}:5000" if where == "name" else "localhost:5000"
    network = registry if where == "name" else f"container:{registry}"
    output = ",".join(
        [f"type=image,name={host}/t/x:{uuid.uuid4().hex[:6]}", "push=true"] + [f"{k}={v}" for k, v in opts.items()]
    )
    cp = _docker(
        "run", "--rm", "--network", network, "--cap-add", "SYS_ADMIN",
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "-v", f"{tmp_path}:/work", "--entrypoint", "buildctl-daemonless.sh", BUILDKIT,
        "build", "--frontend", "dockerfile.v0", "--local", "context=/work", "--local", "dockerfile=/work",
        "--output", output,
        timeout=300,
    )  # fmt: skip
    pushed = cp.returncode == 0
    assert pushed == pushes_over_plain_http(host, opts), cp.stdout[-1500:] + cp.stderr[-1500:]
    if not pushed:
        assert PLAIN_HTTP_REFUSED in cp.stdout + cp.stderr


@pytest.mark.parametrize(
    ("host", "plain"),
    [("localhost:5000", True), ("127.0.0.1:5000", True), ("[::1]:5000", True), ("localhost", True),
     ("kind-registry:5000", False), ("registry.argo-tutorial.test", False), ("localhost.example:5000", False)],
)  # fmt: skip
def test_the_rule_reads_the_host_name(host: str, plain: bool) -> None:
    assert pushes_over_plain_http(host, {}) is plain
    assert pushes_over_plain_http(host, {"registry.insecure": "true"})
