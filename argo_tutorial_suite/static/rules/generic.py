"""Cross-reference checks any Kubernetes reviewer makes: schemas, namespaces, Ingress, Secrets, RBAC."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from argo_tutorial_suite.objects import (
    CLUSTER_SCOPED_KINDS,
    CLUSTER_SCOPED_RESOURCES,
    Obj,
    Objects,
    dig,
    find,
    kind,
    name,
    namespace,
    of_kind,
    of_kind_in,
    ref,
)
from argo_tutorial_suite.static.engine import Bundle, rule
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.rules.refs import note
from argo_tutorial_suite.static.rules.workflows import generated_services, sensor_workflows, workflow_containers
from argo_tutorial_suite.static.schemas import crd_schemas, validate
from argo_tutorial_suite.tutorial.stack import NAMESPACES

STACK_GROUPS = ("argoproj.io", "cert-manager.io", "acme.cert-manager.io")
# AWS Load Balancer Controller: a backend port named ``use-annotation`` takes its action from the Ingress's
# ``alb.ingress.kubernetes.io/actions.<service name>`` annotation (its documented convention, not a Service port)
ALB_ACTION = "use-annotation"
NO_CRD = "SCHEMA-NO-CRD"
# Namespaces the stack's install creates (the tutorial's script and upstream manifests).
STACK_NAMESPACES = {"default", "kube-system", *NAMESPACES}
PUBLIC_ACME = re.compile(r"https://acme(-staging)?(-v02)?\.api\.letsencrypt\.org/")
RESERVED_TLDS = {"test", "example", "invalid", "localhost", "local", "internal"}
PLACEHOLDER_LABELS = re.compile(r"(^|\.)(your|example|domain)(\.|$)")


def builtin_group(group: str) -> bool:
    """The core group and Kubernetes' own API groups (``apps``, ``*.k8s.io``): a kind the target version does not
    serve there is a typo or a removed API; elsewhere it is a custom resource whose CRD decides."""
    return "." not in group or group.endswith(".k8s.io")


@rule("SCHEMA-INVALID", "SCHEMA-UNKNOWN-KIND", NO_CRD, heavy=True)
def schema(b: Bundle) -> Iterator[Finding]:
    """Each object against the Kubernetes OpenAPI schema of the target version or its CRD schema (the stack's, or
    one the folder holds); a custom resource whose CRD is in neither is a note, never a failure."""
    if b.pins is None:
        return
    crds = {**crd_schemas(list(of_kind(b.objects, "CustomResourceDefinition"))), **b.crds}
    for s in b.own_sources():
        group = str(s.obj.get("apiVersion", "")).rpartition("/")[0]
        if not b.crds and group in STACK_GROUPS:
            continue  # no CRDs loaded (no upstream reference): CRs cannot be checked
        if group and not builtin_group(group) and (group, kind(s.obj)) not in crds:
            yield Finding(
                NO_CRD,
                ref(s.obj),
                f"a {group} {kind(s.obj)}: its CRD is neither in this folder nor in the stack, so it is not checked",
                "install its CRD in the cluster before this is applied (or add the CRD to the folder to check it)",
                s.file,
            )
            continue
        for err in validate([s.obj], b.pins.kubernetes, crds):
            rid = "SCHEMA-UNKNOWN-KIND" if err.message.startswith("unknown kind") else "SCHEMA-INVALID"
            yield Finding(
                rid, err.obj, err.message, "compare the field with the API reference of that kind and version", s.file
            )


def _created_namespaces(b: Bundle) -> set[str]:
    made = {name(o) for o in of_kind(b.objects, "Namespace")}
    if b.plan is not None:
        for c in b.plan.commands():
            argv = c.argv
            if argv[:3] == ["kubectl", "create", "namespace"] and len(argv) > 3:
                made.add(argv[3])
    for app in of_kind(b.objects, "Application"):
        if "CreateNamespace=true" in (dig(app, "spec", "syncPolicy", "syncOptions", default=[]) or []):
            made.add(str(dig(app, "spec", "destination", "namespace", default="")))
    return made


@rule("NAMESPACE-MISSING")
def namespaces_exist(b: Bundle) -> Iterator[Finding]:
    """Every namespace an object lives in is created by the bundle, the install, or the Application."""
    made = _created_namespaces(b) | STACK_NAMESPACES
    used: dict[str, list[str]] = defaultdict(list)
    for o in b.objects:
        if namespace(o) and kind(o) not in CLUSTER_SCOPED_KINDS:
            used[namespace(o)].append(ref(o))
    for ns, objs in sorted(used.items()):
        if ns not in made:
            yield Finding(
                "NAMESPACE-MISSING",
                f"Namespace/{ns}",
                f"{len(objs)} object(s) live in namespace {ns!r}, which nothing creates; the first sync fails with 'namespaces \"{ns}\" not found'",
                f"add a Namespace {ns} to the repo or set syncOptions CreateNamespace=true on the Application",
            )


@rule("INGRESS-BACKEND")
def ingress_backends(b: Bundle) -> Iterator[Finding]:
    """Ingress backends name an existing Service and one of its ports."""
    services = Objects([*of_kind(b.objects, "Service"), *generated_services(b.objects)])
    for ing in of_kind(b.objects, "Ingress"):
        legacy = str(ing.get("apiVersion", "")) in ("networking.k8s.io/v1beta1", "extensions/v1beta1")
        for r in dig(ing, "spec", "rules", default=[]) or []:
            for p in dig(r, "http", "paths", default=[]) or []:
                if legacy:  # the v1beta1 shape: backend.serviceName / backend.servicePort (a number or a name)
                    svc_name = dig(p, "backend", "serviceName")
                    sp = dig(p, "backend", "servicePort")
                    port, port_name = (sp, None) if isinstance(sp, int) else (None, sp)
                else:
                    svc_name = dig(p, "backend", "service", "name")
                    port = dig(p, "backend", "service", "port", "number")
                    port_name = dig(p, "backend", "service", "port", "name")
                if svc_name is None:
                    continue  # a resource backend, or a shape the schema rule reports
                svc = find(services, "Service", str(svc_name), namespace(ing))
                if svc is None:
                    yield Finding(
                        "INGRESS-BACKEND",
                        ref(ing),
                        f"backend Service {svc_name!r} does not exist in {namespace(ing)!r}",
                        "name a Service of the same namespace",
                        b.file_of(ing),
                    )
                elif port is not None and port not in [
                    sp.get("port") for sp in dig(svc, "spec", "ports", default=[]) or []
                ]:
                    yield Finding(
                        "INGRESS-BACKEND",
                        ref(ing),
                        f"backend port {port} is not a port of Service {svc_name}",
                        "use one of the Service's ports",
                        b.file_of(ing),
                    )
                elif (
                    port_name is not None
                    and port_name != ALB_ACTION
                    and port_name not in [sp.get("name") for sp in dig(svc, "spec", "ports", default=[]) or []]
                ):
                    yield Finding(
                        "INGRESS-BACKEND",
                        ref(ing),
                        f"backend port name {port_name!r} names no port of Service {svc_name}",
                        "use the name of one of the Service's ports (spec.ports[].name)",
                        b.file_of(ing),
                    )


@rule("INGRESS-TLS-SECRET-SHARED")
def ingress_tls_secret_shared(b: Bundle) -> Iterator[Finding]:
    """Two Ingresses with different hosts must not share a TLS secretName.

    cert-manager v1.11.0 ``pkg/controller/certificate-shim/sync.go``: one Certificate per secret, owned
    by the first Ingress; the other gets "refusing to update non-owned certificate resource".
    """
    by_secret: dict[tuple[str, str], list[tuple[Obj, frozenset[str]]]] = defaultdict(list)
    for ing in of_kind(b.objects, "Ingress"):
        for tls in dig(ing, "spec", "tls", default=[]) or []:
            if tls.get("secretName"):
                by_secret[(namespace(ing), tls["secretName"])].append((ing, frozenset(tls.get("hosts") or [])))
    for (ns, secret), users in sorted(by_secret.items()):
        if len({hosts for _, hosts in users}) > 1:
            for ing, hosts in users:
                yield Finding(
                    "INGRESS-TLS-SECRET-SHARED",
                    ref(ing),
                    f"TLS secret {secret!r} in {ns!r} is shared by Ingresses with different hosts ({', '.join(sorted(hosts))} here); only one host gets a certificate",
                    f"give this Ingress its own secretName, e.g. {name(ing)}-tls",
                    b.file_of(ing),
                )


@rule("INGRESS-CLASS-ANNOTATION")
def ingress_class_annotation(b: Bundle) -> Iterator[Finding]:
    """``kubernetes.io/ingress.class`` is deprecated in favour of ``spec.ingressClassName``."""
    for ing in of_kind(b.objects, "Ingress"):
        if "kubernetes.io/ingress.class" in (dig(ing, "metadata", "annotations", default={}) or {}):
            yield Finding(
                "INGRESS-CLASS-ANNOTATION",
                ref(ing),
                "uses the deprecated kubernetes.io/ingress.class annotation (the API server warns)",
                "set spec.ingressClassName: nginx and drop the annotation",
                b.file_of(ing),
            )


@rule("SECRET-IN-GIT")
def secrets_in_git(b: Bundle) -> Iterator[Finding]:
    """Secrets with data committed in plain text (base64 is not encryption)."""
    for s in of_kind(b.objects, "Secret"):
        if s.get("data") or s.get("stringData"):
            # the key names only, never a value; a section that is not a mapping (invalid, the schema rule says so)
            # is named as such instead of stopping the rule for the Secrets after it
            keys = sorted(
                str(k) if isinstance(part, dict) else f"{name} (not a mapping)"
                for name in ("data", "stringData")
                if (part := s.get(name))
                for k in (part if isinstance(part, dict) else [name])
            )
            yield Finding(
                "SECRET-IN-GIT",
                ref(s),
                f"credentials committed in plain text ({', '.join(keys)})",
                "create the Secret out of band (kubectl create secret, Sealed Secrets, External Secrets) and keep only the reference in Git",
                b.file_of(s),
            )


CREDENTIAL_NAME = re.compile(
    r"(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)", re.IGNORECASE
)


@rule("ENV-CREDENTIAL")
def env_credentials(b: Bundle) -> Iterator[Finding]:
    """A credential written as a literal ``env`` value of a pod template or a Workflow template is committed in
    plain text as surely as a Secret's data (the value itself is never printed)."""
    for owner, where, c in b.derived(workflow_containers):
        for e in c.get("env") or []:
            if not isinstance(e, dict) or "value" not in e or not CREDENTIAL_NAME.search(str(e.get("name", ""))):
                continue
            value = str(e.get("value") or "")
            if not value or value.startswith("$("):
                continue
            yield Finding(
                "ENV-CREDENTIAL",
                ref(owner),
                f"{where}: env {e.get('name')} holds a credential in plain text (value not shown)",
                "take it from a Secret created out of band: env[].valueFrom.secretKeyRef",
                b.file_of(owner),
            )


