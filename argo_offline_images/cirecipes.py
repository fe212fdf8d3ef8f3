"""How the images of the tutorial's CI and of its EventBus are built here (pure), each difference recorded.

Read at the pinned tags:

* ``moby/buildkit:v0.11.0-rootless`` (buildkit's ``Dockerfile``, stage ``rootless``): alpine with
  ``fuse3 fuse-overlayfs git openssh pigz shadow-uidmap xz``, user ``user`` (1000) with ``/etc/subuid`` and
  ``/etc/subgid`` ``user:100000:65536``, ``rootlesskit`` (``ARG ROOTLESSKIT_VERSION``), ``buildkitd``,
  ``buildctl`` and ``buildkit-runc`` in ``/usr/bin``, ``examples/buildctl-daemonless/buildctl-daemonless.sh``,
  ``USER 1000:1000``, ``ENTRYPOINT ["rootlesskit", "buildkitd"]``.
* ``nats`` (the official image): ``FROM scratch``, ``/nats-server``; Argo Events runs it with the
  ``startCommand`` of its controller config (``/nats-server --config ...``).
* ``nats-streaming`` (the official image): ``FROM scratch``, ``/nats-streaming-server``.
* ``alpine``, ``alpine/git``, ``curlimages/curl``, ``golang:*-alpine*``: Alpine Linux images; no registry is
  reachable here and Alpine's packages are not either, so Debian bookworm stands in. A step that needs Alpine
  itself (``apk add``) cannot be verified on these.
* ``natsio/prometheus-nats-exporter`` and ``natsio/nats-server-config-reloader``: their modules are not served by
  the Go module proxy here at any version tried; stand-ins that say so keep the EventBus pods running.
"""

from __future__ import annotations

import os
import re

from argo_image_refs import parse_ref
from argo_offline_images.gomod import RecipeError
from argo_offline_images.recipes import ANOTHER_RELEASE, STAND_IN, Difference, GoBuild, dockerfile_args
from argo_offline_images.stackfacts import (
    NO_REGISTRY,
    ModuleFacts,
    StackImage,
    Unbuildable,
    _go_diff,
    dockerfile_go,
    go_directive_of,
    module_toolchain,
)

NOT_ALPINE = "Alpine's packages are not reachable here; Debian bookworm stands in"
APK = "a step that runs apk (Alpine's package manager)"

# BuildKit (buildctl-daemonless.sh) pulls the Dockerfile's base images itself, not through the node's containerd:
# its image is told where the kind tier's docker.io mirror answers (the suite names it so: an input of this builder,
# ``--buildkit-mirror``, whose default is that name).
BUILDKIT_MIRROR = os.environ.get("ARGO_OFFLINE_BUILDKIT_MIRROR", "argo-suite-mirror-docker-io:5000")


def buildkitd_toml() -> str:
    """buildkitd's config (rootless: ``$HOME/.config/buildkit/buildkitd.toml``): docker.io through the suite's
    mirror first, over HTTP (BuildKit then falls back to Docker Hub itself, as its ``mirrors`` rule says)."""
    host = BUILDKIT_MIRROR
    return f'[registry."docker.io"]\n  mirrors = ["{host}"]\n\n[registry."{host}"]\n  http = true\n'


