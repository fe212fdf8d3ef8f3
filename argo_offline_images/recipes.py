"""What to build for a pins set, computed from upstream's own files at the pinned tags (pure).

Every version here is read from upstream at the pinned tag, never kept by hand:

* the Kubernetes version from the pins' node image tag (``kindest/node:v1.25.3@sha256:...``);
* kind's base-image inputs from ``images/base/Dockerfile`` ARGs (``CONTAINERD_VERSION``, ``RUNC_VERSION``,
  ``CRICTL_VERSION``, ``CNI_PLUGINS_VERSION``), its files from ``images/base/files``, its base image name from
  ``pkg/build/nodeimage/defaults.go`` and its bundled images from ``const_cni.go`` / ``const_storage.go``;
* the sandbox (pause) image from kind's containerd ``config.toml``;
* the control-plane images from ``kubeadm config images list`` of the Kubernetes build itself;
* the Go each release was built with from ``.go-version`` or ``build/dependencies.yaml``.

What cannot be had here is a recorded substitution (:class:`Difference`), each with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from argo_offline_images.gomod import RecipeError, Toolchain, k8s_ldflags

Mode = Literal["main", "wrapper", "k8s"]

# Versions the Go module proxy here does not serve, and the nearest served one we build instead
# (each use is recorded as a difference). Found with `go mod download -json MODULE@VERSION` (403 "not available").
NOT_SERVED_FALLBACK: dict[str, str] = {"sigs.k8s.io/cri-tools": "v1.34.0"}


# How the program a difference touches relates to the one users pull (recorded per difference, read by the
# suite's verdicts: a step decided by a program that ran as another release or a stand-in is "not verified here").
SAME_RELEASE = "same release"  # the released program itself; only packaging differs (base, CA bundle, Go patch)
ANOTHER_RELEASE = "another release"  # another version of the same program (a neighbour release, a nearby patch)
STAND_IN = "stand-in"  # another program in its place (Debian's package, a script that says it is one)


@dataclass(frozen=True)
class Difference:
    """One way the image we build differs from the one users pull."""

    what: str
    upstream: str
    here: str
    why: str
    verifies: str = ""  # what a test on this image cannot verify because of it ("" = nothing)
    relation: str = SAME_RELEASE

    def as_dict(self) -> dict[str, str]:
        d = {"what": self.what, "upstream": self.upstream, "here": self.here, "why": self.why,
             "relation": self.relation}  # fmt: skip
        if self.verifies:
            d["not_verified"] = self.verifies
        return d


@dataclass(frozen=True)
class GoBuild:
    """``go build`` of ``packages`` (relative to the module root) of ``module@version``."""

    module: str
    version: str
    packages: tuple[str, ...]
    toolchain: Toolchain
    mode: Mode = "main"
    cgo: bool = False
    tags: tuple[str, ...] = ()
    ldflags: str = "-s -w"
    outputs: tuple[str, ...] = ()  # output names, one per package (default: the package's last element)
    prepare: tuple[tuple[str, str], ...] = ()  # (from, to): copy inside the module when `to` is missing (main mode)
    nosumdb: bool = False  # a version sum.golang.org does not know: fetch it with GONOSUMDB (recorded)
    replaces: tuple[tuple[str, str], ...] = ()  # (module, module@version): `go mod edit -replace` (main mode)
    touch: tuple[str, ...] = ()  # empty files to make inside the module first, as its Makefile does (main mode)

    def output_names(self) -> tuple[str, ...]:
        if self.outputs:
            return self.outputs
        names = []
        for p in self.packages:
            last = p.rstrip("/").split("/")[-1]
            names.append(last if last not in ("", ".") else self.module.split("/")[-1])
        return tuple(names)

    def key(self) -> dict[str, object]:
        return {
            "module": self.module,
            "version": self.version,
            "packages": list(self.packages),
            "go": self.toolchain.version,
            "mode": self.mode,
            "cgo": self.cgo,
            "tags": list(self.tags),
            "ldflags": self.ldflags,
            **({"prepare": [list(p) for p in self.prepare]} if self.prepare else {}),
            **({"nosumdb": True} if self.nosumdb else {}),
            **({"replaces": [list(r) for r in self.replaces]} if self.replaces else {}),
            **({"touch": list(self.touch)} if self.touch else {}),
        }


def go_const(source: str, name: str) -> str:
    """The string value of ``const name = "..."`` in Go source."""
    m = re.search(rf'\b{re.escape(name)}\s*=\s*"([^"]+)"', source)
    if not m:
        raise RecipeError(f"Go constant {name} not found")
    return m.group(1)


def dockerfile_args(text: str) -> dict[str, str]:
    """``ARG NAME="default"`` lines of a Dockerfile (the last default wins, as in a multi-stage file)."""
    out: dict[str, str] = {}
    for m in re.finditer(r'^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))', text, re.M):
        out[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
    return out


def sandbox_image(containerd_toml: str) -> str:
    m = re.search(r'^\s*sandbox_image\s*=\s*"([^"]+)"', containerd_toml, re.M)
    if not m:
        raise RecipeError("sandbox_image not found in kind's containerd config.toml")
    return m.group(1)


def kubernetes_version_of(node_image: str) -> str:
    """``kindest/node:v1.25.3@sha256:...`` -> ``v1.25.3``."""
    m = re.match(r"^[^:@]+:(v\d+\.\d+\.\d+)(?:@sha256:[0-9a-f]{64})?$", node_image)
    if not m:
        raise RecipeError(f"node image {node_image!r} has no vMAJOR.MINOR.PATCH tag")
    return m.group(1)


def upstream_go(go_version_file: str | None, dependencies_yaml: str | None) -> str:
    """The Go a Kubernetes release was built with: ``.go-version`` (1.26+), else ``build/dependencies.yaml``."""
    if go_version_file and go_version_file.strip():
        return go_version_file.strip()
    if dependencies_yaml:
        m = re.search(r'name:\s*"golang: upstream version"\s*\n\s*version:\s*([0-9.]+)', dependencies_yaml)
        if m:
            return m.group(1)
    raise RecipeError("cannot tell which Go the release was built with (.go-version and dependencies.yaml lack it)")


def toolchain_for(upstream: str) -> Toolchain:
    """The nearest Go we can run: the exact version from the module proxy from Go 1.21 on; Debian 12's
    golang-1.19 before (toolchains before 1.21 are not published as modules)."""
    parts = upstream.split(".")
    if (int(parts[0]), int(parts[1])) < (1, 21):
        return Toolchain("1.19", upstream)
    return Toolchain(upstream if len(parts) == 3 else f"{upstream}.0", upstream)


def vtag(version: str) -> str:
    return version if version.startswith("v") else f"v{version}"


def split_ref(ref: str) -> tuple[str, str]:
    """``docker.io/kindest/kindnetd:v1`` -> (``docker.io/kindest/kindnetd``, ``v1``)."""
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        raise RecipeError(f"image reference {ref!r} has no tag")
    return name, tag


@dataclass(frozen=True)
class KindFacts:
    """What the node recipe reads from kind and Kubernetes at the pinned tags (gathered by I/O elsewhere)."""

    kind_version: str
    kind_go: str
    base_dockerfile: str
    defaults_go: str
    const_cni_go: str
    const_storage_go: str
    containerd_toml: str
    kubernetes_version: str
    kubernetes_go: str
    kubernetes_commit: str
    kubernetes_date: str
    containerd_runc: str = ""  # containerd's script/setup/runc-version, when kind names no RUNC_VERSION


@dataclass
class NodeRecipe:
    kind_version: str
    kubernetes_version: str
    base_image: str  # kind's base image name, as kind names it
    node_image: str  # kindest/node:vX.Y.Z
    toolchain: Toolchain
    kind_toolchain: Toolchain
    builds: dict[str, GoBuild]
    kubeadm_images: list[str] = field(default_factory=list)  # filled after kubeadm is built
    sandbox: str = ""
    cni_image: str = ""  # kind's CNI image (kindnetd), as kind names it
    cni_local: str = ""  # the CNI image we build instead
    storage_images: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)


def node_recipe(facts: KindFacts, served: dict[str, bool]) -> NodeRecipe:
    """The node recipe for one pins set. ``served[module@version]`` says whether the proxy serves it
    (a missing key counts as served)."""

    args = dockerfile_args(facts.base_dockerfile)
    tc = toolchain_for(facts.kubernetes_go)
    ktc = toolchain_for(facts.kind_go)
    diffs: list[Difference] = []
    builds: dict[str, GoBuild] = {}

    k8s_bins = ("kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
    ld = k8s_ldflags(facts.kubernetes_version, facts.kubernetes_commit, facts.kubernetes_date)
    static = tuple(b for b in (*k8s_bins, "kube-proxy") if b != "kubelet")
    builds["kubernetes"] = GoBuild(
        "k8s.io/kubernetes", facts.kubernetes_version, tuple(f"./cmd/{b}" for b in static), tc, "k8s", ldflags=ld
    )
    builds["kubelet"] = GoBuild(
        "k8s.io/kubernetes", facts.kubernetes_version, ("./cmd/kubelet",), tc, "k8s", True, ldflags=ld
    )
    if not facts.kubernetes_commit:
        diffs.append(
            Difference("Kubernetes gitCommit", "the release commit", "empty", "the module proxy gave no origin hash")
        )

    containerd = vtag(args.get("CONTAINERD_VERSION", ""))
    if containerd == "v":
        raise RecipeError("kind's base Dockerfile names no CONTAINERD_VERSION")
    major = int(containerd[1:].split(".")[0])
    cmod = "github.com/containerd/containerd" + ("/v2" if major >= 2 else "")
    builds["containerd"] = GoBuild(
        cmod,
        containerd,
        ("./cmd/containerd", "./cmd/ctr", "./cmd/containerd-shim-runc-v2"),
        tc,
        tags=("no_aufs", "no_zfs", "no_btrfs", "no_devmapper"),
        ldflags=f"-s -w -X {cmod}/version.Version={containerd} -X {cmod}/version.Package=github.com/containerd/containerd",
    )
    runc = vtag(args.get("RUNC_VERSION", "") or facts.containerd_runc.strip())
    if runc == "v":
        raise RecipeError("no runc version: kind names none and containerd's script/setup/runc-version was not read")
    builds["runc"] = GoBuild(
        "github.com/opencontainers/runc", runc, (".",), tc, cgo=True, tags=("seccomp",),
        ldflags=f"-s -w -X main.version={runc[1:]}", outputs=("runc",),
    )  # fmt: skip
    if "RUNC_VERSION" not in args:
        diffs.append(
            Difference("runc", f"the runc of kind-ci's containerd-{containerd[1:]} bundle", f"runc {runc}",
                       "kind's base took runc from a containerd nightly bundle; we build the runc that containerd release names")
        )  # fmt: skip
    crictl = vtag(args.get("CRICTL_VERSION", "v0.0.0"))
    crictl_built = crictl
    if not served.get(f"sigs.k8s.io/cri-tools@{crictl}", True):
        crictl_built = NOT_SERVED_FALLBACK["sigs.k8s.io/cri-tools"]
        diffs.append(
            Difference(
                "crictl",
                crictl,
                crictl_built,
                "the Go module proxy here does not serve cri-tools at that tag",
                relation=ANOTHER_RELEASE,
            )
        )
    builds["crictl"] = GoBuild(
        "sigs.k8s.io/cri-tools", crictl_built, ("./cmd/crictl",), tc,
        ldflags=f"-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version={crictl_built}",
    )  # fmt: skip
    cni = vtag(args.get("CNI_PLUGINS_VERSION", ""))
    builds["cni"] = GoBuild(
        "github.com/containernetworking/plugins", cni,
        ("./plugins/ipam/host-local", "./plugins/main/loopback", "./plugins/main/ptp", "./plugins/meta/portmap"), tc,
        ldflags=f"-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion={cni}",
    )  # fmt: skip
    builds["kind"] = GoBuild("sigs.k8s.io/kind", facts.kind_version, (".",), ktc, outputs=("kind",))
    base_image = go_const(facts.defaults_go, "DefaultBaseImage")
    diffs += [
        Difference("base rootfs", _base_from(facts.base_dockerfile), "Debian 12 (bookworm) from debootstrap",
                   "no registry is reachable; debootstrap builds the same package list from Debian's archive"),
        Difference("containerd-fuse-overlayfs", "bundled", "absent", "used only by rootless kind; not needed here"),
        Difference("kubelet drop-in", "none", "12-argo-suite-cgroup-v1.conf: kubelet cgroup roots in every v1 hierarchy",
                   "on a cgroup v1 host with controllers the host does not mount, the kubelet refuses to start"),
        Difference("image digest", "the release digest", "a local image ID", "a local build cannot reproduce the digest"),
    ]  # fmt: skip
    if tc.version != tc.upstream:
        diffs.append(Difference("Go", f"go{tc.upstream}", tc.describe(), "the nearest Go this machine can run"))
    return NodeRecipe(
        kind_version=facts.kind_version,
        kubernetes_version=facts.kubernetes_version,
        base_image=base_image,
        node_image=f"kindest/node:{facts.kubernetes_version}",
        toolchain=tc,
        kind_toolchain=ktc,
        builds=builds,
        sandbox=sandbox_image(facts.containerd_toml),
        cni_image=go_const(facts.const_cni_go, "kindnetdImage"),
        storage_images=[
            go_const(facts.const_storage_go, "storageProvisionerImage"),
            go_const(facts.const_storage_go, "storageHelperImage"),
        ],
        differences=diffs,
    )


def _base_from(dockerfile: str) -> str:
    return dockerfile_args(dockerfile).get("BASE_IMAGE", "unknown")
