"""The pinned image list of the stack, computed from the install manifests themselves.

Pre-loading these (``docker pull`` + ``docker image save --platform`` + ``kind load image-archive``, the
cert-manager e2e pattern; kind #3795 breaks ``kind load docker-image`` on Docker's containerd store)
keeps a nightly run off registry rate limits. Images not written in a manifest are derived as
upstream does:

* The git-tree manifests of Argo Rollouts and Argo Workflows say ``:latest``; the release asset
  ``install.yaml`` carries the tag (their release ``make manifests IMAGE_TAG=...``), so ``:latest`` is
  read as the release tag. Argo Workflows' controller also runs
  ``quay.io/argoproj/argoexec:<tag>`` as its executor (``workflow-controller --executor-image`` default).
* Argo Events starts EventBus, EventSource and Sensor pods: the bus images come from the controller's
  ``controller-config.yaml`` (``eventBus.nats|jetstream.versions``); EventSource and Sensor pods run the
  controller's own image (``argo-events`` ``common.EnvImage``).
* cert-manager's ``cert-manager.yaml`` is a release asset not kept in the reference copy; its images follow
  the release naming ``quay.io/jetstack/cert-manager-<part>:<tag>``: controller, cainjector, webhook, the
  HTTP-01 solver the controller starts (``--acme-http01-solver-image``), and the startupapicheck Job's image,
  ``cert-manager-ctl`` before v1.14 and ``cert-manager-startupapicheck`` from v1.14 (v1.14.0 release notes,
  "Breaking Changes": the startupapicheck job uses a new OCI image, instead of the ctl image).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from argo_tutorial_suite.objects import Obj, pod_spec
from argo_tutorial_suite.static.rules.workflows import workflow_containers
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.tutorial.render import render_dir, substitute_tree
from argo_tutorial_suite.upstream import Upstream

# (component) -> [(upstream project, path)] read for the image list.
INSTALL_FILES: dict[str, list[tuple[str, str]]] = {
    "argo-cd": [("argo-cd", "manifests/ha/install.yaml")],
    "argo-rollouts": [("argo-rollouts", "manifests/install.yaml")],
    "argo-workflows": [
        ("argo-workflows", "manifests/base/workflow-controller/workflow-controller-deployment.yaml"),
        ("argo-workflows", "manifests/base/argo-server/argo-server-deployment.yaml"),
    ],
    "argo-events": [("argo-events", "manifests/install.yaml")],
    "ingress-nginx": [("ingress-nginx", "deploy/static/provider/kind/deploy.yaml")],
}
CERT_MANAGER_PARTS = ("controller", "cainjector", "webhook", "acmesolver")
STARTUPAPICHECK_OWN_IMAGE = (1, 14)


def cert_manager_images(tag: str) -> list[str]:
    """The images a cert-manager release runs (see the module docstring for each one's source)."""
    major, minor = (int(x) for x in tag.lstrip("v").split(".")[:2])
    check = "startupapicheck" if (major, minor) >= STARTUPAPICHECK_OWN_IMAGE else "ctl"
    return [f"quay.io/jetstack/cert-manager-{p}:{tag}" for p in (*CERT_MANAGER_PARTS, check)]


def images_in(objs: Iterable[Obj]) -> list[str]:
    """Every container and init-container image of the workloads in ``objs``, in first-seen order."""
    seen: dict[str, None] = {}
    for obj in objs:
        spec = pod_spec(obj)
        if not spec:
            continue
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            if c.get("image"):
                seen[str(c["image"])] = None
    return list(seen)


def retag_latest(image: str, tag: str) -> str:
    if image.endswith(":latest"):
        return image[: -len(":latest")] + ":" + tag
    return image


def eventbus_images(controller_config: str, bus: Obj) -> list[str]:
    """Images the Argo Events controller uses for an EventBus spec (``nats.native`` or ``jetstream``)."""
    cfg = yaml.safe_load(controller_config)["eventBus"]
    spec = bus.get("spec", {})
    keys: tuple[str, ...]
    if "jetstream" in spec:
        version = str(spec["jetstream"].get("version", ""))
        table, keys = cfg["jetstream"]["versions"], ("natsImage", "metricsExporterImage", "configReloaderImage")
    else:
        version = str(cfg["nats"]["versions"][0]["version"])  # native NATS streaming: the controller's one version
        table, keys = cfg["nats"]["versions"], ("natsStreamingImage", "metricsExporterImage")
    for v in table:
        if str(v["version"]) == version:
            return [v[k] for k in keys if v.get(k)]
    known = ", ".join(str(v["version"]) for v in table)
    raise ValueError(f"EventBus version {version!r} is not offered by this argo-events controller (known: {known})")


def controller_config(objs: Iterable[Obj]) -> str:
    for o in objs:
        if o.get("kind") == "ConfigMap" and "controller-config.yaml" in (o.get("data") or {}):
            return str(o["data"]["controller-config.yaml"])
    raise ValueError("no argo-events controller ConfigMap in the install manifest")


def stack_images(upstream: Upstream, versions: dict[str, str], buses: Iterable[Obj] = ()) -> dict[str, list[str]]:
    """component -> images, for the given component versions (``{"argo-cd": "v3.5.1", ...}``)."""
    out: dict[str, list[str]] = {}
    for component, files in INSTALL_FILES.items():
        tag = versions.get(component)
        if not tag:
            continue
        objs: list[Obj] = []
        for project, path in files:
            objs += upstream.load_all(project, tag, path)
        imgs = [retag_latest(i, tag) for i in images_in(objs)]
        if component == "argo-workflows":
            imgs.append(f"quay.io/argoproj/argoexec:{tag}")
        if component == "argo-events":
            cfg = controller_config(objs)
            for bus in buses:
                imgs += [i for i in eventbus_images(cfg, bus) if i not in imgs]
        out[component] = imgs
    if versions.get("cert-manager"):
        out["cert-manager"] = cert_manager_images(versions["cert-manager"])
    return out


def ci_images(ci_objs: Iterable[Obj]) -> list[str]:
    """Images the tutorial's CI runs: every container of the Workflow templates its Sensor creates (BuildKit,
    alpine/git, curl, ...) and of its pods, in first-seen order."""
    seen: dict[str, None] = {}
    for _owner, _where, c in workflow_containers(list(ci_objs)):
        if c.get("image"):
            seen[str(c["image"])] = None
    return list(seen)


def dockerfile_bases(dockerfile: str) -> list[str]:
    """The ``FROM`` images of a Dockerfile (stage names excluded): what BuildKit pulls for the app's build."""
    stages: set[str] = set()
    out: list[str] = []
    for line in dockerfile.splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and parts[0].upper() == "FROM":
            image = next((p for p in parts[1:] if not p.startswith("--")), "")
            if image and image not in stages and image.lower() != "scratch":
                out.append(image)
            if len(parts) >= 4 and parts[-2].upper() == "AS":
                stages.add(parts[-1])
    return out


def digest_pinned(image: str) -> bool:
    """``name:tag@sha256:...``: such an image is left to the kubelet to pull. Loaded as an archive, kind's
    node keeps it under the tag only and the kubelet reports it "already present" while the pod waits
    (kubernetes-sigs/kind#4028)."""
    return "@sha256:" in image


def ci_and_bases(profile: Profile, subs: dict[str, str]) -> tuple[list[Obj], list[str]]:
    """The profile's rendered ``ci.yaml`` objects (placeholders filled in) and its app Dockerfile's base images."""
    with tempfile.TemporaryDirectory() as d:
        ci_dir = profile.materialize("ci", Path(d) / "ci")
        substitute_tree(ci_dir, subs)
        ci = render_dir(ci_dir, "the CI kustomization")
        dockerfile = profile.materialize("code", Path(d) / "code") / "Dockerfile"
        bases = dockerfile_bases(dockerfile.read_text()) if dockerfile.exists() else []
    return ci, bases


def profile_images(
    profile: Profile, upstream: Upstream, subs: dict[str, str], local_prefix: str, extra: Iterable[str] = ()
) -> list[str]:
    """What a profile's cluster will run, from its rendered objects: the stack at the versions the profile
    installs (the tutorial's own refs, as written, for as-written), the EventBus images its ``ci.yaml`` asks
    the Argo Events controller for, the CI's containers, the app Dockerfile's base images, and ``extra``. Images of the suite's own registry
    (``local_prefix``) and digest-pinned ones (:func:`digest_pinned`) are left out."""
    ci, bases = ci_and_bases(profile, subs)
    buses = [o for o in ci if o.get("kind") == "EventBus"]
    found = stack_images(upstream, profile.versions(), buses)
    found["install"] = profile.install_plan().inline_images()
    found["ci"] = ci_images(ci)
    found["app build"] = bases  # what BuildKit pulls for the app's Dockerfile
    found["extra"] = list(extra)
    return [i for i in flatten(found) if not digest_pinned(i) and not i.startswith(local_prefix)]


def flatten(images: dict[str, list[str]]) -> list[str]:
    return sorted({i for imgs in images.values() for i in imgs})


def archive_name(image: str) -> str:
    """A file name for ``docker image save`` of ``image`` (stable, filesystem-safe)."""
    safe = image.replace("/", "_").replace(":", "_").replace("@", "_")
    return f"{safe}.tar"


SAVE_PLATFORM_API = (1, 48)  # ``docker image save --platform`` needs Engine API 1.48 (Docker 28)


def api_at_least(api_version: str, want: tuple[int, int]) -> bool:
    try:
        major, minor = (int(x) for x in api_version.strip().split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= want


def preload_commands(
    image: str, platform: str, archive_dir: str, cluster: str, api_version: str = "1.48"
) -> Iterator[list[str]]:
    """The three commands that pre-load one image (kind PR #4247's workaround for kind #3795). Before Engine
    API 1.48 ``save`` has no ``--platform`` (it then saves the one platform that was pulled)."""
    archive = f"{archive_dir}/{archive_name(image)}"
    yield ["docker", "pull", "--platform", platform, image]
    save_platform = ["--platform", platform] if api_at_least(api_version, SAVE_PLATFORM_API) else []
    yield ["docker", "image", "save", *save_platform, "-o", archive, image]
    yield ["kind", "load", "image-archive", archive, "--name", cluster]