def buildkit(ref: str, f: ModuleFacts) -> StackImage:
    """``moby/buildkit:<v>-rootless``: buildkitd and buildctl from buildkit's module, rootlesskit from its own at
    the Dockerfile's ``ROOTLESSKIT_VERSION``; Debian's runc as ``buildkit-runc``."""
    go = dockerfile_go(f.dockerfile)
    tc = module_toolchain(f)
    rootlesskit = dockerfile_args(f.dockerfile).get("ROOTLESSKIT_VERSION", "")
    if not rootlesskit:
        raise RecipeError(f"{f.module}@{f.version}: its Dockerfile names no ROOTLESSKIT_VERSION")
    pkg = "github.com/moby/buildkit"
    version = (
        f"-X {pkg}/version.Version={f.version} -X {pkg}/version.Revision={f.commit} -X {pkg}/version.Package={pkg}"
    )
    daemon = GoBuild(f.module, f.version, ("./cmd/buildkitd",), tc, ldflags=f"{version} -extldflags '-static'",
                     tags=("osusergo", "netgo", "static_build", "seccomp"))  # fmt: skip
    client = GoBuild(f.module, f.version, ("./cmd/buildctl",), tc, ldflags=version)
    rk = GoBuild("github.com/rootless-containers/rootlesskit", rootlesskit, ("./cmd/rootlesskit",), tc, ldflags="")
    lines = (
        "RUN ln -s /usr/sbin/runc /usr/bin/buildkit-runc",
        "RUN useradd -m -u 1000 -s /bin/sh user"
        " && mkdir -p /run/user/1000 /home/user/.local/tmp /home/user/.local/share/buildkit /home/user/.config/buildkit"
        " && chown -R user /run/user/1000 /home/user"
        " && echo user:100000:65536 | tee /etc/subuid | tee /etc/subgid",
        "USER 1000:1000",
        "ENV HOME=/home/user USER=user XDG_RUNTIME_DIR=/run/user/1000 TMPDIR=/home/user/.local/tmp"
        " BUILDKIT_HOST=unix:///run/user/1000/buildkit/buildkitd.sock",
        "VOLUME /home/user/.local/share/buildkit",
    )
    return StackImage(
        ref, "buildkit", ("fuse3", "fuse-overlayfs", "git", "openssh-client", "pigz", "uidmap", "xz-utils",
                          "ca-certificates", "runc", "passwd"),
        builds=((daemon, "/usr/bin/buildkitd"), (client, "/usr/bin/buildctl"), (rk, "/usr/bin/rootlesskit")),
        module_files=(("examples/buildctl-daemonless/buildctl-daemonless.sh", "/usr/bin/buildctl-daemonless.sh"),),
        texts=(("/home/user/.config/buildkit/buildkitd.toml", buildkitd_toml()),), lines=lines, entrypoint=("rootlesskit", "buildkitd"),
        built_from=(f"{f.module}@{f.version}", f"github.com/rootless-containers/rootlesskit@{rootlesskit}",
                    "Debian bookworm: fuse3, fuse-overlayfs, git, openssh-client, pigz, uidmap, xz-utils, runc"),
        differences=(
            *_go_diff(go, tc.version),
            Difference("base", f"alpine:{dockerfile_args(f.dockerfile).get('ALPINE_VERSION', '?')}",
                       "Debian bookworm", NOT_ALPINE),
            Difference("buildkit-runc", f"runc {dockerfile_args(f.dockerfile).get('RUNC_VERSION', '?')} built static",
                       "Debian bookworm's runc", "runc builds with cgo and libseccomp; Debian's is the nearest",
                       relation=STAND_IN),
            Difference("binfmt helpers", "buildkit-qemu-* from tonistiigi/binfmt", "absent", NO_REGISTRY,
                       "builds for other CPU architectures"),
            Difference("buildkitd.toml", "none (defaults)",
                       f"docker.io mirrored by {BUILDKIT_MIRROR} over HTTP, then Docker Hub",
                       "BuildKit pulls a Dockerfile's base images itself, not through the node's containerd: with "
                       "--registry-mirror it reaches the suite's docker.io mirror; otherwise it goes on to Docker Hub"),
        ),
    )  # fmt: skip


