"""The sim's BuildKit push rule (plain HTTP only to loopback, else ``registry.insecure=true``) against BuildKit
v0.11.0 itself: the rootless image built here (``scripts/offline-images --only stack``) pushes a one-file image to
a local distribution registry on an internal Docker network.

Where no engine or no such image is here (CI), the recorded outcome of the real run
(``manifests/evidence/buildkit-plain-http.json``, written by this test with ``ARGO_SUITE_RECORD_EVIDENCE=1``) is
held to the twin's rule instead: never skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from argo_tutorial_suite.backends.kind.registry import IMAGE as REGISTRY_IMAGE
from argo_tutorial_suite.backends.sim.twins.workflows import PLAIN_HTTP_REFUSED, pushes_over_plain_http
from argo_tutorial_suite.verdicts.evidence import EVIDENCE

BUILDKIT = "moby/buildkit:v0.11.0-rootless"


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


RECORD = EVIDENCE / "buildkit-plain-http.json"
CASES = [("name", {}), ("name", {"registry.insecure": "true"}), ("localhost", {})]


def _case_id(where: str, opts: dict[str, str]) -> str:
    return where + "".join(f",{k}={v}" for k, v in sorted(opts.items()))


def _real_here() -> str | None:
    """Why BuildKit cannot run here (None when it can)."""
    if shutil.which("docker") is None or _docker("version").returncode != 0:
        return "no Docker engine answers"
    for image in (BUILDKIT, REGISTRY_IMAGE):
        if _docker("image", "inspect", image).returncode != 0:
            return f"{image} is not built here"
    return None


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    why = _real_here()
    if why is not None:
        pytest.fail(f"{why}: the real registry was asked for where BuildKit cannot run")
    name = f"argo-suite-bktest-{uuid.uuid4().hex[:6]}"
    assert _docker("network", "create", "--internal", name).returncode == 0
    try:
        started = _docker("run", "-d", "--name", name, "--network", name, REGISTRY_IMAGE)
        assert started.returncode == 0, started.stderr
        yield name
    finally:
        _docker("rm", "-f", name)
        _docker("network", "rm", name)


@pytest.mark.parametrize(("where", "opts"), CASES)
def test_buildkit_pushes_over_plain_http_as_the_twin_says(
    request: pytest.FixtureRequest, tmp_path: Path, where: str, opts: dict[str, str]
) -> None:
    """On real BuildKit where it can run here, else on its recorded run (never skipped)."""
    if _real_here() is not None:
        _recorded_agrees(where, opts)
        return
    registry: str = request.getfixturevalue("registry")
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
    if os.environ.get("ARGO_SUITE_RECORD_EVIDENCE") == "1":
        _record(_case_id(where, opts), host, opts, cp)
    assert pushed == pushes_over_plain_http(host, opts), cp.stdout[-1500:] + cp.stderr[-1500:]
    if not pushed:
        assert PLAIN_HTTP_REFUSED in cp.stdout + cp.stderr


def _record(case: str, host: str, opts: dict[str, str], cp: subprocess.CompletedProcess[str]) -> None:
    data: dict[str, Any] = json.loads(RECORD.read_text()) if RECORD.exists() else {"image": BUILDKIT, "cases": {}}
    lines = [ln for ln in (cp.stdout + cp.stderr).splitlines() if ln.strip()]
    where = "localhost" if host.startswith("localhost") else "the registry's container name"
    data["cases"][case] = {"pushed to": where, "opts": opts, "returncode": cp.returncode, "last_lines": lines[-6:]}
    data["recorded"] = time.strftime("%Y-%m-%d", time.gmtime())
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def _recorded_agrees(where: str, opts: dict[str, str]) -> None:
    """What real BuildKit did, as recorded here, is what the twin's rule says it does."""
    assert RECORD.exists(), f"no recorded BuildKit run ({RECORD}): run this file with ARGO_SUITE_RECORD_EVIDENCE=1"
    data = json.loads(RECORD.read_text())
    case = data["cases"][_case_id(where, opts)]
    host = "registry-host:5000" if where == "name" else "localhost:5000"
    assert (case["returncode"] == 0) == pushes_over_plain_http(host, opts), case
    if case["returncode"] != 0:
        assert any(PLAIN_HTTP_REFUSED in line for line in case["last_lines"]), case["last_lines"]


@pytest.mark.parametrize(
    ("host", "plain"),
    [("localhost:5000", True), ("127.0.0.1:5000", True), ("[::1]:5000", True), ("localhost", True),
     ("kind-registry:5000", False), ("registry.argo-tutorial.test", False), ("localhost.example:5000", False)],
)  # fmt: skip
def test_the_rule_reads_the_host_name(host: str, plain: bool) -> None:
    assert pushes_over_plain_http(host, {}) is plain
    assert pushes_over_plain_http(host, {"registry.insecure": "true"})
