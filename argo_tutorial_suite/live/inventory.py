"""Existing-cluster mode: which of the tutorial's components a participant's cluster runs, which
version, and whether each is healthy. Pure functions over the workloads read from the cluster.

Versions are read from the controller images the upstream manifests ship (``quay.io/argoproj/argocd:vX``,
``quay.io/argoproj/argo-rollouts:vX``, ``quay.io/argoproj/workflow-controller:vX``,
``quay.io/argoproj/argo-events:vX``, ``registry.k8s.io/ingress-nginx/controller:vX@sha256:...``,
``quay.io/jetstack/cert-manager-controller:vX``), in the namespaces the tutorial installs into.
The two UIs the tutorial port-forwards are ``service/argocd-server`` 443 (local 8080) and
``deployment/argo-server`` 2746; ``argocd-initial-admin-secret`` holds the first admin password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.verdicts.waits import Seen, State

# component -> (namespace, image repository suffix of its main controller)
CONTROLLER_IMAGES: dict[str, tuple[str, str]] = {
    "argo-cd": ("argocd", "argoproj/argocd"),
    "argo-rollouts": ("argo-rollouts", "argoproj/argo-rollouts"),
    "argo-workflows": ("argo", "argoproj/workflow-controller"),
    "argo-events": ("argo-events", "argoproj/argo-events"),
    "ingress-nginx": ("ingress-nginx", "ingress-nginx/controller"),
    "traefik": ("traefik", "traefik"),  # ingress-nginx's successor (D37): either one serves the tutorial's Ingresses
    "cert-manager": ("cert-manager", "jetstack/cert-manager-controller"),
}
UIS: dict[str, tuple[str, str, int]] = {
    "Argo CD UI (port-forward 8080:443)": ("argocd", "service/argocd-server", 443),
    "Argo Workflows UI (port-forward 2746)": ("argo", "deployment/argo-server", 2746),
}
ADMIN_SECRET = ("argocd", "argocd-initial-admin-secret")
_TAG = re.compile(r":(?P<tag>v?\d+\.\d+\.\d+[^@]*)(?:@sha256:[0-9a-f]+)?$")


def image_version(image: str, repo_suffix: str) -> str | None:
    name = image.split("@")[0].rsplit(":", 1)[0]
    if not name.endswith(repo_suffix):
        return None
    m = _TAG.search(image)
    return m.group("tag") if m else "unknown"


@dataclass(frozen=True)
class ComponentState:
    component: str
    installed: bool
    version: str | None
    health: Seen

    @property
    def verdict(self) -> str:
        if not self.installed:
            return "missing"
        return (
            "healthy"
            if self.health.state is State.OK
            else ("broken" if self.health.state is State.FAILED else "not ready")
        )


INGRESS_CONTROLLERS = ("ingress-nginx", "traefik")


def one_ingress_controller(states: list[ComponentState]) -> list[ComponentState]:
    """The tutorial needs one Ingress controller: ingress-nginx as written, or Traefik in its place (D37). The one
    not installed is left out when the other is; with neither, ingress-nginx (the tutorial's) is reported missing."""
    installed = {s.component for s in states if s.installed and s.component in INGRESS_CONTROLLERS}
    if not installed:
        return [s for s in states if s.component != "traefik"]
    return [s for s in states if s.component not in INGRESS_CONTROLLERS or s.component in installed]


def component_state(component: str, objects: list[Obj], pods: list[Obj]) -> ComponentState:
    ns, suffix = CONTROLLER_IMAGES[component]
    version = None
    for o in objects:
        if o.get("metadata", {}).get("namespace") != ns:
            continue
        for c in ((o.get("spec") or {}).get("template", {}).get("spec", {}) or {}).get("containers", []):
            v = image_version(str(c.get("image", "")), suffix)
            if v:
                version = v
    installed = version is not None
    health = (
        readiness.component(component, objects, [p for p in pods if p.get("metadata", {}).get("namespace") == ns])
        if installed
        else Seen.failed(f"{component}: no workload with image */{suffix} in namespace {ns}")
    )
    return ComponentState(component, installed, version, health)


def version_drift(found: str | None, expected: str) -> str | None:
    if found is None or found == expected:
        return None
    return f"runs {found}, the suite's pins say {expected}"
