"""The tutorial's stack, named once: each component's namespace, its controllers' pod selectors, and the
objects its readiness is judged by. Every backend and the diagnostics read this table (no backend owns it).

Namespaces are the ones the tutorial's install script creates (and the install manifests assume); selectors
are the controllers' pod labels in the release manifests (``app.kubernetes.io/name=argocd-server``, ...).
"""

from __future__ import annotations

from typing import Protocol

from argo_tutorial_suite.objects import Obj

COMPONENT_NS: dict[str, str] = {
    "argo-cd": "argocd",
    "argo-rollouts": "argo-rollouts",
    "argo-workflows": "argo",
    "argo-events": "argo-events",
    "ingress-nginx": "ingress-nginx",
    "traefik": "traefik",  # the corrected profile's Ingress controller at current pins (D37)
    "cert-manager": "cert-manager",
}
NAMESPACES: tuple[str, ...] = tuple(COMPONENT_NS.values())

# (namespace, pod label selector) of every controller whose logs a failure report carries.
CONTROLLERS: tuple[tuple[str, str], ...] = (
    ("argocd", "app.kubernetes.io/name=argocd-application-controller"),
    ("argocd", "app.kubernetes.io/name=argocd-repo-server"),
    ("argocd", "app.kubernetes.io/name=argocd-server"),
    ("argo-rollouts", "app.kubernetes.io/name=argo-rollouts"),
    ("argo", "app=workflow-controller"),
    ("argo-events", "app.kubernetes.io/name=controller-manager"),
    ("ingress-nginx", "app.kubernetes.io/component=controller"),
    ("traefik", "app.kubernetes.io/name=traefik"),
    ("cert-manager", "app.kubernetes.io/instance=cert-manager"),
)

WORKLOADS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("batch/v1", "Job"))
WEBHOOKS = (
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
)


class Lister(Protocol):
    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[Obj]: ...


def component_objects(kube: Lister, component: str) -> tuple[list[Obj], list[Obj]]:
    """(objects, pods) a component's readiness is judged by (:func:`argo_tutorial_suite.probes.readiness.component`): its
    workloads, the webhook configurations, and which Secrets exist in its namespace (names only: no data is
    kept, so none can reach a report)."""
    ns = COMPONENT_NS[component]
    objs: list[Obj] = []
    for api_version, kind in WORKLOADS:
        objs += kube.list(api_version, kind, ns)
    for api_version, kind in WEBHOOKS:
        objs += kube.list(api_version, kind)
    objs += [
        {"kind": "Secret", "metadata": {"name": o["metadata"]["name"], "namespace": ns}}
        for o in kube.list("v1", "Secret", ns)
    ]
    return objs, kube.list("v1", "Pod", ns)
