"""Host checks before anything is created: each problem says what is wrong and the command that fixes it.

Sources: kind ``known-issues.md`` (inotify limits "too many open files": 524288 watches, 512
instances; disk pressure evicts pods; kubectl version skew), kind ``quick-start.md`` (Docker must be
running), GitHub-hosted runner sizes (4 CPU, 16 GB, 14 GB disk for public repositories).
The facts are gathered once by :func:`gather` (the only I/O); :func:`check` is pure.
"""

from __future__ import annotations

import platform
import shutil
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from argo_tutorial_suite.tools import ARCH

INOTIFY_WATCHES = 524288
INOTIFY_INSTANCES = 512

# Rough needs per node shape: the six controllers, Argo CD HA (redis-ha x3), a build pod.
GIB = 1024**3


@dataclass(frozen=True)
class Needs:
    nodes: int
    memory_gib: float
    disk_gib: float

    @classmethod
    def for_nodes(cls, nodes: int) -> Needs:
        return cls(nodes=nodes, memory_gib=4.0 + 1.5 * (nodes - 1), disk_gib=8.0 + 1.0 * (nodes - 1))


@dataclass
class HostFacts:
    docker_ok: bool
    docker_error: str
    inotify_watches: int | None
    inotify_instances: int | None
    mem_available_bytes: int | None
    disk_free_bytes: int
    machine: str
    ports_in_use: list[int] = field(default_factory=list)
    missing_binaries: dict[str, str] = field(default_factory=dict)  # name -> hint
    # Ubuntu 23.10+: AppArmor refuses unprivileged user namespaces, so the rootless BuildKit of the
    # tutorial's CI fails ("rootlesskit: ... permission denied") and a tutorial step would be blamed
    apparmor_restrict_userns: int | None = None


@dataclass(frozen=True)
class Problem:
    check: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.what}\n    fix: {self.fix}"


def check(facts: HostFacts, needs: Needs) -> list[Problem]:
    out: list[Problem] = []
    for name, hint in sorted(facts.missing_binaries.items()):
        out.append(Problem("binary", f"{name} is not installed", hint))
    if not facts.docker_ok:
        out.append(
            Problem(
                "docker",
                f"the Docker daemon is not reachable ({facts.docker_error.strip() or 'docker info failed'})",
                "start it: sudo systemctl start docker (or start Docker Desktop); "
                "check with: docker info. No container engine? run the offline backend: pytest scenarios --backend=sim",
            )
        )
    if facts.machine.lower() not in ARCH:
        out.append(
            Problem("arch", f"architecture {facts.machine} has no kind node images", "use an amd64 or arm64 host")
        )
    if facts.inotify_watches is not None and facts.inotify_watches < INOTIFY_WATCHES:
        out.append(
            Problem(
                "inotify",
                f"fs.inotify.max_user_watches is {facts.inotify_watches} (< {INOTIFY_WATCHES}); six controllers "
                "on kind fail with 'too many open files'",
                f"sudo sysctl fs.inotify.max_user_watches={INOTIFY_WATCHES}",
            )
        )
    if facts.inotify_instances is not None and facts.inotify_instances < INOTIFY_INSTANCES:
        out.append(
            Problem(
                "inotify",
                f"fs.inotify.max_user_instances is {facts.inotify_instances} (< {INOTIFY_INSTANCES})",
                f"sudo sysctl fs.inotify.max_user_instances={INOTIFY_INSTANCES}",
            )
        )
    if facts.mem_available_bytes is not None and facts.mem_available_bytes < needs.memory_gib * GIB:
        out.append(
            Problem(
                "memory",
                f"{facts.mem_available_bytes / GIB:.1f} GiB memory available; {needs.nodes} kind node(s) with this "
                f"stack need about {needs.memory_gib:.1f} GiB",
                "close other workloads or run one profile at a time: --profile corrected",
            )
        )
    if facts.disk_free_bytes < needs.disk_gib * GIB:
        out.append(
            Problem(
                "disk",
                f"{facts.disk_free_bytes / GIB:.1f} GiB free for Docker; node images and pre-loaded archives need "
                f"about {needs.disk_gib:.0f} GiB (kubelet evicts pods under disk pressure)",
                "free space: docker system prune -af && kind delete clusters --all",
            )
        )
    if facts.apparmor_restrict_userns == 1:
        out.append(
            Problem(
                "userns",
                "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10 and later): the tutorial's rootless "
                "BuildKit cannot create its user namespace, and the build step would fail for a reason that is "
                "not the tutorial's",
                "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
            )
        )
    for port in facts.ports_in_use:
        out.append(
            Problem(
                "port",
                f"127.0.0.1:{port} is already in use",
                f"find the owner with: ss -ltnp 'sport = :{port}' (or choose another port)",
            )
        )
    return out


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def mem_available(meminfo: str) -> int | None:
    """``MemAvailable`` from /proc/meminfo, in bytes."""
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now (bind to 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def negative_oom_score_adj_refused() -> bool:
    """Whether this kernel refuses a process a negative ``oom_score_adj`` (no CAP_SYS_RESOURCE in the bounding
    set, as on our VMs). kind's nodes inherit it, so runc would fail every Guaranteed pod; the kind config
    then gets containerd's ``restrict_oom_score_adj`` (:mod:`argo_tutorial_suite.backends.kind.config`)."""
    try:
        cp = subprocess.run(["sh", "-c", "echo -1 > /proc/self/oom_score_adj"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return cp.returncode != 0


def docker_root_dir(docker: str | None) -> str | None:
    """Where the engine keeps its images (``docker info``'s DockerRootDir; our engine uses its own data root)."""
    if not docker:
        return None
    try:
        cp = subprocess.run(
            [docker, "info", "--format", "{{.DockerRootDir}}"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return cp.stdout.strip() or None if cp.returncode == 0 else None


def docker_status(docker: str | None) -> tuple[bool, str]:
    if not docker:
        return False, "docker: command not found"
    try:
        cp = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    if cp.returncode != 0:
        return False, (cp.stderr or cp.stdout).strip().splitlines()[-1] if (
            cp.stderr or cp.stdout
        ).strip() else "docker info failed"
    return True, cp.stdout.strip()


def gather(
    docker: str | None,
    ports: Iterable[int] = (),
    missing_binaries: dict[str, str] | None = None,
    docker_root: Path | None = None,
) -> HostFacts:
    ok, err = docker_status(docker)
    if docker_root is None:
        docker_root = Path(docker_root_dir(docker) or "/var/lib/docker") if ok else Path("/var/lib/docker")
    proc = Path("/proc/sys/fs/inotify")
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        meminfo = ""
    disk_path = docker_root if docker_root.exists() else Path("/")
    return HostFacts(
        docker_ok=ok,
        docker_error=err if not ok else "",
        inotify_watches=_read_int(proc / "max_user_watches"),
        inotify_instances=_read_int(proc / "max_user_instances"),
        mem_available_bytes=mem_available(meminfo) if meminfo else None,
        disk_free_bytes=shutil.disk_usage(disk_path).free,
        machine=platform.machine(),
        ports_in_use=[p for p in ports if port_in_use(p)],
        missing_binaries=dict(missing_binaries or {}),
        apparmor_restrict_userns=_read_int(Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")),
    )