def _debian_stand_in(ref: str, role: str, packages: tuple[str, ...], upstream: str, lines: tuple[str, ...] = (),
                     entrypoint: tuple[str, ...] | None = None, cmd: tuple[str, ...] | None = ("/bin/sh",),
                     extra: tuple[Difference, ...] = (), texts: tuple[tuple[str, str], ...] = (),
                     tree: tuple[str, str, str] | None = None) -> StackImage:  # fmt: skip
    return StackImage(
        ref, role, packages, lines=lines, entrypoint=entrypoint, cmd=cmd, texts=texts, tree=tree,
        built_from=(f"Debian bookworm: {', '.join(packages)}", *([f"{tree[0]}@{tree[1]}"] if tree else [])),
        differences=(Difference("base", upstream, "Debian bookworm", NOT_ALPINE, APK), *extra),
    )  # fmt: skip


def alpine(ref: str) -> StackImage:
    """Debian with curl, and an ``apk`` that installs nothing but succeeds for what the image already has: the
    tutorial's ``apk --no-cache add curl`` (D32) then runs on, and is reported "not verified here"."""
    return _debian_stand_in(
        ref, "alpine", ("ca-certificates", "curl"), f"{ref} (Alpine Linux, busybox, apk)",
        texts=(("/sbin/apk", APK_STAND_IN),),
        extra=(Difference("apk", "Alpine's package manager", "a stand-in: succeeds for `apk add` of commands the "
                          "image already has (curl), fails for any other", NOT_ALPINE, APK, relation=STAND_IN),),
    )  # fmt: skip


def alpine_git(ref: str) -> StackImage:
    tag = parse_ref(ref).tag.removeprefix("v")
    return _debian_stand_in(
        ref, "git", ("git", "openssh-client", "ca-certificates"), f"alpine with git {tag}",
        lines=("WORKDIR /git",), entrypoint=("git",), cmd=("--help",),
        extra=(Difference("git", tag, "Debian bookworm's git (2.39)", NOT_ALPINE, relation=STAND_IN),),
    )  # fmt: skip


def curl(ref: str) -> StackImage:
    tag = parse_ref(ref).tag
    return _debian_stand_in(
        ref, "curl", ("curl", "ca-certificates", "passwd"), f"alpine with curl {tag}",
        lines=("RUN useradd -r -u 100 -s /bin/sh curl_user", "USER 100"), entrypoint=("curl",), cmd=("--help",),
        extra=(Difference("curl", tag, "Debian bookworm's curl (7.88)", NOT_ALPINE, relation=STAND_IN),),
    )  # fmt: skip


TOOLCHAIN = "golang.org/toolchain"


def go_of(tag: str) -> tuple[int, int, str]:
    """``1.20.1-alpine3.17`` -> (1, 20, ``1.20.1``); ``1.26-alpine`` -> (1, 26, ``1.26``)."""
    m = re.match(r"((\d+)\.(\d+)(?:\.\d+)?)", tag)
    if not m:
        raise RecipeError(f"golang:{tag} names no Go version")
    return int(m.group(2)), int(m.group(3)), m.group(1)


def toolchain_module(tag: str) -> tuple[str, str] | None:
    """(``golang.org/toolchain``, Go version asked) for a Go the proxy publishes as a module (1.21 on); the caller
    resolves a bare minor (``1.26``) to its newest served patch, as the floating image tag does."""
    major, minor, version = go_of(tag)
    return (TOOLCHAIN, version) if (major, minor) >= (1, 21) else None


def toolchain_version(go: str) -> str:
    """The module version of Go ``go`` for this machine's platform: ``1.26.11`` -> ``v0.0.1-go1.26.11.linux-amd64``."""
    return f"v0.0.1-go{go}.linux-amd64"


def served_patch(minor: str, versions: list[str]) -> str | None:
    """The newest ``1.26.N`` in the proxy's version list of golang.org/toolchain (release candidates left out)."""
    found = []
    for v in versions:
        m = re.fullmatch(rf"v0\.0\.1-go({re.escape(minor)}\.(\d+))\.linux-amd64", v)
        if m:
            found.append((int(m.group(2)), m.group(1)))
    return max(found)[1] if found else None


