"""The real servers the simulated backend runs on loopback, from Debian's packages.

* git: nginx + fcgiwrap + ``git-http-backend`` with the very configuration of :mod:`argo_tutorial_suite.backends.gitserver`
  that the kind backend deploys in its cluster;
* registry: Debian's ``docker-registry`` (distribution 2.8, the registry behind ``registry:2``),
  filesystem storage in the run's temporary directory.

``scripts/install-sim-deps`` installs the packages; a missing binary is reported with that command.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from argo_tutorial_suite.backends import gitserver
from argo_tutorial_suite.backends.host import free_port
from argo_tutorial_suite.backends.sim.procs import Procs, wait_port

INSTALL_HINT = "sudo scripts/install-sim-deps   (apt-get install nginx fcgiwrap docker-registry golang-go pebble)"
BINARIES = {
    "nginx": ("nginx", "/usr/sbin/nginx"),
    "fcgiwrap": ("fcgiwrap", "/usr/sbin/fcgiwrap"),
    "docker-registry": ("docker-registry", "/usr/bin/docker-registry"),
    "go": ("go", "/usr/lib/go/bin/go"),
    "git": ("git", "/usr/bin/git"),
}


class SimDependencyMissing(RuntimeError):
    pass


def which(name: str) -> str:
    cmd, fallback = BINARIES[name]
    found = shutil.which(cmd) or (fallback if Path(fallback).exists() else None)
    if not found:
        raise SimDependencyMissing(f"the simulated backend needs {cmd}: install it with {INSTALL_HINT}")
    return found


def missing() -> list[str]:
    out = []
    for name in BINARIES:
        try:
            which(name)
        except SimDependencyMissing:
            out.append(name)
    if gitserver.backend_cgi() is None:
        out.append("git-http-backend")
    return out


@dataclass
class GitServer:
    port: int
    root: Path

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}.git"


def start_git(procs: Procs) -> GitServer:
    state = procs.dir("git-nginx")
    root = procs.dir("git-repos")
    sock = str(state / "fcgiwrap.sock")
    port = free_port()
    cgi = gitserver.backend_cgi()
    if cgi is None:
        raise SimDependencyMissing(f"git-http-backend not found: install git ({INSTALL_HINT})")
    layout = gitserver.NginxLayout(
        listen=f"127.0.0.1:{port}", project_root=str(root), fcgi_socket=sock, state_dir=str(state), backend_cgi=cgi
    )
    conf = state / "nginx.conf"
    conf.write_text(gitserver.nginx_conf(layout))
    for repo in gitserver.REPOS:
        gitserver.init_bare(root, repo)
    procs.start("fcgiwrap", [which("fcgiwrap"), "-c", "1", "-s", f"unix:{sock}"], umask=0)
    nginx = procs.start(
        "nginx-git", [which("nginx"), "-p", str(state), "-e", str(state / "error.log"), "-c", str(conf)]
    )
    wait_port(port, 10, nginx, "nginx (git server)")
    return GitServer(port, root)


@dataclass
class Registry:
    """distribution on a loopback port, named in image references by a non-loopback name, as kind's
    ``kind-registry:5000`` is: BuildKit then needs ``registry.insecure=true`` for its plain HTTP on both
    backends (BuildKit ``util/resolver``: plain HTTP only for localhost). The twins resolve the name to the
    port (the simulation's DNS); the test process pushes to :attr:`address`."""

    port: int
    name: str = "sim-registry:5000"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def start_registry(procs: Procs) -> Registry:
    d = procs.dir("registry")
    port = free_port()
    cfg = d / "config.yml"
    cfg.write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
        f"{d / 'data'}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = procs.start("registry", [which("docker-registry"), "serve", str(cfg)])
    wait_port(port, 10, proc, "docker-registry")
    return Registry(port)
