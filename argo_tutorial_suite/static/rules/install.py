"""Rules over the install script (as a structured plan), evaluated on the real upstream manifests."""

from __future__ import annotations

import json
from collections.abc import Iterator

from argo_tutorial_suite.objects import Obj, dig, kind
from argo_tutorial_suite.static.engine import Bundle, rule
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.tutorial import lifecycle
from argo_tutorial_suite.tutorial.installplan import Command
from argo_tutorial_suite.upstream import UpstreamMismatch, UpstreamUnavailable

KNOWN_PROGRAMS = {"kubectl", "echo", "set", "export", "base64", "sleep", "curl", "kind", "PASSWORD"}
# Kubernetes' limit for all annotations of an object (apimachinery ValidateAnnotationsSize): the
# last-applied-configuration of client-side apply must fit into it.
ANNOTATION_LIMIT = 262144
# Kinds of manifests that ../shared/upstream does not carry (no published licence); see
# ../shared/research/argo-cd-rollouts.md section C: the v0.2.1 install.yaml is one ArgoCDExtension.
KNOWN_KINDS = {("rollout-extension", "install.yaml"): ["argoproj.io/v1alpha1 ArgoCDExtension"]}
UPSTREAM_PATHS = {
    "argo-cd": "manifests/{file}",
    "ingress-nginx": "deploy/static/provider/{file}",
    "argo-events": "manifests/{file}",
    "argo-rollouts": "manifests/{file}",
}


def _where(b: Bundle, cmd: Command) -> str:
    assert b.plan is not None
    for step in b.plan.steps:
        for i, c in enumerate(step.commands):
            if c is cmd:
                return f"install:{step.title}#{i}"
    return "install"


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def manifest(b: Bundle, cmd: Command) -> list[Obj] | None:
    """The objects a plan command applies, from the reference copy at the resolved version."""
    if b.upstream is None or b.pins is None or cmd.component not in UPSTREAM_PATHS or not cmd.file:
        return None
    version = b.pins.resolve(cmd.component, cmd.ref)
    if cmd.component == "argo-rollouts" and cmd.file == "install.yaml":
        path = "manifests/install.yaml"
    else:
        path = UPSTREAM_PATHS[cmd.component].format(file=cmd.file)
    try:
        return b.upstream.load_all(cmd.component, str(version), path)
    except (UpstreamUnavailable, UpstreamMismatch):
        return None


@rule("INSTALL-UNKNOWN-COMMAND")
def unknown_programs(b: Bundle) -> Iterator[Finding]:
    """A command whose program is a typo of kubectl: bash prints 'command not found' and carries on."""
    for c in b.plan.commands() if b.plan else []:
        prog = c.program.split("=")[0]
        if prog not in KNOWN_PROGRAMS and _edit_distance(prog, "kubectl") <= 2:
            yield Finding(
                "INSTALL-UNKNOWN-COMMAND",
                _where(b, c),
                f"`{prog}` is not a command (typo of kubectl): this step is skipped with 'command not found'",
                f"kubectl{c.run[len(prog) :][:80]}",
                "install/install.sh",
            )


@rule("INSTALL-RETIRED-COMPONENT")
def retired_components(b: Bundle) -> Iterator[Finding]:
    """A component retired upstream as of the pins' day (:mod:`argo_tutorial_suite.tutorial.lifecycle`): what the
    install puts in front of the apps gets no release, bug fix or security patch any more."""
    if b.plan is None or b.pins is None:
        return
    for c in b.plan.commands():
        r = lifecycle.retirement(c.component or "", b.pins.as_of) if c.component else None
        if r is None:
            continue
        yield Finding(
            "INSTALL-RETIRED-COMPONENT",
            _where(b, c),
            f"installs {c.component} {c.ref}: retired (announced {r.announced} by {r.by}; best-effort maintenance "
            f"until {r.until}, then no releases, bug fixes or security patches; {r.source})",
            f"install {r.migration}",
            "install/install.sh",
        )


