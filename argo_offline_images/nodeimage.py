"""The kind node image, assembled in kind's own sequence without pulling anything.

kind's ``pkg/build/nodeimage/buildcontext.go`` (v0.17.0 and v0.30.0): run the base image with
``--entrypoint=sleep``; ``docker cp`` kubeadm, kubelet and kubectl to ``/usr/bin``; write ``/kind/version``;
write ``/kind/manifests/default-cni.yaml`` and ``default-storage.yaml``; start containerd in the container and
``ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests -`` every image kubeadm, the
sandbox, the CNI and the storage name (v0.30 adds ``--label=io.cri-containerd.pinned=pinned``); stop
containerd; ``docker commit`` with kind's entrypoint. The base image follows kind's ``images/base/Dockerfile``
on a debootstrapped Debian root filesystem, with kind's own files from the kind module at the pinned tag.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argo_offline_images import build
from argo_offline_images.build import BuildError, log, progress, run
from argo_offline_images.clusterextras import cluster_extras
from argo_offline_images.gomod import k8s_ldflags
from argo_offline_images.imagespec import ImageSpec
from argo_offline_images.nodefiles import (
    CGROUP_V1_DROPIN,
    CGROUP_V1_SCRIPT,
    CNI_IMAGE,
    CNI_SOURCE,
    GITSERVER_PACKAGES,
    IPTABLES_PACKAGES,
    NODE_BASE_PACKAGES,
    SHARED_CONTROLLERS,
    base_dockerfile,
    clean_install_packages,
    recipe_cni_manifest,
    recipe_required,
)
from argo_offline_images.recipes import (
    STAND_IN,
    Difference,
    GoBuild,
    KindFacts,
    NodeRecipe,
    dockerfile_args,
    kubernetes_version_of,
    node_recipe,
    split_ref,
    upstream_go,
    vtag,
)

MANIFEST_VERSION = 1


# -- gathering the facts ---------------------------------------------------------------------------------------------
def gather(pins: dict[str, Any], root: Path) -> tuple[KindFacts, Path, Path]:
    """Read kind's and Kubernetes's files at the pinned tags from the module proxy: (facts, kind dir, k8s dir)."""
    env: dict[str, str] = {"GOFLAGS": "-mod=mod"}
    root.mkdir(parents=True, exist_ok=True)
    kind_version = pins["kind"]["version"]
    kdir = build.module_dir("sigs.k8s.io/kind", kind_version, env, root)
    kv = kubernetes_version_of(pins["kind"]["node_image"])
    k8s = build.module_dir("k8s.io/kubernetes", kv, env, root)
    info = build.module_info("k8s.io/kubernetes", kv, env, root)
    gv = k8s / ".go-version"
    deps = k8s / "build" / "dependencies.yaml"
    dockerfile = (kdir / "images/base/Dockerfile").read_text()
    containerd = vtag(dockerfile_args(dockerfile).get("CONTAINERD_VERSION", ""))
    cmod = "github.com/containerd/containerd" + ("/v2" if containerd.startswith("v2") else "")
    runc_file = build.module_dir(cmod, containerd, env, root) / "script/setup/runc-version"
    kind_go = (kdir / ".go-version").read_text().strip() if (kdir / ".go-version").exists() else ""
    nodeimage = kdir / "pkg/build/nodeimage"
    facts = KindFacts(
        kind_version=kind_version,
        kind_go=kind_go or upstream_go(None, None),
        base_dockerfile=dockerfile,
        defaults_go=(nodeimage / "defaults.go").read_text(),
        const_cni_go=(nodeimage / "const_cni.go").read_text(),
        const_storage_go=(nodeimage / "const_storage.go").read_text(),
        containerd_toml=(kdir / "images/base/files/etc/containerd/config.toml").read_text(),
        kubernetes_version=kv,
        kubernetes_go=upstream_go(gv.read_text() if gv.exists() else None, deps.read_text() if deps.exists() else None),
        kubernetes_commit=str((info.get("Origin") or {}).get("Hash", "")),
        kubernetes_date=str(info.get("Time", "")),
        containerd_runc=runc_file.read_text() if runc_file.exists() else "",
    )
    return facts, kdir, k8s


def recipe_for(pins: dict[str, Any], root: Path) -> tuple[NodeRecipe, Path, Path]:
    facts, kdir, k8s = gather(pins, root)
    crictl = vtag(dockerfile_args(facts.base_dockerfile).get("CRICTL_VERSION", ""))
    served = {f"sigs.k8s.io/cri-tools@{crictl}": build.module_served("sigs.k8s.io/cri-tools", crictl, root)}
    return node_recipe(facts, served), kdir, k8s


# -- images the node carries ------------------------------------------------------------------------------------------
def kubeadm_images(kubeadm: Path, version: str) -> list[str]:
    out = run([str(kubeadm), "config", "images", "list", "--kubernetes-version", version], "kubeadm config images list")
    return [line.strip() for line in out.splitlines() if line.strip()]


def pause_binary(k8s: Path, tag: str, root: Path) -> Path:
    """``build/pause/linux/pause.c`` of the pinned Kubernetes module, compiled static as its Makefile does."""
    src = k8s / "build/pause/linux/pause.c"
    if not src.exists():
        raise BuildError(f"{src} is missing from the Kubernetes module")
    key = build.input_hash({"pause": src.read_text(), "tag": tag})
    out = root / "bin" / f"pause-{key}"
    if not (out / "pause").exists():
        out.mkdir(parents=True, exist_ok=True)
        run(
            ["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION={tag}", "-o", str(out / "pause"), str(src)],
            "compile pause",
        )
        run(["strip", str(out / "pause")], "strip pause")
    return out / "pause"


def node_images(recipe: NodeRecipe, k8s: Path, bins: dict[str, Path], root: Path, iptables_ref: str) -> list[ImageSpec]:
    """Specs of every image the node bundles: kubeadm's list, the sandbox, and the CNI (storage: see below)."""
    tc = recipe.toolchain
    specs: list[ImageSpec] = []
    go_note = Difference("Go", "the release's own", tc.describe(), "the nearest Go this machine can run")
    by_name: dict[str, list[str]] = {}
    for ref in [*recipe.kubeadm_images, recipe.sandbox]:
        by_name.setdefault(split_ref(ref)[0].rsplit("/", 1)[-1], []).append(ref)
    for comp in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        specs.append(
            ImageSpec(by_name[comp], "scratch", {f"/usr/local/bin/{comp}": str(bins["kubernetes"] / comp)},
                      built_from=[f"k8s.io/kubernetes@{recipe.kubernetes_version}"],
                      differences=[Difference("base", "registry.k8s.io/build-image/go-runner (distroless)", "scratch",
                                              "no registry is reachable; kubeadm runs the binary by name")])
        )  # fmt: skip
    specs.append(
        ImageSpec(by_name["kube-proxy"], iptables_ref, {"/usr/local/bin/kube-proxy": str(bins["kubernetes"] / "kube-proxy")},
                  built_from=[f"k8s.io/kubernetes@{recipe.kubernetes_version}"],
                  differences=[Difference("base", "registry.k8s.io/build-image/distroless-iptables (iptables-wrapper)",
                                          "Debian 12 with iptables (Debian's default alternative, nft)",
                                          "no registry is reachable")])
    )  # fmt: skip
    etcd_ref = by_name["etcd"][0]
    etcd_v = vtag(split_ref(etcd_ref)[1].split("-")[0])
    etcd = build.go_build(GoBuild("go.etcd.io/etcd/server/v3", etcd_v, (".",), tc, "wrapper", outputs=("etcd",)), root)
    etcdctl = build.go_build(
        GoBuild("go.etcd.io/etcd/etcdctl/v3", etcd_v, (".",), tc, "wrapper", outputs=("etcdctl",)), root
    )
    specs.append(
        ImageSpec(by_name["etcd"], "scratch",
                  {"/usr/local/bin/etcd": str(etcd / "etcd"), "/usr/local/bin/etcdctl": str(etcdctl / "etcdctl")},
                  cmd=["/usr/local/bin/etcd"],
                  built_from=[f"go.etcd.io/etcd/server/v3@{etcd_v}", f"go.etcd.io/etcd/etcdctl/v3@{etcd_v}"],
                  differences=[go_note, Difference("contents", "etcd, etcdctl, migrate tooling on debian-base", "etcd and etcdctl only",
                                                   "kubeadm runs etcd alone")])
    )  # fmt: skip
    dns_ref = by_name["coredns"][0]
    dns_v = vtag(split_ref(dns_ref)[1])
    coredns = build.go_build(GoBuild("github.com/coredns/coredns", dns_v, (".",), tc, outputs=("coredns",)), root)
    specs.append(
        ImageSpec(by_name["coredns"], "scratch", {"/coredns": str(coredns / "coredns")}, entrypoint=["/coredns"],
                  built_from=[f"github.com/coredns/coredns@{dns_v}"],
                  differences=[go_note, Difference("base", "distroless static with CA certificates", "scratch", "no registry is reachable")])
    )  # fmt: skip
    pause_tag = split_ref(by_name["pause"][0])[1]
    specs.append(
        ImageSpec(sorted(set(by_name["pause"])), "scratch", {"/pause": str(pause_binary(k8s, pause_tag, root))}, entrypoint=["/pause"],
                  built_from=[f"k8s.io/kubernetes@{recipe.kubernetes_version} build/pause/linux/pause.c"],
                  differences=[Difference("source", "pause.c at the pause release", f"pause.c of Kubernetes {recipe.kubernetes_version}",
                                          "the pause image is not a Go module; its C source ships with Kubernetes")])
    )  # fmt: skip
    cni = build.go_build(
        GoBuild("argo-suite.test/cni", "local", (".",), tc, outputs=("argo-suite-cni",)), root, source=CNI_SOURCE
    )
    specs.append(
        ImageSpec([f"{CNI_IMAGE}:{build.input_hash((CNI_SOURCE / 'main.go').read_text())}"], iptables_ref,
                  {"/usr/local/bin/argo-suite-cni": str(cni / "argo-suite-cni")}, entrypoint=["/usr/local/bin/argo-suite-cni"],
                  built_from=["argo_offline_images/cni (this project)"],
                  differences=[Difference("CNI", recipe.cni_image, "argo-suite-cni (ptp + host-local + routes + masquerade)",
                                          "kindnetd is not a published Go module; the module proxy is the only source here",
                                          "kindnetd's own behaviour (network policies, its masquerade agent)", relation=STAND_IN)])
    )  # fmt: skip
    return specs