@rule("ROLE-CLUSTER-SCOPED")
def role_cluster_scoped(b: Bundle) -> Iterator[Finding]:
    """A namespaced Role cannot grant cluster-scoped resources (Kubernetes RBAC)."""
    for role in of_kind(b.objects, "Role"):
        for r in role.get("rules") or []:
            bad = sorted(set(r.get("resources") or []) & CLUSTER_SCOPED_RESOURCES)
            if bad:
                yield Finding(
                    "ROLE-CLUSTER-SCOPED",
                    ref(role),
                    f"lists cluster-scoped {', '.join(bad)}, which a Role cannot grant",
                    "remove them, or use a ClusterRole",
                    b.file_of(role),
                )


def _known_here(b: Bundle, ns: str, sa: str) -> bool:
    """Whether the folder describes ``sa``: its ServiceAccount or a RoleBinding naming it. Otherwise what it may do
    is decided by what the cluster holds, which the folder cannot tell."""
    if find(b.objects, "ServiceAccount", sa, ns) is not None:
        return True
    return any(namespace(rb) == ns and _binds(rb, ns, sa) for rb in of_kind(b.objects, "RoleBinding"))


def _binds(rb: Obj, ns: str, sa: str) -> bool:
    """Whether RoleBinding ``rb`` (in ``ns``) names ServiceAccount ``ns/sa`` among its subjects."""
    return any(
        s.get("kind") == "ServiceAccount" and s.get("name") == sa and s.get("namespace", ns) == ns
        for s in rb.get("subjects") or []
    )


