"""Registry mirror mode (pure): one local registry per upstream registry host, and the nodes' containerd told
to pull each host through its mirror.

Why one registry per upstream host: a distribution registry proxies exactly one remote
(``proxy.remoteurl``, distribution ``docs/content/recipes/mirror.md``), and an image keeps its repository path
(``argoproj/argocd``) under its mirror, so no path rewriting (containerd's ``override_path``) is needed and the
install manifests apply unchanged, ``imagePullPolicy: Always`` included: the kubelet's pull resolves through
the mirror (containerd ``docs/hosts.md``: a host entry is tried before the upstream ``server``).

How containerd is told, as kind's local-registry recipe does at each kind version:

* before kind v0.20, ``containerdConfigPatches`` with ``registry.mirrors."<host>".endpoint`` (kind v0.17's own
  node config already uses ``mirrors``, and containerd refuses ``config_path`` beside it);
* from kind v0.20, ``config_path = "/etc/containerd/certs.d"`` and a ``hosts.toml`` per upstream host,
  written into every node.

Online, each mirror is a pull-through cache of its upstream (a nightly off Docker Hub's rate limits, a
workshop room off the venue's bandwidth). Offline, it has no remote and is filled from the images built here
(``scripts/offline-images``); a reference pinned by digest that a local build cannot match is rewritten to
its tag, and the rewrite is recorded (:func:`rewrite_digests`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from argo_image_refs import ALIASES, RefError, parse_ref
from argo_tutorial_suite.objects import Obj, pod_spec

# Upstream host -> the URL its registry API answers on (Docker Hub's API is registry-1.docker.io).
UPSTREAMS: dict[str, str] = {
    "docker.io": "https://registry-1.docker.io",
    "quay.io": "https://quay.io",
    "ghcr.io": "https://ghcr.io",
    "registry.k8s.io": "https://registry.k8s.io",
    "public.ecr.aws": "https://public.ecr.aws",  # Argo CD v3 HA: redis and haproxy from ECR's Docker mirror
}
CONTAINER_PORT = 5000
PREFIX = "argo-suite-mirror-"
CERTS_D = "/etc/containerd/certs.d"
MIRRORS_UNTIL = (0, 20)


def mirror_name(host: str) -> str:
    """The mirror container's name (also its DNS name on the ``kind`` network)."""
    return PREFIX + host.replace(".", "-")


def mirror_endpoint(host: str) -> str:
    return f"http://{mirror_name(host)}:{CONTAINER_PORT}"


def hosts_of(refs: Iterable[str]) -> list[str]:
    """The upstream hosts that ``refs`` come from, of those a mirror can stand for, sorted."""
    return sorted({r.host for r in map(parse_ref, refs) if r.host in UPSTREAMS})


def _before_v020(kind_version: str) -> bool:
    m = re.match(r"v?(\d+)\.(\d+)", kind_version)
    if not m:
        raise ValueError(f"kind version {kind_version!r} is not vMAJOR.MINOR.PATCH")
    return (int(m.group(1)), int(m.group(2))) < MIRRORS_UNTIL


def containerd_patches(kind_version: str, hosts: Iterable[str]) -> list[str]:
    """The ``containerdConfigPatches`` for mirror mode: ``mirrors`` entries before kind v0.20 (one for each alias
    too, so ``k8s.gcr.io/...`` goes through the registry.k8s.io mirror), none after (hosts.toml files instead)."""
    if not _before_v020(kind_version):
        return []
    out = []
    for host in sorted(hosts):
        for name in [host, *sorted(a for a, h in ALIASES.items() if h == host and a != "registry-1.docker.io")]:
            out.append(
                f'[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{name}"]\n'
                f'  endpoint = ["{mirror_endpoint(host)}", "{UPSTREAMS[host]}"]'
            )
    return out


def hosts_toml(host: str) -> str:
    """containerd ``hosts.toml`` for one upstream host (kind v0.20 and later): the mirror first, then upstream."""
    return f'server = "{UPSTREAMS[host]}"\n\n[host."{mirror_endpoint(host)}"]\n  capabilities = ["pull", "resolve"]\n'


def hosts_files(kind_version: str, hosts: Iterable[str]) -> dict[str, str]:
    """path on each node -> content, for kind v0.20 and later (``{}`` before: the patches do it)."""
    if _before_v020(kind_version):
        return {}
    out: dict[str, str] = {}
    for host in sorted(hosts):
        for name in [host, *sorted(a for a, h in ALIASES.items() if h == host and a != "registry-1.docker.io")]:
            out[f"{CERTS_D}/{name}/hosts.toml"] = hosts_toml(host)
    return out


def registry_config(remote: str | None) -> str:
    """distribution's ``config.yml`` for one mirror: a pull-through cache of ``remote``, or a plain registry that
    the offline fill pushes into (a proxy registry refuses pushes)."""
    proxy = f"proxy:\n  remoteurl: {remote}\n" if remote else ""
    return (
        "version: 0.1\n"
        "log:\n  fields:\n    service: registry\n"
        "storage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n  delete:\n    enabled: true\n"
        f"http:\n  addr: :{CONTAINER_PORT}\n"
        f"{proxy}"
    )


def push_target(ref: str, host_port: int) -> str:
    """Where the test process pushes ``ref`` into its mirror (published on 127.0.0.1, where Docker allows HTTP)."""
    r = parse_ref(ref)
    return f"127.0.0.1:{host_port}/{r.path}:{r.tag}"


@dataclass(frozen=True)
class Rewrite:
    """A digest-pinned reference rewritten to its tag, because the image served here is a local build."""

    where: str
    upstream: str
    here: str

    def as_text(self) -> str:
        return f"{self.where}: {self.upstream} -> {self.here} (a local build cannot match the upstream digest)"


def _containers(obj: Obj) -> list[tuple[str, dict[str, Any]]]:
    kind = obj.get("kind")
    pod = pod_spec(obj)
    if pod is None:
        return []
    out = []
    for field in ("initContainers", "containers"):
        for c in pod.get(field) or []:
            if isinstance(c, dict) and isinstance(c.get("image"), str):
                out.append((f"{kind}/{(obj.get('metadata') or {}).get('name')} {field[:-1]} {c.get('name')}", c))
    return out


def rewrite_digests(objs: list[Obj], built: set[str]) -> tuple[list[Obj], list[Rewrite]]:
    """Copies of ``objs`` whose digest-pinned images that were built here (``built``: tagged refs, normalized)
    name the tag instead; each change as a :class:`Rewrite`. Other images are left as they are."""
    out: list[Obj] = []
    rewrites: list[Rewrite] = []
    for obj in objs:
        new = copy.deepcopy(obj)
        for where, c in _containers(new):
            try:
                r = parse_ref(c["image"])
            except RefError:
                continue
            if r.digest and r.tagged in built:
                here = c["image"].split("@", 1)[0]
                rewrites.append(Rewrite(where, c["image"], here))
                c["image"] = here
        out.append(new)
    return out, rewrites