# -- the node -----------------------------------------------------------------------------------------------------------
@dataclass
class Container:
    cid: str

    def exec(self, *argv: str, stdin: bytes | None = None, what: str = "") -> str:
        flags = ["-i"] if stdin is not None else []
        return run(["docker", "exec", *flags, self.cid, *argv], what or " ".join(argv), input=stdin)

    def write(self, path: str, content: str) -> None:
        self.exec(
            "sh", "-c", f"mkdir -p $(dirname {path}) && cat > {path}", stdin=content.encode(), what=f"write {path}"
        )


def wait_containerd(c: Container, timeout: float = 60) -> None:
    """Bounded wait for containerd in the build container to answer ``ctr version``."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        cp = subprocess.run(["docker", "exec", c.cid, "ctr", "version"], capture_output=True, text=True, check=False)
        if cp.returncode == 0:
            return
        last = cp.stderr.strip()
        time.sleep(0.5)
    raise BuildError(f"containerd in the build container did not answer within {timeout:.0f}s: {last}")


def assemble_node(
    recipe: NodeRecipe, base_ref: str, bins: dict[str, Path], archives: list[Path], pinned_label: bool
) -> str:
    cid = run(
        ["docker", "run", "-d", "--entrypoint=sleep", "--network=none", "--security-opt", "seccomp=unconfined",
         base_ref, "infinity"],
        "start the node build container",
    ).strip()  # fmt: skip
    c = Container(cid)
    try:
        for b in ("kubeadm", "kubelet", "kubectl"):
            src = bins["kubelet"] / b if b == "kubelet" else bins["kubernetes"] / b
            run(["docker", "cp", str(src), f"{cid}:/usr/bin/{b}"], f"copy {b}")
            c.exec("chmod", "+x", f"/usr/bin/{b}")
            c.exec("chown", "root:root", f"/usr/bin/{b}")
        c.write("/kind/version", recipe.kubernetes_version)
        c.write("/kind/manifests/default-cni.yaml", recipe_cni_manifest(recipe))
        c.exec("bash", "-c", "nohup containerd > /dev/null 2>&1 &", what="start containerd")
        wait_containerd(c)
        flags = ["--label=io.cri-containerd.pinned=pinned"] if pinned_label else []
        for a in archives:
            c.exec("ctr", "--namespace=k8s.io", "images", "import", *flags, "--all-platforms", "--no-unpack", "--digests",
                   "-", stdin=a.read_bytes(), what=f"import {a.name}")  # fmt: skip
        listed = set(c.exec("ctr", "--namespace=k8s.io", "images", "list", "-q").split())
        missing = [r for r in recipe_required(recipe) if r not in listed and f"docker.io/{r}" not in listed]
        if missing:
            raise BuildError(f"the node's containerd lacks {missing} after the import (has: {sorted(listed)})")
        c.exec("pkill", "containerd")
        run(["docker", "commit", "--change", 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]', cid,
             recipe.node_image], "commit the node image")  # fmt: skip
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", cid], capture_output=True, check=False)
    got = build.image_id(recipe.node_image)
    if got is None:
        raise BuildError(f"{recipe.node_image} not found after commit")
    return got


def build_node(pins_name: str, pins: dict[str, Any], root: Path, registry_ref: str) -> dict[str, Any]:
    """Build kind, kubectl, the base and node images for one pins set; return (and write) its manifest."""
    started = time.monotonic()
    recipe, kdir, k8s = recipe_for(pins, root)
    manifest_path = root / "manifests" / f"{pins_name}.json"
    key = input_hash_of(recipe, kdir, pins, registry_ref)
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if (
            old.get("input_hash") == key
            and all(build.image_id(i["ref"]) == i["id"] for i in old.get("images", []))
            and all(Path(p).exists() for p in old.get("tools", {}).values())
        ):
            log(f"{pins_name}: node image {recipe.node_image} is up to date ({manifest_path})")
            return dict(old)
    bins: dict[str, Path] = {}
    for name, b in recipe.builds.items():
        bins[name] = build.go_build(b, root)
    kubectl_v = pins["kubectl"]["version"]
    if kubectl_v != recipe.kubernetes_version:
        kb = recipe.builds["kubernetes"]
        bins["kubectl-pinned"] = build.go_build(
            GoBuild(kb.module, kubectl_v, ("./cmd/kubectl",), kb.toolchain, "k8s",
                    ldflags=_ldflags_for(kubectl_v, root)), root)  # fmt: skip
    else:
        bins["kubectl-pinned"] = bins["kubernetes"]
    recipe.kubeadm_images = kubeadm_images(bins["kubernetes"] / "kubeadm", recipe.kubernetes_version)
    packages = sorted({*clean_install_packages((kdir / "images/base/Dockerfile").read_text()), *NODE_BASE_PACKAGES})
    node_rootfs = build.rootfs_tar("bookworm", packages, root)
    ipt_rootfs = build.rootfs_tar("bookworm", list(IPTABLES_PACKAGES), root)
    rootfs_ref = f"localhost/argo-suite-rootfs:node-{node_rootfs.stem.split('-')[-1]}"
    ipt_ref = f"localhost/argo-suite-rootfs:iptables-{ipt_rootfs.stem.split('-')[-1]}"
    with progress("import the root filesystems"):
        if build.image_id(rootfs_ref) is None:
            build.docker_import(node_rootfs, rootfs_ref)
        if build.image_id(ipt_ref) is None:
            build.docker_import(ipt_rootfs, ipt_ref)
    with progress(f"base image {recipe.base_image}"):
        base_id = build_base(recipe, kdir, bins, rootfs_ref)
    specs = node_images(recipe, k8s, bins, root, ipt_ref)
    recipe.cni_local = specs[-1].refs[0]
    archives_dir = root / "archives" / pins_name
    shutil.rmtree(archives_dir, ignore_errors=True)
    archives_dir.mkdir(parents=True)
    images: list[dict[str, Any]] = []
    with progress(f"{len(specs)} images the node bundles"):
        for s in specs:
            iid = s.build()
            a = build.docker_save(s.refs, archives_dir / (s.refs[0].replace("/", "_").replace(":", "_") + ".tar"))
            images.append({"ref": s.refs[0], "also": s.refs[1:], "id": iid, "built_from": s.built_from,
                           "differences": [d.as_dict() for d in s.differences], "archive": str(a)})  # fmt: skip
    pinned = "io.cri-containerd.pinned" in (kdir / "pkg/build/nodeimage/imageimporter.go").read_text()
    with progress(f"node image {recipe.node_image}"):
        node_id = assemble_node(recipe, recipe.base_image, bins, sorted(archives_dir.glob("*.tar")), pinned)
    node_diffs = [
        *recipe.differences,
        Difference("default storage", f"local-path-provisioner ({', '.join(recipe.storage_images)})",
                   "kind's fallback StorageClass (kubernetes.io/host-path), no provisioner pod",
                   "rancher/local-path-provisioner and kind's helper are not served by the Go module proxy here",
                   "dynamic PersistentVolume provisioning"),
        Difference("cgroup v1 controllers", "every controller the node's systemd mounts",
                   f"{', '.join(c for c in SHARED_CONTROLLERS if ',' not in c)} unmounted before the kubelet starts",
                   "on a host that does not mount them, those hierarchies are shared by every node, and one node's "
                   "kubelet removed another's pod cgroups there (runc: 'unable to apply cgroup configuration', seen "
                   "on kind here)", "perf_event, net_cls/net_prio and hugetlb limits for pods"),
    ]  # fmt: skip
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "pins": pins_name,
        "input_hash": key,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.monotonic() - started, 1),
        "node_image": {"ref": recipe.node_image, "id": node_id, "replaces": pins["kind"]["node_image"]},
        "tools": {
            "kind": str(bins["kind"] / "kind"),
            "kubectl": str(bins["kubectl-pinned"] / "kubectl"),
        },
        "images": [
            {
                "ref": recipe.node_image,
                "id": node_id,
                "role": "kind node",
                "built_from": [
                    f"k8s.io/kubernetes@{recipe.kubernetes_version}",
                    f"sigs.k8s.io/kind@{recipe.kind_version}",
                ],
                "toolchain": recipe.toolchain.describe(),
                "differences": [d.as_dict() for d in node_diffs],
            },
            {
                "ref": recipe.base_image,
                "id": base_id,
                "role": "kind base",
                "built_from": [
                    f"{b.module}@{b.version}"
                    for n, b in recipe.builds.items()
                    if n in ("containerd", "runc", "crictl", "cni")
                ],
                "debian": debian_packages(rootfs_ref),
                "differences": [d.as_dict() for d in recipe.differences],
            },
            *images,
        ],
    }
    manifest["images"] += cluster_extras(root, registry_ref)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=1))
    log(f"{pins_name}: manifest written to {manifest_path}")
    return manifest


def _ldflags_for(version: str, root: Path) -> str:

    info = build.module_info("k8s.io/kubernetes", version, {"GOFLAGS": "-mod=mod"}, root)
    return k8s_ldflags(version, str((info.get("Origin") or {}).get("Hash", "")), str(info.get("Time", "")))


def build_base(recipe: NodeRecipe, kdir: Path, bins: dict[str, Path], rootfs_ref: str) -> str:
    files = kdir / "images/base/files"
    hook = (
        "/kind/bin/mount-product-files.sh"
        if (files / "kind/bin/mount-product-files.sh").exists()
        else "/usr/local/bin/mount-product-files"
    )
    with tempfile.TemporaryDirectory(prefix="argo-suite-base-") as d:
        ctx = Path(d)
        shutil.copytree(files, ctx / "files")
        for p in (ctx / "files").rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        (ctx / "argo-suite-cgroup-v1").write_text(CGROUP_V1_SCRIPT)
        (ctx / "12-argo-suite-cgroup-v1.conf").write_text(CGROUP_V1_DROPIN)
        (ctx / "bin").mkdir()
        for n in ("containerd", "ctr", "containerd-shim-runc-v2"):
            shutil.copy2(bins["containerd"] / n, ctx / "bin" / n)
        shutil.copy2(bins["runc"] / "runc", ctx / "bin/runc")
        shutil.copy2(bins["crictl"] / "crictl", ctx / "bin/crictl")
        shutil.copytree(bins["cni"], ctx / "cni", ignore=shutil.ignore_patterns(".done", "build.json"))
        undo = (files / "etc/systemd/system/undo-mount-hacks.service").exists()
        return build.docker_build(ctx, base_dockerfile(rootfs_ref, files, undo, hook), [recipe.base_image])


def debian_packages(ref: str) -> dict[str, str]:
    out = run(["docker", "run", "--rm", "--network=none", "--entrypoint", "dpkg-query", ref, "-W", "-f", "${Package}=${Version}\\n"],
              "list the Debian packages")  # fmt: skip
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def input_hash_of(recipe: NodeRecipe, kdir: Path, pins: dict[str, Any], registry_ref: str) -> str:
    files = sorted(
        (p.relative_to(kdir).as_posix(), p.read_bytes().hex())
        for p in (kdir / "images/base/files").rglob("*")
        if p.is_file()
    )
    return build.input_hash({
        "builds": {k: b.key() for k, b in recipe.builds.items()},
        "kind_files": build.input_hash(files),
        "cni": (CNI_SOURCE / "main.go").read_text(),
        "recipe_code": [(Path(__file__).parent / f).read_text() for f in ("nodeimage.py", "nodefiles.py", "imagespec.py", "clusterextras.py", "recipes.py", "build.py", "gomod.py")],
        "pins": pins["kind"], "kubectl": pins["kubectl"], "registry": registry_ref, "gitserver": GITSERVER_PACKAGES,
    })  # fmt: skip