def _role_allows(b: Bundle, ns: str, sa: str, group: str, resource: str, verb: str) -> bool:
    for rb in of_kind(b.objects, "RoleBinding"):
        if namespace(rb) != ns:
            continue
        if not _binds(rb, ns, sa):
            continue
        role = find(
            b.objects,
            str(dig(rb, "roleRef", "kind")),
            str(dig(rb, "roleRef", "name")),
            ns if dig(rb, "roleRef", "kind") == "Role" else None,
        )
        for r in (role or {}).get("rules") or []:
            if (
                (group in (r.get("apiGroups") or []) or "*" in (r.get("apiGroups") or []))
                and (resource in (r.get("resources") or []) or "*" in (r.get("resources") or []))
                and (verb in (r.get("verbs") or []) or "*" in (r.get("verbs") or []))
            ):
                return True
    return False


@rule("RBAC-EXECUTOR", "RBAC-SENSOR-TRIGGER", "NOT-IN-FOLDER")
def rbac(b: Bundle) -> Iterator[Finding]:
    """The Sensor's ServiceAccount may create its trigger's resource; Workflow pods may report results.

    argo-events ``docs/service-accounts.md`` (k8s trigger needs ``create``); argo-workflows v3.4.4
    ``docs/workflow-rbac.md`` (emissary executor: ``workflowtaskresults`` create, patch).
    """
    for sensor in of_kind(b.objects, "Sensor"):
        ns, sa = namespace(sensor), str(dig(sensor, "spec", "template", "serviceAccountName", default="default"))
        where = ns or "the namespace it is applied to"
        for wf in sensor_workflows(sensor):
            if not _known_here(b, ns, sa):
                # its ServiceAccount and bindings live outside the folder: a note, never a failure
                yield note(sensor, f"ServiceAccount {where}/{sa} and its RBAC", b.file_of(sensor))
                continue
            if not _role_allows(b, ns, sa, "argoproj.io", "workflows", "create"):
                yield Finding(
                    "RBAC-SENSOR-TRIGGER",
                    ref(sensor),
                    f"ServiceAccount {sa} may not create workflows in {where}",
                    "bind a Role with argoproj.io workflows: create to it",
                    b.file_of(sensor),
                )
            pod_sa = str(dig(wf, "spec", "serviceAccountName", default="default"))
            if not _known_here(b, ns, pod_sa):
                yield note(sensor, f"ServiceAccount {where}/{pod_sa} and its RBAC", b.file_of(sensor))
                continue
            for verb in ("create", "patch"):
                if not _role_allows(b, ns, pod_sa, "argoproj.io", "workflowtaskresults", verb):
                    yield Finding(
                        "RBAC-EXECUTOR",
                        ref(sensor),
                        f"Workflow pods run as {pod_sa}, which may not {verb} workflowtaskresults",
                        "bind the emissary executor Role (workflowtaskresults create, patch)",
                        b.file_of(sensor),
                    )


