"""The built-in resources the simulated API server serves, and CRDs registered from real manifests.

Scopes, kinds and the status subresource follow the Kubernetes API reference (v1.25-v1.34); custom
resources come from the ``CustomResourceDefinition`` objects of the upstream install manifests
(``spec.names``, ``spec.scope``, ``versions[].subresources.status``), exactly as kube-apiserver's
apiextensions server registers them.
"""

from __future__ import annotations

from typing import Any

from argo_tutorial_suite.backends.sim.store import Res

BUILTIN: tuple[Res, ...] = (
    Res("", "v1", "namespaces", "Namespace", namespaced=False, short=("ns",)),
    Res("", "v1", "nodes", "Node", namespaced=False, short=("no",)),
    Res("", "v1", "pods", "Pod", short=("po",)),
    Res("", "v1", "services", "Service", short=("svc",)),
    Res("", "v1", "endpoints", "Endpoints", status=False, short=("ep",)),
    Res("", "v1", "secrets", "Secret", status=False),
    Res("", "v1", "configmaps", "ConfigMap", status=False, short=("cm",)),
    Res("", "v1", "serviceaccounts", "ServiceAccount", status=False, short=("sa",)),
    Res("", "v1", "events", "Event", status=False, short=("ev",)),
    Res("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",)),
    Res("apps", "v1", "deployments", "Deployment", short=("deploy",)),
    Res("apps", "v1", "replicasets", "ReplicaSet", short=("rs",)),
    Res("apps", "v1", "statefulsets", "StatefulSet", short=("sts",)),
    Res("apps", "v1", "daemonsets", "DaemonSet", short=("ds",)),
    Res("batch", "v1", "jobs", "Job"),
    Res("networking.k8s.io", "v1", "ingresses", "Ingress", short=("ing",)),
    Res("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False, status=False),
    Res("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", status=False),
    Res("rbac.authorization.k8s.io", "v1", "roles", "Role", status=False),
    Res("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", status=False),
    Res("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False, status=False),
    Res("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False, status=False),
    Res(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short=("crd",),
    ),
    Res(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
        status=False,
    ),
    Res(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        namespaced=False,
        status=False,
    ),
    Res("coordination.k8s.io", "v1", "leases", "Lease", status=False),
    Res("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
)


def from_crd(crd: dict[str, Any]) -> list[Res]:
    """One :class:`Res` per served version of a CRD."""
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for v in spec.get("versions", []):
        if not v.get("served", True):
            continue
        out.append(
            Res(
                spec["group"],
                v["name"],
                names["plural"],
                names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                status="status" in (v.get("subresources") or {}),
                short=tuple(names.get("shortNames") or ()),
            )
        )
    return out
