"""Rules over the GitOps repo: the kustomization, the Rollout and its Services, images."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

from argo_tutorial_suite.objects import (
    dig,
    find,
    name,
    namespace,
    of_kind,
    of_kind_in,
    pod_template_containers,
    ref,
    selector_matches,
)
from argo_tutorial_suite.static.engine import Bundle, rule
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.rules.workflows import sensor_templates, sensor_workflows
from argo_tutorial_suite.tutorial import traefik
from argo_tutorial_suite.tutorial.installplan import step_component


def image_repo(image: str) -> tuple[str, str, str]:
    """Split ``host/path:tag`` into (host, path, tag); Docker Hub when the first part is no host."""
    ref_, _, digest = image.partition("@")
    last = ref_.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ("" if digest else "latest")
    ref_ = ref_[: len(ref_) - len(tag) - 1] if ":" in last else ref_
    first, _, rest = ref_.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest, tag
    return "docker.io", ref_, tag


def pushed_images(b: Bundle) -> list[tuple[str, str]]:
    """(owner ref, image) the CI pushes: buildkit ``--output type=image,name=...,push=true``."""
    out = []
    for s, t in sensor_templates(b.objects):
        for a in dig(t, "container", "args", default=[]) or []:
            m = re.search(r"type=image,name=([^,]+)", str(a))
            if m and "push=true" in str(a):
                out.append((ref(s), m.group(1)))
    return out


@rule("ROLLOUT-PREVIEW-SERVICE", "ROLLOUT-SERVICE-MISSING", "ROLLOUT-SERVICE-SELECTOR")
def rollout_services(b: Bundle) -> Iterator[Finding]:
    """Services a blue-green Rollout names exist and select its pods; other Services selecting its pods
    are neither active nor preview, so they balance across every revision.

    argo-rollouts v1.9.1 ``rollout/service.go`` ``reconcilePreviewService``: without previewService no
    Service gets the new ``rollouts-pod-template-hash`` selector.
    """
    for ro in of_kind(b.objects, "Rollout"):
        bg = dig(ro, "spec", "strategy", "blueGreen")
        if not isinstance(bg, dict):
            continue
        labels = dig(ro, "spec", "template", "metadata", "labels", default={}) or {}
        named = {str(s) for s in (bg.get("activeService"), bg.get("previewService")) if s}
        for svc_name in sorted(named):
            svc = find(b.objects, "Service", str(svc_name), namespace(ro))
            if svc is None:
                yield Finding(
                    "ROLLOUT-SERVICE-MISSING",
                    ref(ro),
                    f"names Service {svc_name}, which does not exist",
                    "add the Service or fix the name",
                    b.file_of(ro),
                )
            elif not selector_matches(dig(svc, "spec", "selector"), labels):
                yield Finding(
                    "ROLLOUT-SERVICE-SELECTOR",
                    ref(ro),
                    f"Service {svc_name} does not select the Rollout's pods",
                    "make its selector a subset of the pod labels",
                    b.file_of(ro),
                )
        for svc in of_kind_in(b.objects, namespace(ro), "Service"):
            if name(svc) not in named and selector_matches(dig(svc, "spec", "selector"), labels):
                yield Finding(
                    "ROLLOUT-PREVIEW-SERVICE",
                    ref(svc),
                    f"selects the pods of blue-green Rollout {name(ro)} but is neither its activeService nor its previewService: it balances across old and new pods",
                    f"set strategy.blueGreen.previewService: {name(svc)}",
                    b.file_of(svc),
                )


def _auth_hosts(b: Bundle, ns: str, secret_name: str) -> set[str] | None:
    sec = find(b.objects, "Secret", secret_name, ns)
    if sec is None:
        return None
    raw = (sec.get("data") or {}).get(".dockerconfigjson")
    try:
        return set(json.loads(base64.b64decode(str(raw)))["auths"])
    except Exception:
        return set()


@rule("IMAGE-PUSH-DEPLOY-MISMATCH", "PULLSECRET-HOST-MISMATCH")
def images_agree(b: Bundle) -> Iterator[Finding]:
    """The image the CI pushes is the image deployed, and pull secrets are for the image's registry."""
    deployed = [
        (ro, c.get("image", ""))
        for ro in of_kind(b.objects, "Rollout", "Deployment")
        for c in pod_template_containers(ro)
    ]
    for ro, image in deployed:
        host = image_repo(str(image))[0]
        for ps in dig(ro, "spec", "template", "spec", "imagePullSecrets", default=[]) or []:
            hosts = _auth_hosts(b, namespace(ro), str(ps.get("name")))
            if hosts is not None and host not in hosts:
                yield Finding(
                    "PULLSECRET-HOST-MISMATCH",
                    ref(ro),
                    f"pull secret {ps.get('name')} has credentials for {', '.join(sorted(hosts)) or 'no registry'}, not for {host}, so the kubelet never uses it",
                    "one registry everywhere: the secret's auths host = the image's registry",
                    b.file_of(ro),
                )
    pushed = pushed_images(b)
    if pushed and deployed:
        deployed_repos = {image_repo(str(i))[:2] for _, i in deployed}
        for owner, image in pushed:
            if image_repo(image)[:2] not in deployed_repos:
                yield Finding(
                    "IMAGE-PUSH-DEPLOY-MISMATCH",
                    owner,
                    f"the CI pushes {image}, but the Rollout runs {', '.join(sorted(str(i) for _, i in deployed))}",
                    "push the image the Rollout names (same registry host and repository)",
                    "",
                )


