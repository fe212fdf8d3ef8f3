"""Build the stack's images for a pins set (I/O): the references the profiles will run
(:func:`argo_tutorial_suite.tutorial.images.profile_images`), each by its recipe (:mod:`argo_offline_images.stackrecipes`), cached by
the hash of its inputs; the result is a manifest ``manifests/<pins>-stack.json`` beside the node's, with what each
image was built from and every difference, and the images that could not be built with the reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from argo_offline_images import build, cirecipes
from argo_offline_images.build import BuildError, log, progress
from argo_offline_images.imagespec import ImageSpec
from argo_offline_images.nodeimage import debian_packages
from argo_offline_images.recipes import ANOTHER_RELEASE, Difference, GoBuild, toolchain_for
from argo_offline_images.releasemanifests import (
    CERT_MANAGER_URL,
    HELM_ALL,
    HELM_NONCRD,
    WORKFLOWS_URL,
    chart_yaml,
    concat,
    crds_only,
    crds_template,
    documents,
)
from argo_offline_images.stackfacts import (
    ModuleFacts,
    StackImage,
    go_directive_of,
    helm_ldflags,
    neighbours,
    nested_required,
    newer_served,
    older_served,
    tools_mk_version,
)
from argo_offline_images.stackrecipes import PROBES, needs_module, plan

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
STACK_MANIFEST_VERSION = 1


def stack_manifest_path(root: Path, pins_name: str) -> Path:
    return root / "manifests" / f"{pins_name}-stack.json"


def _read(d: Path, rel: str) -> str:
    p = d / rel
    return p.read_text(errors="replace") if p.is_file() else ""


def _fetchable(module: str, version: str, root: Path) -> tuple[str, bool] | None:
    """(version, known to sum.golang.org) when the proxy serves ``module@version``, else None."""
    if build.module_served(module, version, root):
        return version, True
    if build.module_served(module, version, root, nosumdb=True):
        return version, False
    return None


def served_version(module: str, asked: str, root: Path) -> tuple[str, bool] | None:
    """(version, known to sum.golang.org) of ``asked`` or, when the proxy refuses it, of its nearest served
    neighbour (:func:`argo_offline_images.stackrecipes.neighbours`), else of the newest listed release below it
    (:func:`argo_offline_images.stackrecipes.older_served`); None when none is served."""
    for version in [asked, *neighbours(asked)]:
        if got := _fetchable(module, version, root):
            return got
    older = older_served(asked, releases(module, root))
    return _fetchable(module, older, root) if older else None


def unserved_nested(gomod: str, root: Path) -> list[tuple[str, str, str]]:
    """The nested modules (:func:`argo_offline_images.stackrecipes.nested_required`) the proxy does not serve at the
    version the go.mod requires."""
    return [(m, path, v) for m, path, v in nested_required(gomod) if not v or _fetchable(m, v, root) is None]


def releases(module: str, root: Path) -> list[str]:
    """The module's releases as the proxy lists them (``go list -m -versions``); [] when it lists none."""
    cp = subprocess.run(["go", "list", "-m", "-versions", module], capture_output=True, text=True, cwd=root,
                        env={**os.environ, **build.FETCH_ENV}, check=False)  # fmt: skip
    return cp.stdout.split()[1:] if cp.returncode == 0 else []


def as_released(module: str, version: str, asked: str, gomod: str, root: Path) -> tuple[str, str]:
    """(version to build, why ``version`` cannot be built as released or ""): a release whose nested module no
    proxy serves at its tree gives way to the nearest later one whose nested modules are served."""
    missing = unserved_nested(gomod, root)
    if not missing:
        return version, ""
    why = "; ".join(f"{module}@{version}'s {path} is a nested module the module zip leaves out, required as "
                    f"{m}@{v or '(no version)'}, which no Go module proxy here serves" for m, path, v in missing)  # fmt: skip
    for later in newer_served(asked, releases(module, root)):
        got = _fetchable(module, later, root)
        if got is None:
            continue
        d = build.module_dir(module, later, {**build.FETCH_ENV, **({} if got[1] else {"GONOSUMDB": module})}, root)
        if not unserved_nested(_read(d, "go.mod"), root):
            return later, why
    return version, why


def toolchain_facts(asked: str, root: Path) -> ModuleFacts | None:
    """Go ``asked`` as the proxy publishes it (``golang.org/toolchain``); a bare minor (``1.26``) is its newest
    served patch, as a floating ``golang:1.26`` tag is."""
    out = build.run(["go", "list", "-m", "-versions", cirecipes.TOOLCHAIN], "list Go toolchains", cwd=root)
    versions = out.split()[1:]
    go = asked if asked.count(".") == 2 else cirecipes.served_patch(asked, versions)
    if go is None or cirecipes.toolchain_version(go) not in versions:
        return None
    return ModuleFacts(module=cirecipes.TOOLCHAIN, version=cirecipes.toolchain_version(go), asked=asked)


