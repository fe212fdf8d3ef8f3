"""Registry mirror mode on kind (I/O): a distribution registry container per upstream host
(:mod:`argo_tutorial_suite.backends.kind.mirror_config`), joined to the ``kind`` network, the nodes' containerd pointed at them, and, offline,
the mirrors filled from the images built here (``scripts/offline-images --pins NAME``).

The mirror containers outlive a run on purpose (``--restart=always``, like kind's local registry): a second run,
or twenty laptops behind one venue, pull from a warm cache. ``scripts/docker-engine down`` or
``docker rm -f argo-suite-mirror-...`` removes them.
"""

from __future__ import annotations

import fcntl
import json
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from argo_image_refs import parse_ref
from argo_tutorial_suite.backends import host as preflight
from argo_tutorial_suite.backends.kind import mirror_config as mirror
from argo_tutorial_suite.backends.kind.registry import IMAGE as REGISTRY_IMAGE
from argo_tutorial_suite.backends.kind.registry import KIND_NETWORK, is_connected, registry_host_port
from argo_tutorial_suite.proc import Runner
from argo_tutorial_suite.verdicts.waits import Seen, expect, timeout_for


@dataclass(frozen=True)
class Mirror:
    host: str
    host_port: int
    online: bool


def _config_file(workdir: Path, host: str, online: bool) -> Path:
    path = workdir / "mirrors" / f"{mirror.mirror_name(host)}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mirror.registry_config(mirror.UPSTREAMS[host] if online else None))
    return path


def ensure(host: str, online: bool, docker: str, runner: Runner, workdir: Path) -> Mirror:
    """A running mirror for ``host`` in the wanted mode: reuse one, else (re)create it on a free 127.0.0.1 port."""
    name = mirror.mirror_name(host)
    ran = runner.run([docker, "inspect", "-f", "{{.State.Running}} {{json .NetworkSettings.Ports}}", name], check=False)
    if ran.returncode == 0:
        port = registry_host_port(ran.stdout)
        mode = runner.run(
            [docker, "inspect", "-f", '{{index .Config.Labels "argo-suite.mirror-mode"}}', name], check=False
        )
        if port is not None and mode.stdout.strip() == ("online" if online else "offline"):
            return Mirror(host, port, online)
        runner.run([docker, "rm", "-f", name], check=False)
    cfg = _config_file(workdir, host, online)
    last = ""
    for _ in range(3):
        port = preflight.free_port()
        argv = [
            docker, "run", "-d", "--restart=always", "--name", name,
            "--label", f"argo-suite.mirror-mode={'online' if online else 'offline'}",
            "-p", f"127.0.0.1:{port}:{mirror.CONTAINER_PORT}",
            "-v", f"{cfg}:/etc/distribution/config.yml:ro",
            "-v", f"{name}:/var/lib/registry",
            REGISTRY_IMAGE,
        ]  # fmt: skip
        made = runner.run(argv, check=False)
        if made.returncode == 0:
            m = Mirror(host, port, online)
            expect(partial(_answers, m), f"registry mirror {name} answers on 127.0.0.1:{port}", timeout_for("api"))
            return m
        last = made.stderr.strip()
        runner.run([docker, "rm", "-f", name], check=False)
        if "address already in use" not in last and "port is already allocated" not in last:
            break
    raise RuntimeError(
        f"the registry mirror for {host} did not start: {last[-400:]}\n  fix: docker info; docker logs {name}"
    )


def _answers(m: Mirror) -> Seen:
    """distribution's API root: 200 once the registry listens."""
    try:
        code = httpx.get(f"http://127.0.0.1:{m.host_port}/v2/", timeout=2).status_code
    except httpx.HTTPError as e:
        return Seen.pending(f"not answering yet ({type(e).__name__})")
    return Seen.ok("HTTP 200") if code == 200 else Seen.pending(f"HTTP {code}")


def connect(mirrors: list[Mirror], docker: str, runner: Runner) -> None:
    """Join every mirror to the ``kind`` network, where the nodes resolve it by name."""
    nets = json.loads(runner.run([docker, "network", "inspect", KIND_NETWORK]).stdout)
    for m in mirrors:
        if not is_connected(nets, mirror.mirror_name(m.host)):
            runner.run([docker, "network", "connect", KIND_NETWORK, mirror.mirror_name(m.host)])


def write_hosts_files(nodes: list[str], kind_version: str, hosts: list[str], docker: str, runner: Runner) -> int:
    """From kind v0.20: a ``hosts.toml`` per upstream host on every node (containerd reads them per pull)."""
    files = mirror.hosts_files(kind_version, hosts)
    for node in nodes:
        for path, text in files.items():
            runner.run([docker, "exec", node, "mkdir", "-p", str(Path(path).parent)])
            runner.run([docker, "exec", "-i", node, "cp", "/dev/stdin", path], input=text)
    return len(files)


FILL_LOCK = Path(tempfile.gettempdir()) / "argo-suite-mirror-fill.lock"


def fill(mirrors: list[Mirror], refs: list[str], docker: str, runner: Runner, lock_path: Path = FILL_LOCK) -> list[str]:
    """Push each local image ``ref`` into its host's mirror under its own repository path and tag. The mirrors
    are the machine's, shared by every run: one run fills them at a time (a file lock), since two pushes of the
    same blob at once into distribution's filesystem storage fail with a 500 (seen with two runs side by side)."""
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _fill(mirrors, refs, docker, runner)


def _fill(mirrors: list[Mirror], refs: list[str], docker: str, runner: Runner) -> list[str]:
    by_host = {m.host: m for m in mirrors}
    pushed = []
    for ref in refs:
        r = parse_ref(ref)
        m = by_host.get(r.host)
        if m is None or m.online:
            continue
        target = mirror.push_target(ref, m.host_port)
        runner.run([docker, "tag", r.tagged, target])
        runner.run([docker, "push", "-q", target], timeout=900, hint=f"pushing {ref} into its mirror")
        runner.run([docker, "rmi", target], check=False)  # the tag only; the image stays under its own name
        pushed.append(ref)
    return pushed


def catalog(m: Mirror, timeout: float = 10) -> list[str]:
    """The repositories a mirror holds (distribution's ``/v2/_catalog``)."""
    try:
        resp = httpx.get(f"http://127.0.0.1:{m.host_port}/v2/_catalog", params={"n": 1000}, timeout=timeout)
        return list(resp.json().get("repositories") or [])
    except (httpx.HTTPError, ValueError):
        return []