@rule("IMAGE-MUTABLE-TAG")
def image_revision_changes(b: Bundle) -> Iterator[Finding]:
    """A new build must change the desired state: a mutable tag and unchanged manifests make no new revision.

    argo-rollouts ``docs/features/bluegreen.md``: a new ReplicaSet only when ``.spec.template`` changes.
    """
    writes_git = any("git push" in str(wf) for s in of_kind(b.objects, "Sensor") for wf in sensor_workflows(s))
    for owner, image in pushed_images(b):
        tag = image_repo(image)[2]
        if (tag == "latest" or "{{" not in tag) and not writes_git:
            yield Finding(
                "IMAGE-MUTABLE-TAG",
                owner,
                f"the CI pushes the fixed tag {tag!r} and nothing updates the GitOps repo: Argo CD re-applies identical manifests, no new Rollout revision, nothing to Resume",
                "tag with the commit SHA and write it into the GitOps repo (kustomize images newTag) before the sync",
                "",
            )


@rule("ROLLOUT-NO-READINESS")
def readiness_probes(b: Bundle) -> Iterator[Finding]:
    """Without a readiness probe blue-green counts pods available as soon as they run."""
    for ro in of_kind(b.objects, "Rollout"):
        for c in pod_template_containers(ro):
            if not c.get("readinessProbe"):
                yield Finding(
                    "ROLLOUT-NO-READINESS",
                    ref(ro),
                    f"container {c.get('name')} has no readinessProbe",
                    "add an httpGet readinessProbe on the app's port",
                    b.file_of(ro),
                )


@rule("INGRESS-ANNOTATION-UNSUPPORTED")
def ingress_annotations_served(b: Bundle) -> Iterator[Finding]:
    """Where the install puts Traefik's Ingress NGINX provider in ingress-nginx's place (D37), each
    ``nginx.ingress.kubernetes.io/*`` annotation must be one it reads: another is silently ignored."""
    if b.plan is None or not any(step_component(s.title) == "traefik" for s in b.plan.steps):
        return
    for ing in of_kind(b.objects, "Ingress"):
        notes = dig(ing, "metadata", "annotations", default={}) or {}
        for key in traefik.unsupported(notes if isinstance(notes, dict) else {}):
            yield Finding(
                "INGRESS-ANNOTATION-UNSUPPORTED",
                ref(ing),
                f"annotation {key} is not one Traefik {traefik.PROVIDER_VERSION}'s Ingress NGINX provider reads: it is "
                "ignored, and what it asked of ingress-nginx does not happen",
                "express it with a Traefik Middleware (or drop it), per Traefik's nginx-to-traefik migration guide",
                b.file_of(ing),
            )