GOLANG_ENV = (
    "ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)


def golang(ref: str, facts: ModuleFacts | None) -> StackImage | Unbuildable:
    """``golang:<go>-alpine<v>``: Go at ``/usr/local/go``, ``GOPATH=/go``, ``WORKDIR /go``. From Go 1.21 on, the Go
    the proxy publishes as the ``golang.org/toolchain`` module (what ``GOTOOLCHAIN`` downloads); before, Debian's
    golang-1.19 package (toolchains before 1.21 are not published as modules)."""
    tag = parse_ref(ref).tag
    major, minor, asked = go_of(tag)
    if (major, minor) >= (1, 21):
        if facts is None:
            return Unbuildable(ref, f"Go {asked} is not served as {TOOLCHAIN} here")
        served = facts.version.removeprefix("v0.0.1-go").removesuffix(".linux-amd64")
        return _debian_stand_in(
            ref, "go builder", ("ca-certificates", "git"), f"golang:{tag} (Alpine Linux)",
            lines=("RUN mkdir -p /go/src /go/bin && chmod -R 777 /go", GOLANG_ENV, "WORKDIR /go"),
            tree=(facts.module, facts.version, "/usr/local/go"),
            extra=(Difference("Go", f"{asked} (the tag's newest patch when built)", f"{served} ({TOOLCHAIN})",
                              "the newest patch the Go module proxy serves", relation=ANOTHER_RELEASE),),
        )  # fmt: skip
    return _debian_stand_in(
        ref, "go builder", ("golang-1.19-go", "ca-certificates", "git"), f"golang:{tag} (Alpine Linux)",
        lines=("RUN ln -s /usr/lib/go-1.19 /usr/local/go && mkdir -p /go/src /go/bin && chmod -R 777 /go",
               GOLANG_ENV + " CGO_ENABLED=0", "WORKDIR /go"),
        extra=(Difference("Go", asked, "Debian bookworm's golang-1.19",
                          "the nearest Go packaged for Debian bookworm", "behaviour that changed after Go 1.19",
                          relation=ANOTHER_RELEASE),
               Difference("CGO_ENABLED", "unset (Go 1.20 turns cgo off when no C compiler is found, as on Alpine)",
                          "0 (Go 1.19 does not turn it off by itself)", "builds static binaries, as the image does")),
    )  # fmt: skip


def _nats_server(ref: str, f: ModuleFacts, program: str, cmd: tuple[str, ...],
                 differences: tuple[Difference, ...]) -> StackImage:  # fmt: skip
    """A NATS server image as the official one is: ``FROM scratch``, ``/<program>`` built from its module."""
    b = GoBuild(f.module, f.version, (".",), module_toolchain(f), outputs=(program,), ldflags="-s -w")
    return StackImage(
        ref, "eventbus", None, ((b, f"/{program}"),), entrypoint=(f"/{program}",), cmd=cmd,
        built_from=(f"{f.module}@{f.version}",), ca_certificates=True, differences=differences,
    )  # fmt: skip


def nats(ref: str, f: ModuleFacts) -> StackImage:
    return _nats_server(ref, f, "nats-server", ("--config", "nats-server.conf"),
                        (Difference("nats-server.conf", "/nats-server.conf (the image's default)", "absent",
                                    "Argo Events mounts its own config"),))  # fmt: skip


def nats_streaming(ref: str, f: ModuleFacts) -> StackImage:
    return _nats_server(ref, f, "nats-streaming-server", ("-m", "8222"),
                        _go_diff(go_directive_of(f), module_toolchain(f).version))  # fmt: skip


def waiting_stand_in(says: str) -> str:
    """A process that says what it stands in for, then waits until it is stopped (TERM ends it at once)."""
    return f"#!/bin/sh\necho '{says}' >&2\ntrap 'exit 0' TERM INT\nwhile :; do sleep 3600 & wait $!; done\n"


APK_STAND_IN = """#!/bin/sh
# argo-suite: apk stands in for Alpine's package manager on a Debian image; nothing is installed.
echo "apk: Alpine's package manager is not in this image (Debian stands in for Alpine here, argo-suite): 'apk $*' installs nothing" >&2
sub=""
for a in "$@"; do case "$a" in -*) ;; *) sub=$a; break ;; esac; done
[ "$sub" = add ] || exit 1
seen=""
for p in "$@"; do
  case "$p" in -*) continue ;; esac
  [ -z "$seen" ] && [ "$p" = add ] && { seen=1; continue; }
  command -v "$p" >/dev/null 2>&1 || { echo "apk: $p is not in this image" >&2; exit 1; }
done
"""


def nats_stand_in(ref: str, program: str, verifies: str) -> StackImage:
    """A stand-in for a NATS sidecar whose module is not served: it logs that it is one and waits."""
    r = parse_ref(ref)
    says = f"{program} is not in this image: its module is not served by the Go module proxy here (argo-suite)"
    return StackImage(
        ref, "eventbus stand-in", ("ca-certificates",), texts=((f"/usr/local/bin/{program}", waiting_stand_in(says)),),
        lines=(f"RUN ln -s /usr/local/bin/{program} /{program}",), entrypoint=(f"/{program}",), cmd=None,
        built_from=("Debian bookworm: ca-certificates, a stand-in script",),
        differences=(Difference(program, f"{r.path}:{r.tag}", "a stand-in that logs that it is one and waits",
                                f"github.com/{r.path.replace('natsio/', 'nats-io/')} is not served by the Go module "
                                "proxy here at any version tried", verifies, relation=STAND_IN),),
    )  # fmt: skip


BY_REPOSITORY: dict[str, str] = {
    "docker.io/moby/buildkit": "buildkit",
    "docker.io/library/alpine": "alpine",
    "docker.io/alpine/git": "alpine-git",
    "docker.io/curlimages/curl": "curl",
    "docker.io/library/golang": "golang",
    "docker.io/library/nats": "nats",
    "docker.io/library/nats-streaming": "nats-streaming",
    "docker.io/natsio/prometheus-nats-exporter": "nats-exporter",
    "docker.io/natsio/nats-server-config-reloader": "nats-reloader",
}
MODULES: dict[str, str] = {
    "buildkit": "github.com/moby/buildkit",
    "nats": "github.com/nats-io/nats-server",
    "nats-streaming": "github.com/nats-io/nats-streaming-server",
}


def module_version(kind: str, tag: str) -> str:
    """The module version an image tag names: ``v0.11.0-rootless`` -> ``v0.11.0``, ``2.9.1`` -> ``v2.9.1``."""
    if kind == "buildkit":
        tag = tag.removesuffix("-rootless")
    return tag if tag.startswith("v") else f"v{tag}"


def recipe(kind: str, ref: str, facts: ModuleFacts | None) -> StackImage | Unbuildable:
    """The recipe of one CI or EventBus image (``facts`` read when :data:`MODULES` names its kind)."""
    if kind == "buildkit" and facts is not None:
        if not parse_ref(ref).tag.endswith("-rootless"):
            return Unbuildable(ref, "only BuildKit's rootless image has a recipe (the tutorial runs it)")
        return buildkit(ref, facts)
    if kind == "nats" and facts is not None:
        return nats(ref, facts)
    if kind == "nats-streaming" and facts is not None:
        return nats_streaming(ref, facts)
    if kind == "alpine":
        return alpine(ref)
    if kind == "alpine-git":
        return alpine_git(ref)
    if kind == "curl":
        return curl(ref)
    if kind == "golang":
        return golang(ref, facts)
    if kind == "nats-exporter":
        return nats_stand_in(ref, "prometheus-nats-exporter", "the EventBus's Prometheus metrics")
    if kind == "nats-reloader":
        return nats_stand_in(ref, "nats-server-config-reloader", "reloading the EventBus's config when it changes")
    raise RecipeError(f"{ref}: no CI or EventBus recipe of kind {kind!r}")
