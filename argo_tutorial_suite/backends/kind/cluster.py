"""The kind cluster's lifecycle: pytest-kind's ``KindCluster`` wrapped where it falls short.

What pytest-kind 22.11.1 does wrong and what this module does instead (harness-anchors 1.5, 1.6):

* reuse ignores the config (``create()`` only checks the name) -> the config hash is a node label;
  a mismatch deletes and recreates;
* reuse with an empty kubeconfig crashes (``create()`` touches it first) -> ``kind export kubeconfig``
  before anything reads it;
* no ``--wait`` -> a bounded wait on every node Ready through the official client;
* binaries downloaded at v0.17.0/amd64 -> resolved by :mod:`argo_tutorial_suite.tools` and passed in;
* ``--keep-cluster`` only -> also keep on failure when asked, and say how to delete it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from argo_tutorial_suite.backends.kind.config import (
    HASH_LABEL,
    ClusterSpec,
    HostPorts,
    hash_of,
    ports_of,
    render,
    reuse_decision,
    to_yaml,
)
from argo_tutorial_suite.proc import Runner
from argo_tutorial_suite.tools import Tool
from argo_tutorial_suite.verdicts.waits import Seen


class KindCreateFailed(RuntimeError):
    """``kind create cluster`` failed; the message has its last output lines and where the node logs are."""


@dataclass(frozen=True)
class KindAccess:
    name: str
    kubeconfig: Path
    ports: HostPorts
    decision: str  # create, reuse, recreate


def nodes_ready(nodes: list[dict[str, Any]], expected: int) -> Seen:
    """All ``expected`` nodes registered and Ready (kind's ``--wait`` checks the same condition)."""
    ready = [
        n
        for n in nodes
        if any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in n.get("status", {}).get("conditions", [])
        )
    ]
    names = ", ".join(n["metadata"]["name"] for n in nodes) or "none"
    if len(nodes) < expected or len(ready) < expected:
        return Seen.pending(f"{len(ready)}/{expected} nodes Ready (registered: {names})")
    return Seen.ok(f"{len(ready)}/{expected} nodes Ready")


def create_error_lines(output: str, keep: int = 12) -> str:
    """The lines of a failed ``kind create`` worth reading: kind's ``ERROR:`` line and kubeadm's messages,
    without the Go stack trace kubeadm appends (``runtime.goexit``, file:line frames)."""
    lines = [ln.rstrip() for ln in output.strip().splitlines() if ln.strip()]
    frame = re.compile(
        r"^\s*(\S+\.go:\d+|\S+\.s:\d+|[\w./*()-]+\.[\w*()]+\(.*\)|runtime\.\w+|main\.main|[\w./-]+\.\(?\*?\w+\)?\.[\w.]+)$"
    )
    useful = [ln for ln in lines if not frame.match(ln)]
    head = [ln for ln in useful if ln.startswith("ERROR")][:1]
    return "\n".join(dict.fromkeys([*head, *useful[-keep:]]))


def keep_after(keep: bool, keep_on_failure: bool, failed: bool) -> bool:
    return keep or (keep_on_failure and failed)


@dataclass
class KindLifecycle:
    spec: ClusterSpec
    kind: Tool
    kubectl: Tool
    workdir: Path
    runner: Runner

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def config_file(self) -> Path:
        return self.workdir / "kind-config.yaml"

    def existing(self) -> list[str]:
        out = self.runner.run(
            [self.kind.path, "get", "clusters"], timeout=60, hint="is Docker running? try: docker info"
        ).stdout
        return [line.strip() for line in out.splitlines() if line.strip() and not line.startswith("No kind clusters")]

    def live_hash(self) -> str | None:
        """The config hash the running cluster was created with (its control-plane node label)."""
        self.runner.run(
            [self.kind.path, "export", "kubeconfig", f"--name={self.spec.name}", f"--kubeconfig={self.kubeconfig}"],
            timeout=60,
        )
        ran = self.runner.run(
            [
                self.kubectl.path,
                f"--kubeconfig={self.kubeconfig}",
                "get",
                "node",
                f"{self.spec.name}-control-plane",
                "-o",
                "yaml",
            ],
            timeout=60,
            check=False,
        )
        if ran.returncode != 0:
            return None
        node = yaml.safe_load(ran.stdout) or {}
        label = node.get("metadata", {}).get("labels", {}).get(HASH_LABEL)
        return str(label) if label else None

    def stored_config(self) -> dict[str, Any] | None:
        if not self.config_file.exists():
            return None
        data = yaml.safe_load(self.config_file.read_text())
        return data if isinstance(data, dict) else None

    def up(self, choose_ports: Callable[[], HostPorts]) -> KindAccess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        clusters = self.existing()
        live = self.live_hash() if self.spec.name in clusters else None
        decision = reuse_decision(clusters, self.spec.name, live, self.spec.config_hash())
        stored = self.stored_config()
        if decision == "reuse" and (stored is None or hash_of(stored) != live):
            decision = "recreate"  # the host ports of the kept cluster are unknown
        if decision == "recreate":
            self.delete()
        if decision == "reuse":
            assert stored is not None
            return KindAccess(self.spec.name, self.kubeconfig, ports_of(stored), decision)
        ports = choose_ports()
        config = render(self.spec, ports)
        self.config_file.write_text(to_yaml(config))
        self.create()
        return KindAccess(self.spec.name, self.kubeconfig, ports, decision)

    def create_command(self) -> list[str]:
        """pytest-kind's ``create(config_file)`` command line, plus ``--retain`` so a failed create can be
        diagnosed (its logs exported) before the nodes are removed."""
        return [
            self.kind.path, "create", "cluster", f"--name={self.spec.name}", f"--kubeconfig={self.kubeconfig}",
            f"--image={self.spec.node_image}", "--config", str(self.config_file), "--retain",
        ]  # fmt: skip

    def create(self, timeout: float = 900) -> None:
        """``kind create cluster``, bounded, with its output kept (pytest-kind's ``KindCluster.create`` runs it with
        no timeout and without capturing stderr, harness-anchors 1.6). On failure the nodes' logs go to
        ``<workdir>/create-logs`` and the half-made cluster is deleted."""
        ran = self.runner.run(self.create_command(), timeout=timeout, check=False)
        if ran.returncode == 0:
            return
        logs = self.workdir / "create-logs"
        self.export_logs(logs)
        self.delete()
        tail = create_error_lines(ran.stderr or ran.stdout)
        raise KindCreateFailed(
            f"kind create cluster {self.spec.name} failed ({'timed out' if ran.returncode == -9 else f'exit {ran.returncode}'});"
            f" node logs in {logs}:\n{tail}"
        )

    def delete(self) -> None:
        self.runner.run(
            [self.kind.path, "delete", "cluster", f"--name={self.spec.name}", f"--kubeconfig={self.kubeconfig}"],
            timeout=300,
        )

    def export_logs(self, dest: Path) -> None:
        self.runner.run(
            [self.kind.path, "export", "logs", str(dest), f"--name={self.spec.name}"], timeout=300, check=False
        )

    def down(self, keep: bool, keep_on_failure: bool, failed: bool) -> str:
        if keep_after(keep, keep_on_failure, failed):
            why = "--keep-cluster" if keep else "a test failed and --keep-on-failure is set"
            return (
                f"kind cluster {self.spec.name} kept ({why}); KUBECONFIG={self.kubeconfig}; "
                f"delete it with: kind delete cluster --name={self.spec.name}"
            )
        self.delete()
        return f"kind cluster {self.spec.name} deleted"
