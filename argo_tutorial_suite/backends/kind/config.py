"""The generated kind ``Cluster`` config (``kind.x-k8s.io/v1alpha4``) and its identity hash.

kind facts relied on (kubernetes-sigs/kind ``site/content/docs/user/configuration.md``):
``nodes[].labels`` (kind >= v0.11), ``extraPortMappings`` with ``listenAddress``, ``containerdConfigPatches``;
the local-registry recipe's ``config_path = "/etc/containerd/certs.d"`` patch (needed before kind v0.27,
harmless after). The ingress-nginx kind provider binds hostPorts 80/443 on the node labelled
``ingress-ready=true``; we map those to free unprivileged ports on 127.0.0.1.

The hash covers everything that shapes the cluster except the host ports, and is also written as a
label on the control-plane node, so a reused cluster proves which config created it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from argo_tutorial_suite.backends.gitserver import GIT_NODE_PORT
from argo_tutorial_suite.backends.kind import mirror_config as mirror

API_VERSION = "kind.x-k8s.io/v1alpha4"
HASH_LABEL = "argo-suite.test/config-hash"
INGRESS_READY_LABEL = "ingress-ready"
CONTAINERD_CERTS_D_PATCH = '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'
# On a kernel that refuses a negative oom_score_adj to a process without CAP_SYS_RESOURCE (our VMs: runc fails
# "failed to update /proc/self/oom_score_adj: Permission denied"), containerd must clamp instead of failing:
# the CRI plugin's ``restrict_oom_score_adj`` (containerd docs/cri/config.md; what kind sets for rootless).
# kind before v0.20 (its local-registry recipe, site/static/examples/kind-with-registry.sh at v0.17.0 to v0.19.0)
# wires a registry with a ``mirrors`` entry: kind v0.17.0's node config.toml itself has
# ``registry.mirrors."k8s.gcr.io"``, and containerd then refuses ``config_path`` beside it (measured: the CRI
# plugin does not load, "`mirrors` cannot be set when `config_path` is provided").
MIRRORS_UNTIL = (0, 20)
CONTAINERD_RESTRICT_OOM_PATCH = '[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true'


@dataclass(frozen=True)
class HostPorts:
    http: int
    https: int
    git: int


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    node_image: str
    control_planes: int = 1
    workers: int = 0
    extra_labels: dict[str, str] = field(default_factory=dict)
    local_image: bool = False  # built on this machine (scripts/offline-images): a tag, checked by image ID
    restrict_oom_score_adj: bool = False
    kind_version: str = "v0.30.0"
    registry_host: str = "kind-registry:5000"
    mirror_hosts: tuple[str, ...] = ()  # --registry-mirror: upstream hosts pulled through local mirrors

    def __post_init__(self) -> None:
        if self.control_planes < 1:
            raise ValueError("a kind cluster needs at least one control-plane node")
        if not self.local_image and "@sha256:" not in self.node_image:
            raise ValueError(f"node image {self.node_image!r} must be pinned by digest (kind release notes list them)")
        if len(self.name) > 50 or not self.name.replace("-", "").isalnum() or self.name != self.name.lower():
            raise ValueError(f"cluster name {self.name!r}: lower-case letters, digits and '-', at most 50 characters")

    def config_hash(self) -> str:
        ident = {
            "name": self.name,
            "image": self.node_image,
            "cp": self.control_planes,
            "workers": self.workers,
            "labels": self.extra_labels,
            "containerd": self.containerd_patches(),
            "git-node-port": GIT_NODE_PORT,
        }
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]

    def containerd_patches(self) -> list[str]:
        patches = [registry_patch(self.kind_version, self.registry_host)]
        patches += mirror.containerd_patches(self.kind_version, self.mirror_hosts)
        if self.restrict_oom_score_adj:
            patches.append(CONTAINERD_RESTRICT_OOM_PATCH)
        return patches


def registry_patch(kind_version: str, registry_host: str) -> str:
    """How the nodes' containerd finds the local registry: a ``mirrors`` entry before kind v0.20, the
    ``certs.d`` directory (hosts.toml per registry) from then on, as kind's recipe at each version does."""
    m = re.match(r"v?(\d+)\.(\d+)", kind_version)
    if not m:
        raise ValueError(f"kind version {kind_version!r} is not vMAJOR.MINOR.PATCH")
    if (int(m.group(1)), int(m.group(2))) < MIRRORS_UNTIL:
        return (
            f'[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{registry_host}"]\n'
            f'  endpoint = ["http://{registry_host}"]'
        )
    return CONTAINERD_CERTS_D_PATCH


def render(spec: ClusterSpec, ports: HostPorts) -> dict[str, Any]:
    """The kind config for ``spec``; the first control-plane node carries the ingress label and port mappings."""
    first: dict[str, Any] = {
        "role": "control-plane",
        "image": spec.node_image,
        "labels": {INGRESS_READY_LABEL: "true", HASH_LABEL: spec.config_hash(), **spec.extra_labels},
        "extraPortMappings": [
            {"containerPort": 80, "hostPort": ports.http, "listenAddress": "127.0.0.1", "protocol": "TCP"},
            {"containerPort": 443, "hostPort": ports.https, "listenAddress": "127.0.0.1", "protocol": "TCP"},
            {"containerPort": GIT_NODE_PORT, "hostPort": ports.git, "listenAddress": "127.0.0.1", "protocol": "TCP"},
        ],
    }
    nodes = [first]
    nodes += [{"role": "control-plane", "image": spec.node_image} for _ in range(spec.control_planes - 1)]
    nodes += [{"role": "worker", "image": spec.node_image} for _ in range(spec.workers)]
    return {
        "kind": "Cluster",
        "apiVersion": API_VERSION,
        "name": spec.name,
        "nodes": nodes,
        "containerdConfigPatches": spec.containerd_patches(),
    }


def to_yaml(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)


def ports_of(config: dict[str, Any]) -> HostPorts:
    """Read the host ports back from a rendered config (for reuse of a kept cluster)."""
    by_container = {m["containerPort"]: m["hostPort"] for m in config["nodes"][0].get("extraPortMappings", [])}
    try:
        return HostPorts(http=by_container[80], https=by_container[443], git=by_container[GIT_NODE_PORT])
    except KeyError as e:
        raise ValueError(f"kind config lacks the port mapping for container port {e}") from e


def hash_of(config: dict[str, Any]) -> str | None:
    label = config.get("nodes", [{}])[0].get("labels", {}).get(HASH_LABEL)
    return str(label) if label is not None else None


def reuse_decision(existing_clusters: list[str], name: str, live_hash: str | None, wanted_hash: str) -> str:
    """What to do with a cluster of this name: ``create``, ``reuse`` or ``recreate`` (stale config)."""
    if name not in existing_clusters:
        return "create"
    if live_hash != wanted_hash:
        return "recreate"
    return "reuse"