@rule("PRIVILEGED-CONTAINER")
def privileged(b: Bundle) -> Iterator[Finding]:
    """Privileged containers; rootless buildkit needs none (argo-workflows examples/buildkit-template.yaml)."""
    for o, where, c in b.derived(workflow_containers):
        if dig(c, "securityContext", "privileged"):
            yield Finding(
                "PRIVILEGED-CONTAINER",
                ref(o),
                f"{where} runs privileged",
                "drop privileged: true (rootless BuildKit: add only CAP_SYS_ADMIN, which its newuidmap needs on kind here)",
                b.file_of(o),
            )


def _public_host(host: str) -> bool:
    tld = host.rsplit(".", 1)[-1].lower()
    return "." in host and tld not in RESERVED_TLDS and tld != "domain" and not PLACEHOLDER_LABELS.search(host)


@rule("ACME-UNREACHABLE")
def acme_reachability(b: Bundle) -> Iterator[Finding]:
    """A public ACME CA (Let's Encrypt) with HTTP-01 can only issue for public hosts it can reach."""
    for issuer in of_kind(b.objects, "Issuer", "ClusterIssuer"):
        server = str(dig(issuer, "spec", "acme", "server", default=""))
        if not PUBLIC_ACME.match(server):
            continue
        hosts = sorted(
            h
            for ing in of_kind_in(b.objects, namespace(issuer), "Ingress")
            if (dig(ing, "metadata", "annotations", default={}) or {}).get("cert-manager.io/issuer") == name(issuer)
            for t in dig(ing, "spec", "tls", default=[]) or []
            for h in t.get("hosts") or []
        )
        email = str(dig(issuer, "spec", "acme", "email", default=""))
        bad = [h for h in hosts if not _public_host(h)]
        reasons = []
        if bad:
            reasons.append(f"hosts {', '.join(bad)} are placeholders or not under a public suffix")
        if PLACEHOLDER_LABELS.search(email.split("@")[-1]):
            reasons.append(f"the contact {email} is a placeholder")
        reasons.append("Let's Encrypt must reach port 80 of each host from the internet, which a local cluster is not")
        yield Finding(
            "ACME-UNREACHABLE",
            ref(issuer),
            f"{server} cannot issue here: " + "; ".join(reasons),
            "locally, use a test ACME server (Pebble) or a selfSigned/CA Issuer; for real, public DNS, a reachable load balancer and a real e-mail",
            b.file_of(issuer),
        )