@rule("INSTALL-NO-ERREXIT")
def errexit(b: Bundle) -> Iterator[Finding]:
    """Without ``set -e`` every failure scrolls by and the script still prints the password as if all worked."""
    if b.plan is not None and not any(
        line.startswith("set -e") or line.startswith("set -eu") for line in b.plan.preamble
    ):
        yield Finding(
            "INSTALL-NO-ERREXIT",
            "install:script",
            "the script has no `set -e`: failed steps do not stop it",
            "start it with set -euo pipefail",
            "install/install.sh",
        )


@rule("INSTALL-CRD-ANNOTATION-SIZE")
def crd_annotation_size(b: Bundle) -> Iterator[Finding]:
    """Client-side apply stores the whole object in an annotation; CRDs over 262144 bytes are rejected."""
    for c in b.plan.commands() if b.plan else []:
        if c.argv[:2] != ["kubectl", "apply"] or "--server-side" in c.argv:
            continue
        for o in manifest(b, c) or []:
            if kind(o) != "CustomResourceDefinition":
                continue
            size = len(json.dumps(o, separators=(",", ":")))
            if size > ANNOTATION_LIMIT:
                version = b.pins.resolve(str(c.component), c.ref) if b.pins else c.ref
                yield Finding(
                    "INSTALL-CRD-ANNOTATION-SIZE",
                    _where(b, c),
                    f"{c.component} {version}: CRD {dig(o, 'metadata', 'name')} is {size} bytes, over the {ANNOTATION_LIMIT}-byte annotation limit of client-side apply: 'metadata.annotations: Too long'",
                    "kubectl apply --server-side --force-conflicts",
                    "install/install.sh",
                )


def required_anti_affinity_replicas(objs: list[Obj]) -> list[tuple[str, int]]:
    """Workloads with required pod anti-affinity on kubernetes.io/hostname and their replicas."""
    out = []
    for o in objs:
        if kind(o) not in ("Deployment", "StatefulSet"):
            continue
        terms = (
            dig(
                o,
                "spec",
                "template",
                "spec",
                "affinity",
                "podAntiAffinity",
                "requiredDuringSchedulingIgnoredDuringExecution",
                default=[],
            )
            or []
        )
        if any(t.get("topologyKey") == "kubernetes.io/hostname" for t in terms):
            out.append((f"{kind(o)}/{dig(o, 'metadata', 'name')}", int(dig(o, "spec", "replicas", default=1))))
    return out


@rule("INSTALL-HA-NODES")
def ha_node_count(b: Bundle) -> Iterator[Finding]:
    """Required anti-affinity needs as many schedulable nodes as replicas (Argo CD HA: 3)."""
    if b.schedulable_nodes is None:
        return
    for c in b.plan.commands() if b.plan else []:
        objs = manifest(b, c)
        if not objs or c.argv[:2] != ["kubectl", "apply"]:
            continue
        short = [(w, r) for w, r in required_anti_affinity_replicas(objs) if r > b.schedulable_nodes]
        if short:
            need = max(r for _, r in short)
            yield Finding(
                "INSTALL-HA-NODES",
                _where(b, c),
                f"{', '.join(f'{w} ({r} replicas)' for w, r in short)} need {need} schedulable nodes (required anti-affinity); the cluster has {b.schedulable_nodes}: the rest stay Pending",
                "kind with 3 worker nodes, or the non-HA manifests/install.yaml",
                "install/install.sh",
            )


