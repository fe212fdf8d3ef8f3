"""The ingress controller that stands in for ingress-nginx where its image cannot be built (no registry, and
OpenResty's Lua libraries are in no Debian release): Traefik, a real Kubernetes Ingress controller built from
its Go module (pure manifests; the kind backend applies them and records the substitution).

It is set up to take the tutorial's Ingresses as ingress-nginx's kind provider would (``deploy/static/provider/
kind/deploy.yaml``): the ``nginx`` IngressClass (here with Traefik's controller name) and the deprecated
``kubernetes.io/ingress.class: nginx`` annotation (Traefik's ``providers.kubernetesingress.ingressclass``), host
ports 80 and 443 on the ``ingress-ready`` node, and ``localhost`` published in each Ingress's status
(``providers.kubernetesingress.ingressendpoint.hostname``), as the kind provider's ``--publish-status-address``
does. What only ingress-nginx decides (its install step, D6, which certificate D14 serves, its redirects) is
"not verified here" on this substitute, never passed.
"""

from __future__ import annotations

from argo_tutorial_suite.objects import Obj

NAMESPACE = "argo-suite-ingress"
NAME = "traefik"
IMAGE_REPOSITORY = "docker.io/library/traefik"
VERSION = "v2.10.7"  # the harness's choice: a Traefik v2 release the Go module proxy serves here
IMAGE = f"{IMAGE_REPOSITORY}:{VERSION}"
CONTROLLER = "traefik.io/ingress-controller"
NOT_VERIFIED = "not verified here (ingress controller substituted: {image} stands in for ingress-nginx)"
# What the substitution leaves unverified, by the tutorial's defects that only ingress-nginx decides.


def args() -> list[str]:
    return [
        "--entrypoints.web.address=:80",
        "--entrypoints.websecure.address=:443",
        "--entrypoints.websecure.http.tls=true",
        "--providers.kubernetesingress=true",
        "--providers.kubernetesingress.ingressclass=nginx",
        "--providers.kubernetesingress.ingressendpoint.hostname=localhost",
        "--ping=true",
        "--log.level=INFO",
    ]


def manifests(image: str) -> list[Obj]:
    labels = {"app.kubernetes.io/name": NAME}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": NAMESPACE}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"argo-suite-{NAME}"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "endpoints", "secrets"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["extensions", "networking.k8s.io"],
                    "resources": ["ingresses", "ingressclasses"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["extensions", "networking.k8s.io"],
                    "resources": ["ingresses/status"],
                    "verbs": ["update"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"argo-suite-{NAME}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"argo-suite-{NAME}"},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            # what ingress-nginx's kind provider has as ``ingress-nginx-controller``: the in-cluster address of the
            # controller (the local ACME server's DNS answers every name with it, for HTTP-01)
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "web"},
                    {"name": "https", "port": 443, "targetPort": "websecure"},
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "nginx"},
            "spec": {"controller": CONTROLLER},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": NAME,
                        "nodeSelector": {"ingress-ready": "true", "kubernetes.io/os": "linux"},
                        "tolerations": [
                            {
                                "key": "node-role.kubernetes.io/control-plane",
                                "operator": "Exists",
                                "effect": "NoSchedule",
                            },
                            {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
                        ],
                        "containers": [
                            {
                                "name": NAME,
                                "image": image,
                                "args": args(),
                                "ports": [
                                    {"name": "web", "containerPort": 80, "hostPort": 80},
                                    {"name": "websecure", "containerPort": 443, "hostPort": 443},
                                ],
                                "readinessProbe": {"httpGet": {"path": "/ping", "port": 8080}, "periodSeconds": 2},
                            }
                        ],
                    },
                },
            },
        },
    ]


def note(image: str) -> str:
    return NOT_VERIFIED.format(image=image)
