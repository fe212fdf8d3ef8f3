"""References between objects, checked in general (not only the tutorial's).

A reference to an object the folder does not hold, of a kind a cluster usually holds out of band (a
ServiceAccount, a Secret, a ConfigMap, a ClusterRole, an Issuer), is a :data:`NOT_IN_FOLDER` note: shown in a
report, never a failure. A reference that cannot work whatever the cluster holds is a finding:

* a workload's ``spec.selector`` must match its own pod template (apps/v1 and Argo Rollouts refuse otherwise);
* a Service whose namespace has pod templates in the folder selects at least one of them, and a named
  ``targetPort`` is a container port name of a selected template (Kubernetes ``Service`` spec);
* an Ingress ``cert-manager.io/issuer`` annotation and a Certificate ``issuerRef`` name an Issuer (or
  ClusterIssuer) that exists.
"""

from __future__ import annotations

from collections.abc import Iterator

from argo_tutorial_suite.objects import Obj, dig, find, namespace, of_kind, ref, selector_matches
from argo_tutorial_suite.static.engine import Bundle, rule
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.rules.workflows import sensor_workflows

NOT_IN_FOLDER = "NOT-IN-FOLDER"
PORT_UNDECLARED = "PORT-UNDECLARED"  # a note: Kubernetes routes to a port a container does not declare
# notes: shown in a report, never a failure (what depends on the cluster or on tools outside the folder)
NOTE_RULES = frozenset({NOT_IN_FOLDER, PORT_UNDECLARED, "HELM-CHART", "SCHEMA-NO-CRD"})
WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Rollout", "Job")
# ClusterRoles every cluster has (kubernetes RBAC "user-facing roles" and the bootstrap policy)
BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})


