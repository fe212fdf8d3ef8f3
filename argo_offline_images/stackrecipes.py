"""How each image of the tutorial's stack is built here (pure): from its project's Go module at the tag the
image names, on the base its Dockerfile names or the nearest Debian, each difference recorded.

The recipe of an image is chosen by its repository, never by a hand-kept list of versions: the tag of the
reference (``quay.io/argoproj/argocd:v2.6.3``) is the module version, and what the build needs is read from the
module at that version by the caller (its ``Dockerfile``'s Go, its ``Makefile``'s ``-X`` flags, ``VERSION``,
``hack/tool-versions.sh``) and passed in as :class:`ModuleFacts`.

What each upstream image is, read from the Dockerfiles at the pinned tags:

* ``quay.io/argoproj/argo-rollouts``: ``FROM scratch``, ``/bin/rollouts-controller`` (``make controller``:
  ``CGO_ENABLED=0 go build ./cmd/rollouts-controller``), the builder's ``ca-certificates.crt``, ``USER 999``.
* ``quay.io/argoproj/argocd``: ``ubuntu:22.04`` plus ``git git-lfs tini gpg tzdata``, user ``argocd`` (999),
  helm and kustomize at ``hack/tool-versions.sh``'s versions, ``entrypoint.sh`` and the gpg/git wrappers from
  ``hack/``, ``/app/config/{ssh,tls,gpg/source,gpg/keys}``, and ``argocd`` (``make argocd-all``:
  ``go build ./cmd``) linked as each ``argocd-*`` command; the web UI is a yarn build embedded from ``ui/dist``.
* ``redis``/``haproxy`` (Argo CD HA's ``redis-ha``): the Docker official images; Debian's packages here.
* ``ghcr.io/dexidp/dex``: Argo CD runs ``/shared/argocd-dex rundex`` in it (``copyutil`` copies ``argocd`` into
  ``/shared``), which starts dex only when SSO is configured in ``argocd-cm``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import ModuleType

from argo_image_refs import parse_ref
from argo_offline_images.debianrecipes import dex_runtime, haproxy, redis
from argo_offline_images.gomod import RecipeError
from argo_offline_images.recipes import Difference, GoBuild, toolchain_for
from argo_offline_images.stackfacts import (
    NO_REGISTRY,
    ModuleFacts,
    Plan,
    StackImage,
    Unbuildable,
    _go_diff,
    _values,
    dockerfile_go,
    makefile_goldflags,
    makefile_ldflags,
    module_toolchain,
    newest_tool,
    substitution,
)


def rollouts(ref: str, f: ModuleFacts) -> StackImage:
    go = dockerfile_go(f.dockerfile)
    tc = toolchain_for(go)
    b = GoBuild(
        f.module, f.version, ("./cmd/rollouts-controller",), tc, ldflags=makefile_ldflags(f.makefile, _values(f))
    )
    return StackImage(
        ref, "argo-rollouts", None, ((b, "/bin/rollouts-controller"),),
        lines=("USER 999", "WORKDIR /home/argo-rollouts"), entrypoint=("/bin/rollouts-controller",),
        built_from=(f"{f.module}@{f.version}",), ca_certificates=True,
        differences=(*_go_diff(go, tc.version),
                     Difference("CA bundle", "golang:" + go + "'s /etc/ssl/certs", "Debian bookworm's", NO_REGISTRY)),
    )  # fmt: skip


ARGOCD_COMMANDS = (
    "argocd-server", "argocd-repo-server", "argocd-cmp-server", "argocd-application-controller", "argocd-dex",
    "argocd-notifications", "argocd-applicationset-controller", "argocd-k8s-auth", "argocd-commit-server",
)  # fmt: skip
# What apt installs with the Dockerfile's packages by default, their Recommends (debootstrap's --include takes
# Depends only): gpg -> gnupg (gpg-agent: without it the repo-server's `gpg --gen-key` exits 2 and the repo-server
# dies at start, seen on kind here), git -> less, patch, openssh-client; and what the recipe's own lines run.
ARGOCD_RECOMMENDS = ("gnupg", "less", "patch", "openssh-client")
ARGOCD_ALWAYS = ("ca-certificates", "passwd", "git-lfs")


def apt_packages(dockerfile: str, stage: str = "argocd-base") -> tuple[tuple[str, ...], bool]:
    """(packages, with Recommends) of ``apt-get install`` in the Dockerfile's ``stage`` (the whole file when it
    has no such stage)."""
    text = dockerfile.replace("\\\n", " ")
    m = re.search(rf"^FROM\s.*\bAS\s+{re.escape(stage)}\s*$(.*?)(?=^FROM\s|\Z)", text, re.M | re.S | re.I)
    body = m.group(1) if m else text
    cmd = re.search(r"apt-get install\s+([^&;\n]*)", body)
    if not cmd:
        raise RecipeError(f"the Dockerfile's {stage} stage installs no apt packages")
    words = cmd.group(1).split()
    # `git=${GIT_APT_VERSION}` (v3.6) pins Ubuntu's build: Debian's own is what there is here (the base differs)
    return tuple(w.split("=")[0] for w in words if not w.startswith("-")), "--no-install-recommends" not in words


def argocd(ref: str, f: ModuleFacts) -> StackImage:
    """``quay.io/argoproj/argocd``: the Dockerfile's ``argocd-base`` (its apt packages, user 999, the wrappers,
    ``/app/config``), helm and kustomize at ``hack/tool-versions.sh``'s newest majors, ``make argocd-all``
    (``go build ./cmd`` with the Makefile's LDFLAGS) and the command links."""
    go = dockerfile_go(f.dockerfile)
    tc = toolchain_for(go)
    helm_major, helm_n = newest_tool(f.tool_versions, "helm")
    kust_major, kust_n = newest_tool(f.tool_versions, "kustomize")
    helm_v, kustomize_v = f"v{helm_n}", f"v{kust_n}"
    helm_mod, kust_mod = f"helm.sh/helm/v{helm_major}", f"sigs.k8s.io/kustomize/kustomize/v{kust_major}"
    argocd_b = GoBuild(
        f.module, f.version, ("./cmd",), tc, outputs=("argocd",), ldflags=makefile_ldflags(f.makefile, _values(f)),
        replaces=tuple((m, f"{m}@{v}") for m, _p, v in f.nested),
    )  # fmt: skip
    helm_b = GoBuild(
        helm_mod, helm_v, ("./cmd/helm",), tc, ldflags=f"-s -w -X {helm_mod}/internal/version.version={helm_v}"
    )
    kust_b = GoBuild(kust_mod, kustomize_v, (".",), tc, outputs=("kustomize",))
    packages, recommends = apt_packages(f.dockerfile)
    debian = tuple(dict.fromkeys((*packages, *(ARGOCD_RECOMMENDS if recommends else ()), *ARGOCD_ALWAYS)))
    base = re.search(r"^ARG BASE_IMAGE=(\S+?)(?:@sha256:\S+)?$", f.dockerfile, re.M)
    links = " && ".join(f"ln -s /usr/local/bin/argocd /usr/local/bin/{c}" for c in ARGOCD_COMMANDS)
    env = re.findall(r"^ENV (GRPC_\w+=\S+)$", f.dockerfile, re.M)  # argocd-base's runtime settings
    return StackImage(
        ref, "argo-cd", debian,
        ((argocd_b, "/usr/local/bin/argocd"), (helm_b, "/usr/local/bin/helm"), (kust_b, "/usr/local/bin/kustomize")),
        module_files=(("hack/gpg-wrapper.sh", "/usr/local/bin/gpg-wrapper.sh"),
                      ("hack/git-verify-wrapper.sh", "/usr/local/bin/git-verify-wrapper.sh"),
                      ("entrypoint.sh", "/usr/local/bin/entrypoint.sh")),
        lines=(
            "ENV ARGOCD_USER_ID=999 DEBIAN_FRONTEND=noninteractive",
            "RUN groupadd -g 999 argocd && useradd -r -u 999 -g argocd argocd && mkdir -p /home/argocd"
            " && chown argocd:0 /home/argocd && chmod g=u /home/argocd",
            *re.findall(r"^RUN git lfs install[^\n]*$", f.dockerfile, re.M),
            "RUN ln -s /usr/local/bin/entrypoint.sh /usr/local/bin/uid_entrypoint.sh && " + links,
            "RUN mkdir -p /app/config/ssh /etc/ssh && touch /app/config/ssh/ssh_known_hosts"
            " && ln -sf /app/config/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts"
            " && mkdir -p /app/config/tls /app/config/gpg/source /app/config/gpg/keys"
            " && chown argocd /app/config/gpg/keys && chmod 0700 /app/config/gpg/keys",
            "ENV USER=argocd",
            *(f"ENV {e}" for e in env),
            "USER 999",
            "WORKDIR /home/argocd",
        ),
        built_from=(f"{f.module}@{f.version}", f"{helm_mod}@{helm_v}", f"{kust_mod}@{kustomize_v}",
                    *(f"{m}@{v}" for m, _p, v in f.nested)),
        differences=(
            Difference("base", f"{base.group(1) if base else 'ubuntu'} + apt-get",
                       "Debian bookworm (debootstrap) with the same packages", NO_REGISTRY),
            *(() if "git-lfs" in packages else (
                Difference("git-lfs", "the release binary (hack/installers)", "Debian bookworm's git-lfs",
                           "no download from github.com here"),)),
            *_go_diff(go, tc.version),
            Difference("web UI", "ui/dist/app from a yarn build", "none (the module's empty ui/dist/app)",
                       "the UI's yarn build is not part of this recipe", "the Argo CD web UI"),
        ),
    )  # fmt: skip


SIGNALS = ("workflow/executor/os-specific/signal", "workflow/executor/osspecific/signal")  # v3, v4
UI_STUB = "server/static/files.go.stub"  # v3: `STATIC_FILES=false` builds with this stub
UI_EMBED = "ui/embed.go"  # v4: `//go:embed dist/app`; `STATIC_FILES=false` touches ui/dist/app/index.html
# Paths whose presence a recipe reads (gathered with the module's other facts).
PROBES = (UI_STUB, UI_EMBED, *(f"{p}_darwin.go" for p in SIGNALS))
WORKFLOWS_FILES = (("hack/ssh_known_hosts", "/etc/ssh/ssh_known_hosts"), ("hack/nsswitch.conf", "/etc/nsswitch.conf"))
DISTROLESS = Difference("base", "gcr.io/distroless/static", "scratch with Debian's CA bundle and /tmp", NO_REGISTRY)


def workflows(ref: str, f: ModuleFacts, part: str) -> StackImage:
    """``workflow-controller``, ``argocli`` (``argo``) or ``argoexec``, as the v3 Dockerfile's stages build them
    (``make dist/<binary>``: ``CGO_ENABLED=0 go build ./cmd/<binary>``); argocli without the UI, which is
    upstream's own ``STATIC_FILES=false`` path (``server/static/files.go.stub``)."""
    go = dockerfile_go(f.dockerfile)
    tc = toolchain_for(go)
    binary = {"workflow-controller": "workflow-controller", "argocli": "argo", "argoexec": "argoexec"}[part]
    prepare: tuple[tuple[str, str], ...] = ()
    touch: tuple[str, ...] = ()
    ui = "upstream's STATIC_FILES=false stub"
    if part == "argocli" and UI_EMBED in f.present:
        touch, ui = (
            ("ui/dist/app/index.html",),
            "an empty ui/dist/app/index.html, the Makefile's STATIC_FILES=false path",
        )
    elif part == "argocli":
        prepare = ((UI_STUB, "server/static/files.go"),)
    signals = next((p for p in SIGNALS if f"{p}_darwin.go" in f.present), SIGNALS[0])
    if part == "argoexec":
        # the module zip has signal_darwin.go but no signal_linux.go (chroot_ and umask_linux.go are there): Go's
        # module zips leave symlinks out, and the linux file is the same code; a git checkout, which the
        # Dockerfile's `COPY . .` builds from, has it
        prepare = ((f"{signals}_darwin.go", f"{signals}_linux.go"),)
    b = GoBuild(f.module, f.version, (f"./cmd/{binary}",), tc, ldflags=makefile_ldflags(f.makefile, _values(f)),
                prepare=prepare, touch=touch, nosumdb=not f.sumdb)  # fmt: skip
    diffs = [DISTROLESS, *_go_diff(go, tc.version)]
    lines: tuple[str, ...] = ("USER 8737",) if part != "argoexec" else ()
    if part == "argocli":
        lines = ("USER 8737", "WORKDIR /home/argo")
        diffs.append(Difference("web UI", "ui/dist/app from a yarn build", f"none ({ui})",
                                 "the UI's yarn build is not part of this recipe", "the Argo Workflows web UI"))  # fmt: skip
    if part == "argoexec":
        diffs.append(
            Difference(
                f"{signals.rsplit('/', 2)[-2]}/signal_linux.go",
                "in the git checkout",
                "copied from signal_darwin.go",
                "the Go module zip lacks it (symlinks are left out of module zips)",
            )
        )
        diffs.append(Difference("kubectl and jq", "/bin/kubectl (v1.24.8) and /bin/jq downloaded by the Dockerfile",
                                "absent", "downloads are not possible here",
                                "resource templates and jq output parameters in Workflows"))  # fmt: skip
    return StackImage(
        ref, "argo-workflows", None, ((b, f"/bin/{binary}"),), module_files=WORKFLOWS_FILES,
        lines=lines, entrypoint=(binary,), built_from=(f"{f.module}@{f.version}",), ca_certificates=True,
        differences=tuple(diffs),
    )  # fmt: skip


def events(ref: str, f: ModuleFacts) -> StackImage:
    """``quay.io/argoproj/argo-events``: ``FROM scratch`` with zoneinfo, the CA bundle, the ``argo`` CLI and
    ``/bin/argo-events`` (``make build``: ``CGO_ENABLED=0 go build ./cmd``)."""
    tc = module_toolchain(f)
    b = GoBuild(f.module, f.version, ("./cmd",), tc, outputs=("argo-events",),
                ldflags=makefile_ldflags(f.makefile, _values(f)), nosumdb=not f.sumdb)  # fmt: skip
    diffs = [
        Difference("base", "scratch with alpine's zoneinfo and CA bundle", "scratch with Debian's CA bundle",
                   NO_REGISTRY, "time zones other than UTC in EventSource calendars"),
        Difference("argo CLI", "/usr/local/bin/argo downloaded by the Dockerfile", "absent",
                   "downloads are not possible here", "Sensor argoWorkflow triggers (the tutorial's Sensor uses a k8s trigger)"),
    ]  # fmt: skip
    return StackImage(
        ref, "argo-events", None, ((b, "/bin/argo-events"),), entrypoint=("/bin/argo-events",),
        built_from=(f"{f.module}@{f.version}",), ca_certificates=True, differences=tuple(diffs),
    )  # fmt: skip


CERT_MANAGER_PARTS = ("controller", "cainjector", "webhook", "acmesolver", "ctl", "startupapicheck")


def cert_manager(ref: str, f: ModuleFacts, part: str) -> StackImage | Unbuildable:
    """``quay.io/jetstack/cert-manager-<part>``: ``hack/containers/Containerfile.<part>``, the distroless static
    base, ``USER 1000``, ``/app/cmd/<part>/<part>`` built by ``make`` (``go build cmd/<part>/main.go`` with the
    Makefile's ``GOLDFLAGS``). From v1.12 each ``cmd/<part>`` is a module of its own named
    ``github.com/cert-manager/cert-manager/<part>-binary`` (``cmd/controller/go.mod``), a path that does not
    match its folder: no module proxy serves it, and the root module's zip leaves nested modules out."""
    if part not in f.main_dirs:
        return Unbuildable(ref, f"{f.module}@{f.version} has no cmd/{part}: from v1.12 cert-manager's binaries are "
                                f"modules of their own (cmd/{part}/go.mod names github.com/cert-manager/cert-manager/"
                                f"{part}-binary), which no Go module proxy can serve")  # fmt: skip
    tc = module_toolchain(f)
    b = GoBuild(
        f.module, f.version, (f"./cmd/{part}",), tc, outputs=(part,), ldflags=makefile_goldflags(f.makefile, _values(f))
    )
    return StackImage(
        ref, "cert-manager", None, ((b, f"/app/cmd/{part}/{part}"),), lines=("USER 1000",),
        entrypoint=(f"/app/cmd/{part}/{part}",), built_from=(f"{f.module}@{f.version}",), ca_certificates=True,
        differences=(DISTROLESS,
                     Difference("licence files", "/licenses/LICENSE and LICENSES", "absent",
                                "made by the release's license tooling, not in the module")),
    )  # fmt: skip


def traefik(ref: str, f: ModuleFacts) -> StackImage:
    """``traefik`` (the official image: alpine, ``/usr/local/bin/traefik``), built with ``go build ./cmd/traefik``
    and its version stamped as its release does (``pkg/version.Version``); it stands in for ingress-nginx."""
    tc = module_toolchain(f)
    major = f.module.rsplit("/", 1)[-1] if f.module.rsplit("/", 1)[-1].startswith("v") else ""
    pkg = f"github.com/traefik/traefik{'/' + major if major else ''}/pkg/version"
    b = GoBuild(f.module, f.version, ("./cmd/traefik",), tc, ldflags=f"-s -w -X {pkg}.Version={f.version}")
    return StackImage(
        ref, "ingress substitute", None, ((b, "/usr/local/bin/traefik"),), entrypoint=("/usr/local/bin/traefik",),
        built_from=(f"{f.module}@{f.version}",), ca_certificates=True,
        differences=(Difference("base", "alpine with entrypoint.sh", "scratch with Debian's CA bundle", NO_REGISTRY),
                     Difference("web dashboard", "webui/static from a yarn build", "none (the module's placeholder)",
                                "the dashboard's build is not part of this recipe", "Traefik's dashboard")),
    )  # fmt: skip


def pebble(ref: str, f: ModuleFacts, app: str) -> StackImage:
    """``ghcr.io/letsencrypt/pebble`` and ``pebble-challtestsrv`` (``Dockerfile.release``: ``FROM scratch``,
    ``/app``, the repository's ``test/`` folder), built with ``go build ./cmd/<app>``."""
    b = GoBuild(f.module, f.version, (f"./cmd/{app}",), module_toolchain(f), outputs=(app,))
    return StackImage(
        ref, "acme test server", None, ((b, "/app"),), entrypoint=("/app",), built_from=(f"{f.module}@{f.version}",),
        differences=(Difference("test/ folder", "/test/ (sample config and certificates)", "absent",
                                "the suite mounts its own config and certificates (argo_tutorial_suite/backends/kind/acme.py)"),),
    )  # fmt: skip


# repository -> (role, kind of recipe); the tag is the version
BY_REPOSITORY: dict[str, str] = {
    "quay.io/argoproj/argo-rollouts": "rollouts",
    "quay.io/argoproj/argocd": "argocd",
    "docker.io/library/redis": "redis",
    "docker.io/library/haproxy": "haproxy",
    "public.ecr.aws/docker/library/redis": "redis",
    "public.ecr.aws/docker/library/haproxy": "haproxy",
    "ghcr.io/dexidp/dex": "dex",
    "quay.io/argoproj/workflow-controller": "workflow-controller",
    "quay.io/argoproj/argocli": "argocli",
    "quay.io/argoproj/argoexec": "argoexec",
    "quay.io/argoproj/argo-events": "events",
    **{f"quay.io/jetstack/cert-manager-{p}": f"cert-manager-{p}" for p in CERT_MANAGER_PARTS},
    "docker.io/library/traefik": "traefik",
    "ghcr.io/letsencrypt/pebble": "pebble",
    "ghcr.io/letsencrypt/pebble-challtestsrv": "pebble-challtestsrv",
}
MODULES: dict[str, str] = {
    "rollouts": "github.com/argoproj/argo-rollouts",
    "argocd": "github.com/argoproj/argo-cd",
    "workflow-controller": "github.com/argoproj/argo-workflows",
    "argocli": "github.com/argoproj/argo-workflows",
    "argoexec": "github.com/argoproj/argo-workflows",
    "events": "github.com/argoproj/argo-events",
    **{f"cert-manager-{p}": "github.com/cert-manager/cert-manager" for p in CERT_MANAGER_PARTS},
    "traefik": "github.com/traefik/traefik",
    "pebble": "github.com/letsencrypt/pebble",
    "pebble-challtestsrv": "github.com/letsencrypt/pebble",
}


def module_of(kind: str, version: str) -> str:
    """The Go module path of a recipe kind at a version (``/vN`` from v2 on, Go's semantic import rule)."""
    base = MODULES[kind]
    major = int(version.lstrip("v").split(".")[0])
    return base + (f"/v{major}" if major >= 2 else "")


def _ci() -> ModuleType:
    """The CI and EventBus recipes (imported here: they build on this module's types)."""
    from argo_offline_images import cirecipes

    return cirecipes


def kind_of(ref: str) -> str | None:
    """The recipe kind of a reference, by its repository (None: no recipe)."""
    r = parse_ref(ref)
    where = f"{r.host}/{r.path}"
    return BY_REPOSITORY.get(where) or _ci().BY_REPOSITORY.get(where)


def needs_module(ref: str) -> tuple[str, str] | None:
    """(module, version) the recipe of ``ref`` reads, or None (a Debian-only image, or no recipe)."""
    kind = kind_of(ref)
    if kind in MODULES:
        tag = parse_ref(ref).tag
        version = tag if tag.startswith("v") else f"v{tag}"
        return module_of(kind, version), version
    ci = _ci()
    if kind == "golang":
        go: tuple[str, str] | None = ci.toolchain_module(parse_ref(ref).tag)
        return go
    if kind in ci.MODULES:
        version = ci.module_version(kind, parse_ref(ref).tag)
        major = int(version.lstrip("v").split(".")[0])
        return ci.MODULES[kind] + (f"/v{major}" if major >= 2 else ""), version
    return None


def recipe(ref: str, facts: ModuleFacts | None) -> StackImage | Unbuildable:
    """The recipe for one reference, or why there is none; a module version other than the image's tag comes
    first in its differences (:func:`substitution`)."""
    got = _recipe(ref, facts)
    if isinstance(got, StackImage) and facts is not None and substitution(facts):
        got = replace(got, differences=(*substitution(facts), *got.differences))
    return got


def _recipe(ref: str, facts: ModuleFacts | None) -> StackImage | Unbuildable:
    r = parse_ref(ref)
    kind = kind_of(ref)
    if kind is None:
        return Unbuildable(ref, "no recipe for this image yet")
    if facts is not None and facts.not_as_released and (not facts.asked or facts.asked == facts.version):
        return Unbuildable(ref, f"{facts.not_as_released}, and no later release of the same major builds as released")
    if (kind in MODULES or needs_module(ref)) and facts is None:
        module, version = needs_module(ref) or ("", "")
        return Unbuildable(
            ref, f"{module}@{version} (nor a neighbour of the same minor) is not served by the Go module proxy here"
        )
    if kind == "rollouts" and facts is not None:
        return rollouts(r.tagged, facts)
    if kind == "argocd" and facts is not None:
        return argocd(r.tagged, facts)
    if kind in ("workflow-controller", "argocli", "argoexec") and facts is not None:
        return workflows(r.tagged, facts, kind)
    if kind == "events" and facts is not None:
        return events(r.tagged, facts)
    if kind in ("pebble", "pebble-challtestsrv") and facts is not None:
        return pebble(r.tagged, facts, kind)
    if kind == "traefik" and facts is not None:
        return traefik(r.tagged, facts)
    if kind.startswith("cert-manager-") and facts is not None:
        return cert_manager(r.tagged, facts, kind.removeprefix("cert-manager-"))
    if kind not in MODULES and kind not in ("redis", "haproxy", "dex"):
        ci: StackImage | Unbuildable = _ci().recipe(kind, r.tagged, facts)
        return ci
    if kind == "redis":
        return redis(r.tagged)
    if kind == "haproxy":
        return haproxy(r.tagged)
    return dex_runtime(r.tagged)


def plan(refs: list[str], facts: dict[tuple[str, str], ModuleFacts | None]) -> Plan:
    """Recipes for ``refs`` (each reference once); ``facts``: what :func:`needs_module` asked for."""
    out = Plan()
    for ref in sorted(set(refs)):
        need = needs_module(ref)
        got = recipe(ref, facts.get(need) if need else None)
        if isinstance(got, StackImage):
            out.images.append(got)
        else:
            out.unbuildable.append(got)
    return out