@rule("INSTALL-ROLLOUT-STATUS-UNNAMED")
def rollout_status_unnamed(b: Bundle) -> Iterator[Finding]:
    """``kubectl rollout status deployment -n NS`` without a name and without --timeout.

    kubernetes/kubectl ``pkg/cmd/rollout/rollout_status.go``: <= 1.24 refuses a collection; >= 1.25
    visits each Deployment with timeout 0 = never.
    """
    for c in b.plan.commands() if b.plan else []:
        argv = c.argv
        if argv[:3] != ["kubectl", "rollout", "status"]:
            continue
        target = argv[3] if len(argv) > 3 else ""
        unnamed = "/" not in target and not (len(argv) > 4 and not argv[4].startswith("-"))
        no_timeout = not any(a.startswith("--timeout") for a in argv)
        if unnamed or no_timeout:
            what = (
                "names no Deployment: kubectl <= 1.24 refuses it at once, later ones visit each Deployment"
                if unnamed
                else "names one Deployment"
            )
            yield Finding(
                "INSTALL-ROLLOUT-STATUS-UNNAMED",
                _where(b, c),
                f"`{c.run}` {what}{' with no --timeout (0 = wait forever)' if no_timeout else ''}",
                "kubectl -n NS wait --for=condition=Available deployment --all --timeout=300s",
                "install/install.sh",
            )


@rule("INSTALL-KIND-WITHOUT-CRD")
def kinds_without_crd(b: Bundle) -> Iterator[Finding]:
    """A manifest whose kind no installed CRD provides: 'no matches for kind ... ensure CRDs are installed first'."""
    for c in b.plan.commands() if b.plan else []:
        known = KNOWN_KINDS.get((str(c.component), str(c.file)))
        if not known or c.argv[:2] != ["kubectl", "apply"]:
            continue
        provided = set()
        for other in b.plan.commands() if b.plan else []:
            for o in manifest(b, other) or []:
                if kind(o) == "CustomResourceDefinition":
                    provided.add(dig(o, "spec", "names", "kind"))
        for k in known:
            if k.split()[-1] not in provided:
                yield Finding(
                    "INSTALL-KIND-WITHOUT-CRD",
                    _where(b, c),
                    f"{c.component} {c.ref} is a {k} object, whose CRD and controller (argocd-extensions) are never installed: 'no matches for kind'",
                    "drop the line, or install the extension with the argocd-extension-installer init container (rollout-extension >= v0.3.6)",
                    "install/install.sh",
                )


@rule("INSTALL-LB-ON-KIND")
def load_balancer_on_kind(b: Bundle) -> Iterator[Finding]:
    """ingress-nginx's cloud provider manifest makes a LoadBalancer Service, which stays pending on kind."""
    for c in b.plan.commands() if b.plan else []:
        if c.component != "ingress-nginx":
            continue
        objs = manifest(b, c) or []
        lbs = [
            dig(o, "metadata", "name")
            for o in objs
            if kind(o) == "Service" and dig(o, "spec", "type") == "LoadBalancer"
        ]
        if lbs:
            yield Finding(
                "INSTALL-LB-ON-KIND",
                _where(b, c),
                f"Service {', '.join(map(str, lbs))} is type LoadBalancer: EXTERNAL-IP stays <pending> on kind, Ingress status stays empty, Argo CD keeps the Ingress Progressing",
                "use deploy/static/provider/kind/deploy.yaml with an ingress-ready node mapping ports 80/443",
                "install/install.sh",
            )


@rule("INSTALL-NO-WAIT-AFTER-PATCH")
def wait_after_patch(b: Bundle) -> Iterator[Finding]:
    """A patched Deployment is waited for before it is used (the port-forward may hit the old pod)."""
    cmds = b.plan.commands() if b.plan else []
    for i, c in enumerate(cmds):
        argv = c.argv
        if argv[:3] != ["kubectl", "patch", "deployment"] or len(argv) < 4:
            continue
        target = argv[3]
        later = cmds[i + 1 :]
        if not any((" rollout status " in x.run or " wait " in x.run) and target in x.run for x in later):
            yield Finding(
                "INSTALL-NO-WAIT-AFTER-PATCH",
                _where(b, c),
                f"deployment {target} is patched but never waited for",
                f"kubectl -n argo rollout status deployment/{target} --timeout=120s",
                "install/install.sh",
            )