def templates(objs: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(owner, pod template) for every workload."""
    for o in of_kind(objs, *WORKLOADS):
        t = dig(o, "spec", "template")
        if isinstance(t, dict):
            yield o, t


def note(obj: Obj, what: str, file: str) -> Finding:
    return Finding(
        NOT_IN_FOLDER,
        f"{ref(obj)}:{what.replace(' ', '/')}",  # one note per missing object (findings compare by rule and object)
        f"{what} is not in this folder (the cluster may hold it)",
        "create it in the cluster before this is applied, or add it to the folder",
        file,
    )


@rule("WORKLOAD-SELECTOR")
def workload_selector(b: Bundle) -> Iterator[Finding]:
    for o, t in templates(b.objects):
        want = dig(o, "spec", "selector", "matchLabels", default=None)
        labels = dig(t, "metadata", "labels", default={}) or {}
        if isinstance(want, dict) and want and not all(labels.get(k) == v for k, v in want.items()):
            yield Finding(
                "WORKLOAD-SELECTOR",
                ref(o),
                f"spec.selector.matchLabels {want} does not match its pod template's labels {labels}",
                "give spec.template.metadata.labels every label of spec.selector.matchLabels",
                b.file_of(o),
            )


@rule("SERVICE-SELECTOR", "SERVICE-TARGETPORT", "PORT-UNDECLARED")
def service_selects(b: Bundle) -> Iterator[Finding]:
    by_namespace: dict[str, list[tuple[Obj, Obj]]] = {}
    for o, t in templates(b.objects):
        by_namespace.setdefault(namespace(o), []).append((o, t))
    for svc in of_kind(b.objects, "Service"):
        selector = dig(svc, "spec", "selector", default=None)
        if not selector:
            continue
        same_ns = by_namespace.get(namespace(svc), [])
        if not same_ns:
            continue  # the pods it selects are not described here
        picked = [t for _, t in same_ns if selector_matches(selector, dig(t, "metadata", "labels", default={}))]
        if not picked:
            yield Finding(
                "SERVICE-SELECTOR",
                ref(svc),
                f"selector {selector} matches no pod template in namespace {namespace(svc)!r} of this folder",
                "make the selector a subset of the pod template labels it should serve",
                b.file_of(svc),
            )
            continue
        declared = [
            p for t in picked for c in dig(t, "spec", "containers", default=[]) or [] for p in c.get("ports") or []
        ]
        names = {p.get("name") for p in declared}
        numbers = {p.get("containerPort") for p in declared}
        for p in dig(svc, "spec", "ports", default=[]) or []:
            tp = p.get("targetPort", p.get("port"))
            if isinstance(tp, int) and numbers and tp not in numbers:
                # containerPort is informational (the pod API): a note, never a failure
                yield Finding(
                    PORT_UNDECLARED,
                    f"{ref(svc)}:targetPort/{tp}",
                    f"targetPort {tp} is not among the ports the pods it selects declare "
                    f"({', '.join(str(n) for n in sorted(n for n in numbers if isinstance(n, int)))}); "
                    "it works only if the container listens there undeclared",
                    "target a declared containerPort, or declare this one",
                    b.file_of(svc),
                )
            if isinstance(tp, str) and tp not in names:
                yield Finding(
                    "SERVICE-TARGETPORT",
                    ref(svc),
                    f"targetPort {tp!r} names no container port of the pods it selects",
                    "use the name of a containers[].ports[].name of those pods, or a port number",
                    b.file_of(svc),
                )


def _pod_specs(objs: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for o, t in templates(objs):
        yield o, dig(t, "spec", default={}) or {}
    for s in of_kind(objs, "Sensor"):
        for wf in sensor_workflows(s):
            spec = dig(wf, "spec", default={}) or {}
            yield s, spec
            for tmpl in spec.get("templates") or []:
                yield s, {"containers": [tmpl["container"]]} if isinstance(tmpl.get("container"), dict) else {}
                yield s, {"volumes": tmpl.get("volumes") or []}
    for o in of_kind(objs, "Workflow", "Pod"):
        yield o, dig(o, "spec", default={}) or {}


@rule("NOT-IN-FOLDER")
def pod_references(b: Bundle) -> Iterator[Finding]:
    """ServiceAccounts, Secrets and ConfigMaps a pod spec (or a Workflow a Sensor creates) refers to."""
    seen: set[tuple[str, str, str]] = set()
    for owner, spec in _pod_specs(b.objects):
        ns = namespace(owner)
        wanted: list[tuple[str, str]] = []
        if spec.get("serviceAccountName") and spec["serviceAccountName"] != "default":  # every namespace has it
            wanted.append(("ServiceAccount", str(spec["serviceAccountName"])))
        for v in spec.get("volumes") or []:
            if dig(v, "secret", "secretName"):
                wanted.append(("Secret", str(v["secret"]["secretName"])))
            if dig(v, "configMap", "name"):
                wanted.append(("ConfigMap", str(v["configMap"]["name"])))
        for c in spec.get("containers") or []:
            for e in c.get("env") or []:
                for k, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    n = dig(e, "valueFrom", key, "name")
                    if n:
                        wanted.append((k, str(n)))
            for src in c.get("envFrom") or []:
                for k, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    n = dig(src, key, "name")
                    if n:
                        wanted.append((k, str(n)))
        for k, n in wanted:
            if find(b.objects, k, n, ns) is None and (ref(owner), k, n) not in seen:
                seen.add((ref(owner), k, n))
                yield note(owner, f"{k} {ns}/{n}", b.file_of(owner))


@rule("NOT-IN-FOLDER")
def rbac_references(b: Bundle) -> Iterator[Finding]:
    for rb in of_kind(b.objects, "RoleBinding", "ClusterRoleBinding"):
        role = rb.get("roleRef") or {}
        rk, rn = role.get("kind"), str(role.get("name", ""))
        if rk == "Role" and find(b.objects, "Role", rn, namespace(rb)) is None:
            yield note(rb, f"Role {namespace(rb)}/{rn}", b.file_of(rb))
        elif rk == "ClusterRole" and rn not in BUILTIN_CLUSTER_ROLES and find(b.objects, "ClusterRole", rn) is None:
            yield note(rb, f"ClusterRole {rn}", b.file_of(rb))
        for s in rb.get("subjects") or []:
            if s.get("kind") == "ServiceAccount" and s.get("name") != "default":  # every namespace has it
                ns = s.get("namespace") or namespace(rb)
                if find(b.objects, "ServiceAccount", str(s.get("name")), ns) is None:
                    yield note(rb, f"ServiceAccount {ns}/{s.get('name')}", b.file_of(rb))


@rule("NOT-IN-FOLDER")
def issuer_references(b: Bundle) -> Iterator[Finding]:
    def missing(o: Obj, issuer_kind: str, issuer: str) -> Iterator[Finding]:
        ns = None if issuer_kind == "ClusterIssuer" else namespace(o)
        if find(b.objects, issuer_kind, issuer, ns) is None:
            yield note(o, f"{issuer_kind} {(ns + '/') if ns else ''}{issuer}", b.file_of(o))

    for ing in of_kind(b.objects, "Ingress"):
        ann = dig(ing, "metadata", "annotations", default={}) or {}
        if ann.get("cert-manager.io/issuer"):
            yield from missing(ing, "Issuer", str(ann["cert-manager.io/issuer"]))
        if ann.get("cert-manager.io/cluster-issuer"):
            yield from missing(ing, "ClusterIssuer", str(ann["cert-manager.io/cluster-issuer"]))
    for cert in of_kind(b.objects, "Certificate"):
        r = dig(cert, "spec", "issuerRef", default={}) or {}
        if r.get("name"):
            yield from missing(cert, str(r.get("kind") or "Issuer"), str(r["name"]))


__all__ = ["NOT_IN_FOLDER"]


@rule("NOT-IN-FOLDER")
def application_source_path(b: Bundle) -> Iterator[Finding]:
    """An Argo CD Application's ``source.path`` (or ``sources[].path``) against the folder being checked: a path
    the folder lacks is a note, since the Application's repository may be another one."""
    if b.root is None:
        return
    for app in of_kind(b.objects, "Application"):
        spec = dig(app, "spec", default={}) or {}
        sources = [spec.get("source") or {}, *(spec.get("sources") or [])]
        for src in sources:
            path = src.get("path") if isinstance(src, dict) else None
            if not isinstance(path, str) or src.get("chart"):
                continue
            target = (b.root / path).resolve()
            if not target.is_dir():
                yield note(app, f"path {path} of {src.get('repoURL', 'its repository')}", b.file_of(app))