def gather_facts(module: str, asked: str, root: Path) -> ModuleFacts | None:
    """What the recipe reads from ``module@asked`` (or its nearest served neighbour), or None when not served."""
    root.mkdir(parents=True, exist_ok=True)
    if module == cirecipes.TOOLCHAIN:
        return toolchain_facts(asked, root)
    found = served_version(module, asked, root)
    if found is None:
        return None
    version, sumdb = found
    env = {**build.FETCH_ENV, **({} if sumdb else {"GONOSUMDB": module})}
    d = build.module_dir(module, version, env, root)
    version, not_as_released = as_released(module, version, asked, _read(d, "go.mod"), root)
    d = build.module_dir(module, version, env, root)
    info = build.module_info(module, version, env, root)
    m = re.search(r"^\s*k8s\.io/client-go\s+(v\S+)", _read(d, "go.mod"), re.M)
    return ModuleFacts(
        module=module,
        version=version,
        dockerfile=_read(d, "Dockerfile"),
        makefile=_read(d, "Makefile"),
        version_file=_read(d, "VERSION"),
        tool_versions=_read(d, "hack/tool-versions.sh"),
        tools_mk=_read(d, "make/tools.mk"),
        commit=str((info.get("Origin") or {}).get("Hash", "")),
        time=str(info.get("Time", "")),
        client_go=m.group(1) if m else "",
        gomod=_read(d, "go.mod"),
        present=tuple(p for p in PROBES if (d / p).is_file()),
        nested=tuple(nested_required(_read(d, "go.mod"))),
        not_as_released=not_as_released,
        main_dirs=tuple(sorted(p.name for p in (d / "cmd").iterdir() if p.is_dir())) if (d / "cmd").is_dir() else (),
        asked=asked,
        sumdb=sumdb,
    )


