"""Existing-cluster mode for workshop instructors: read-only checks of a participant's cluster.

Nothing is created or deleted: the components are found by their controller images, their health by
:mod:`argo_tutorial_suite.probes.readiness`, the two UIs the tutorial port-forwards are reached through the suite's own
port-forward, and the Argo CD initial admin secret is checked for existence only (its value is never read).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from argo_tutorial_suite.backends.portforward import PortForwardError, pick_pod, port_forward
from argo_tutorial_suite.kube import Kube
from argo_tutorial_suite.live import inventory as inventory
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tutorial.stack import COMPONENT_NS, CONTROLLERS, WORKLOADS, component_objects
from argo_tutorial_suite.verdicts.diagnostics import write_artifacts
from argo_tutorial_suite.verdicts.waits import Seen


@dataclass
class ExistingCluster:
    kube: Kube
    kubectl: str
    kubeconfig: Path
    context: str | None = None
    name: str = "existing"
    simulated: bool = False
    registry: str = ""

    @property
    def label(self) -> str:
        return f"real (existing cluster{', context ' + self.context if self.context else ''})"

    def kube_args(self) -> list[str]:
        return [f"--kubeconfig={self.kubeconfig}", *([f"--context={self.context}"] if self.context else [])]

    def components(self) -> list[inventory.ComponentState]:
        out = []
        for comp in COMPONENT_NS:
            objs, pods = component_objects(self.kube, comp)
            out.append(inventory.component_state(comp, objs, pods))
        return inventory.one_ingress_controller(out)

    def admin_secret(self) -> Seen:
        ns, name = inventory.ADMIN_SECRET
        # Only the metadata matters; the object never reaches a report (redacted if it did).
        found = self.kube.get("v1", "Secret", name, ns)
        if found is None:
            return Seen.failed(
                f"secret {ns}/{name} not found: Argo CD deletes it after the first password change (then log in with the new one)"
            )
        return Seen.ok(f"secret {ns}/{name} exists")

    def ui(self, namespace: str, target: str, port: int) -> Seen:
        kind, name = target.split("/", 1)
        selector = {"service": f"app.kubernetes.io/name={name}", "deployment": f"app={name}"}[kind]
        pods = self.kube.list("v1", "Pod", namespace, label_selector=selector)
        try:
            with port_forward(
                self.kubectl,
                namespace,
                f"pod/{pick_pod(pods)}",
                8080 if name == "argocd-server" else port,
                self.kube_args(),
            ) as local:
                r = httpx.get(f"https://127.0.0.1:{local}/", verify=False, timeout=10)
        except (PortForwardError, httpx.HTTPError) as e:
            return Seen.failed(f"{target} in {namespace}: {e}")
        if r.status_code >= 500:
            return Seen.failed(f"{target} answered {r.status_code}")
        return Seen.ok(f"{target} answered {r.status_code}")

    @contextmanager
    def argocd_api(self) -> Iterator[str]:
        pods = self.kube.list("v1", "Pod", "argocd", label_selector="app.kubernetes.io/name=argocd-server")
        with port_forward(self.kubectl, "argocd", f"pod/{pick_pod(pods)}", 8080, self.kube_args()) as port:
            yield f"https://127.0.0.1:{port}"

    def list_objects(self, namespaces: Any) -> list[Obj]:
        return [
            o for ns in namespaces for api_version, kind in WORKLOADS for o in self.kube.list(api_version, kind, ns)
        ]

    def list_events(self, namespaces: Any) -> list[Obj]:
        return [e for ns in namespaces for e in self.kube.list("v1", "Event", ns)]

    def pod_logs(self, namespace: str, selector: str, tail: int) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self.kube.list("v1", "Pod", namespace, label_selector=selector):
            try:
                out[p["metadata"]["name"]] = self.kube.logs(namespace, p["metadata"]["name"], tail=tail)
            except Exception as e:
                out[p["metadata"]["name"]] = f"(no logs: {e})"
        return out

    def diagnostics(self, dest: Path, namespaces: list[str]) -> str:
        return write_artifacts(dest, self, [*namespaces, *{ns for ns, _ in CONTROLLERS}], REDACTOR)[1]

    def close(self, failed: bool) -> str:
        return "existing cluster left as it was (read-only mode)"