def base_ref(packages: tuple[str, ...], root: Path) -> str:
    """The Debian root filesystem image for ``packages``; debootstrapped only when Docker lacks it (its tar may
    have been pruned to free disk, the image kept)."""
    ref = f"localhost/argo-suite-rootfs:stack-{build.rootfs_key('bookworm', list(packages))}"
    if build.image_id(ref) is None:
        tar = build.rootfs_tar("bookworm", list(packages), root)
        build.docker_import(tar, ref, ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    return ref


REFUSED = re.compile(r"403 Forbidden|not available")


def tool_build(b: GoBuild, root: Path) -> tuple[Path, GoBuild]:
    """A tool an image bundles (Argo CD's helm and kustomize) at its pinned version, else, when a dependency of it
    is refused by the proxy (kustomize v5.8.3: ``k8s.io/kube-openapi@v0.0.0-20261001...`` 403), at the nearest
    patch that builds; (output, the build used)."""
    try:
        return build.go_build(b, root), b
    except BuildError as e:
        if not REFUSED.search(str(e)):
            raise
        first = e
    for version in neighbours(b.version):
        alt = replace(b, version=version)
        if not build.module_served(b.module, version, root):
            continue
        try:
            return build.go_build(alt, root), alt
        except BuildError as e:
            if not REFUSED.search(str(e)):
                raise
    raise first


def build_image(img: StackImage, root: Path) -> dict[str, Any]:
    """Build one image; its manifest entry."""
    files: dict[str, str] = {}
    toolchains = []
    fell_back: list[Difference] = []
    for b, dest in img.builds:
        out, used = tool_build(b, root) if b.module != img.builds[0][0].module else (build.go_build(b, root), b)
        if used.version != b.version:
            fell_back.append(Difference(
                f"{b.module} version", b.version, used.version,
                f"{b.module}@{b.version} needs a dependency the Go module proxy here refuses; {used.version} is "
                "the nearest release that builds", f"what changed between {b.version} and {used.version}",
                relation=ANOTHER_RELEASE))  # fmt: skip
        files[dest] = str(out / b.output_names()[0])
        toolchains.append(json.loads((out / "build.json").read_text()).get("go_describe", ""))
    if img.module_files:
        assert img.source_module is not None
        src = build.module_dir(*img.source_module, build.FETCH_ENV, root)
        for rel, dest in img.module_files:
            if not (src / rel).is_file():
                raise BuildError(f"{img.ref}: {rel} is not in {img.source_module[0]}@{img.source_module[1]}")
            files[dest] = str(src / rel)
    if img.tree is not None:
        module, version, dest = img.tree
        files[dest] = str(build.module_dir(module, version, build.FETCH_ENV, root))
    if img.ca_certificates:
        files["/etc/ssl/certs/ca-certificates.crt"] = str(HOST_CA_BUNDLE)
    texts = Path(tempfile.mkdtemp(prefix="argo-suite-texts-"))
    for i, (dest, content) in enumerate(img.texts):
        (texts / f"t{i}").write_text(content)
        files[dest] = str(texts / f"t{i}")
    base = base_ref(img.debian, root) if img.debian is not None else "scratch"
    spec = ImageSpec(
        [img.ref], base, files,
        entrypoint=list(img.entrypoint) if img.entrypoint is not None else None,
        cmd=list(img.cmd) if img.cmd is not None else None,
        built_from=list(img.built_from), differences=list(img.differences), lines=list(img.lines),
    )  # fmt: skip
    try:
        with progress(f"image {img.ref}"):
            iid = spec.build()
    finally:
        shutil.rmtree(texts, ignore_errors=True)
    entry: dict[str, Any] = {
        "ref": img.ref,
        "id": iid,
        "role": img.role,
        "built_from": list(img.built_from),
        "toolchain": ", ".join(sorted(set(toolchains))),
        "differences": [d.as_dict() for d in (*img.differences, *fell_back)],
    }
    if img.debian is not None:
        wanted = set(img.debian)
        entry["debian"] = {k: v for k, v in debian_packages(base).items() if k in wanted}
    return entry


def cert_manager_manifest(facts: ModuleFacts, root: Path) -> dict[str, str]:
    """Render cert-manager's release ``cert-manager.yaml`` from its chart at the tag, with the helm its
    ``make/tools.mk`` pins (:mod:`argo_offline_images.releasemanifests`); the install source entry."""
    helm_v = tools_mk_version(facts.tools_mk, "helm")
    helm_src = build.module_dir("helm.sh/helm/v3", helm_v, build.FETCH_ENV, root)
    flags = helm_ldflags(helm_v, (helm_src / "go.mod").read_text())
    helm = build.go_build(GoBuild("helm.sh/helm/v3", helm_v, ("./cmd/helm",), toolchain_for(go_directive_of(facts) or "1.19"),
                                  ldflags=flags), root) / "helm"  # fmt: skip
    src = build.module_dir(facts.module, facts.version, build.FETCH_ENV, root)
    out = root / "install-sources" / f"cert-manager-{facts.version}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="argo-suite-chart-") as d:
        chart = Path(d) / "cert-manager"
        shutil.copytree(src / "deploy/charts/cert-manager", chart)
        for p in [chart, *chart.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        (chart / "Chart.yaml").write_text(chart_yaml((chart / "Chart.template.yaml").read_text(), facts.version))
        crd_files = sorted((src / "deploy/crds").glob("*.yaml"))
        (chart / "templates" / "crds.yaml").write_text(crds_template([p.read_text() for p in crd_files]))
        env = {"HELM_CACHE_HOME": d, "HELM_CONFIG_HOME": d, "HELM_DATA_HOME": d}
        noncrd = build.run([str(helm), *HELM_NONCRD, str(chart)], "helm template cert-manager", env=env)
        everything = build.run([str(helm), *HELM_ALL, str(chart)], "helm template cert-manager (CRDs)", env=env)
    namespace = documents((src / "deploy/manifests/namespace.yaml").read_text())
    crds = crds_only(everything)
    if len(crds) != len(crd_files):
        raise BuildError(f"cert-manager.yaml: {len(crds)} CRDs rendered from {len(crd_files)} files in deploy/crds")
    out.write_text(concat(namespace, crds, documents(noncrd)))
    return {
        "url": CERT_MANAGER_URL.format(version=facts.version),
        "path": str(out),
        "how": f"helm {helm_v} template of deploy/charts/cert-manager at {facts.version}, as make/manifests.mk does",
    }


def workflows_manifest(facts: ModuleFacts, root: Path) -> dict[str, str] | None:
    """Argo Workflows' release ``install.yaml``, made as its Makefile makes it (``kustomize build
    manifests/cluster-install``, ``:latest`` set to the tag) from the module this build compiled, tagged as the
    images are named (the release asked for). The reference copy may lack files of it (v4.1.2's full CRDs)."""
    tag = facts.asked or facts.version
    src = build.module_dir(facts.module, facts.version, build.FETCH_ENV, root)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        log(f"argo-workflows install.yaml for {tag}: none made: kubectl (kustomize) is not on PATH")
        return None
    cp = subprocess.run([kubectl, "kustomize", str(src / "manifests" / "cluster-install")],
                        capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    if cp.returncode != 0:
        log(f"argo-workflows install.yaml for {tag}: kustomize build failed, none made: {cp.stderr.strip()[:300]}")
        return None
    out = root / "install-sources" / f"argo-workflows-{tag}-install.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    # the Makefile's release step names the images by the tag instead of :latest
    out.write_text(re.sub(r"(image:\s*\S+):latest\b", rf"\g<1>:{tag}", cp.stdout))
    return {
        "url": WORKFLOWS_URL.format(version=tag),
        "path": str(out),
        "how": f"kustomize build manifests/cluster-install of {facts.module}@{facts.version}, :latest set to {tag}",
    }


TRAEFIK_RBAC = "docs/content/reference/dynamic-configuration/kubernetes-ingress-nginx-rbac.yml"
TRAEFIK_RBAC_URL = "https://raw.githubusercontent.com/traefik/traefik/{version}/" + TRAEFIK_RBAC


def traefik_rbac(facts: ModuleFacts, root: Path) -> dict[str, str] | None:
    """The RBAC of Traefik's Kubernetes Ingress NGINX provider, which its documentation installs from the repository
    at the release (``kubectl apply -f https://raw.githubusercontent.com/traefik/traefik/<ref>/docs/...``): the same
    file, from the module this build compiled (v3.6 and later; earlier releases have no such provider)."""
    src = build.module_dir(facts.module, facts.version, build.FETCH_ENV, root) / TRAEFIK_RBAC
    if not src.is_file():
        return None
    out = root / "install-sources" / f"traefik-{facts.version}-kubernetes-ingress-nginx-rbac.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(src.read_text())
    return {"url": TRAEFIK_RBAC_URL.format(version=facts.version), "path": str(out),
            "how": f"{TRAEFIK_RBAC} of {facts.module}@{facts.version}"}  # fmt: skip


def build_stack(pins_name: str, refs: list[str], root: Path, recipe_code: str = "") -> dict[str, Any]:
    """Build every reference that has a recipe; write and return the stack manifest."""
    started = time.monotonic()
    wanted = sorted({n for n in (needs_module(r) for r in refs) if n})
    facts = {}
    with progress(f"read {len(wanted)} modules' build files"):
        for module, version in wanted:
            facts[(module, version)] = gather_facts(module, version, root)
    p = plan(refs, facts)
    key = build.input_hash({"refs": sorted(refs), "code": recipe_code, "facts": {str(k): v for k, v in facts.items()}})
    path = stack_manifest_path(root, pins_name)
    if path.exists():
        old = json.loads(path.read_text())
        if (
            old.get("input_hash") == key
            and not old.get("failed")
            and all(build.image_id(i["ref"]) == i["id"] for i in old.get("images", []))
        ):
            log(f"{pins_name}: the stack's {len(old['images'])} images are up to date ({path})")
            return dict(old)
    images = []
    failed: list[dict[str, str]] = []
    for i, img in enumerate(p.images, 1):
        log(f"[{i}/{len(p.images)}] {img.ref}")
        try:
            images.append(build_image(img, root))
        except BuildError as e:  # the others still build; the run ends non-zero naming it (scripts/offline-images)
            log(f"{img.ref}: build failed, going on with the others: {str(e).splitlines()[0]}")
            failed.append({"ref": img.ref, "why": f"its build failed here: {e}"[:4000]})
    sources = []
    for (module, _version), f in facts.items():
        if f is not None and module == "github.com/cert-manager/cert-manager" and "controller" in f.main_dirs:
            with progress(f"cert-manager.yaml for {f.version}"):
                sources.append(cert_manager_manifest(f, root))
        if f is not None and module.startswith("github.com/traefik/traefik/v3"):
            made = traefik_rbac(f, root)
            if made is not None:
                sources.append(made)
        if f is not None and module.startswith("github.com/argoproj/argo-workflows/"):
            made = workflows_manifest(f, root)
            if made is not None:
                sources.append(made)
    manifest = {
        "manifest_version": STACK_MANIFEST_VERSION,
        "pins": pins_name,
        "input_hash": key,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.monotonic() - started, 1),
        "images": images,
        "not_built": [{"ref": u.ref, "why": u.why} for u in p.unbuildable],
        "failed": failed,
        "install_sources": sources,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mktemp(dir=path.parent))
    tmp.write_text(json.dumps(manifest, indent=1))
    shutil.move(str(tmp), path)
    log(f"{pins_name}: {len(images)} stack images built, {len(p.unbuildable)} not; manifest {path}")
    return manifest
