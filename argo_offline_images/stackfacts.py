"""What a stack image recipe reads from its module (pure): the facts gathered from a release (Dockerfile, Makefile,
go.mod, tool versions), the versions a release may be built from when its own is not served, the version
differences recorded for it, and the recipe and plan types."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from argo_offline_images.gomod import RecipeError, Toolchain
from argo_offline_images.recipes import ANOTHER_RELEASE, Difference, GoBuild, toolchain_for

NO_REGISTRY = "no container registry is reachable here"


@dataclass(frozen=True)
class ModuleFacts:
    """What a recipe reads from a Go module at a version (gathered by the caller's I/O)."""

    module: str
    version: str
    dockerfile: str = ""
    makefile: str = ""
    version_file: str = ""
    tool_versions: str = ""
    commit: str = ""
    time: str = ""
    client_go: str = ""
    gomod: str = ""
    tools_mk: str = ""  # cert-manager's make/tools.mk (its helm)
    main_dirs: tuple[str, ...] = ()  # the module's cmd/* folders (nested modules are not in its zip)
    # ``replace M => ./dir`` of a nested module (not in the zip) -> the served ``M@version`` chosen for it
    nested: tuple[tuple[str, str, str], ...] = ()  # (module, ./dir, version)
    present: tuple[str, ...] = ()  # which of :data:`PROBES` the module has (layouts move between majors)
    not_as_released: str = ""  # why ``asked`` cannot be built as released, when a later release stands in
    asked: str = ""  # the version the image names, when the proxy did not serve it and this is the nearest
    sumdb: bool = True  # False: sum.golang.org has no record of this version (fetched with GONOSUMDB)


@dataclass(frozen=True)
class StackImage:
    """One image of the stack: the upstream reference it is named as, and how it is built here."""

    ref: str
    role: str
    debian: tuple[str, ...] | None  # packages of a Debian bookworm base; None: FROM scratch
    builds: tuple[tuple[GoBuild, str], ...] = ()  # (build, destination of its single output)
    module_files: tuple[tuple[str, str], ...] = ()  # (path in the first build's module, destination)
    lines: tuple[str, ...] = ()  # Dockerfile lines after the files (RUN needs a Debian base)
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    built_from: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = ()
    ca_certificates: bool = False  # copy the Debian CA bundle into a scratch image
    texts: tuple[tuple[str, str], ...] = ()  # (destination, content): small files of ours (stand-ins, configs)
    tree: tuple[str, str, str] | None = None  # (module, version, destination): a whole module's files, as they are

    @property
    def source_module(self) -> tuple[str, str] | None:
        return (self.builds[0][0].module, self.builds[0][0].version) if self.builds else None


@dataclass(frozen=True)
class Unbuildable:
    """An image this machine cannot build, and why (a run then says "not verified here" for what needs it)."""

    ref: str
    why: str


@dataclass(frozen=True)
class Plan:
    images: list[StackImage] = field(default_factory=list)
    unbuildable: list[Unbuildable] = field(default_factory=list)


def dockerfile_go(dockerfile: str) -> str:
    """The Go of the builder stage: ``FROM ... golang:1.18 AS builder`` -> ``1.18``."""
    m = re.search(
        r"^FROM\s+(?:--platform=\S+\s+)?(?:docker\.io/library/)?golang:(\d+\.\d+(?:\.\d+)?)", dockerfile, re.M
    )
    if not m:
        raise RecipeError("the Dockerfile names no golang:<version> builder stage")
    return m.group(1)


def makefile_ldflags(makefile: str, values: dict[str, str]) -> str:
    """The ``-X pkg.var=${VALUE}`` (or ``$(VALUE)``) flags of the Makefile's ``LDFLAGS``, ``${PACKAGE}`` filled in
    where the Makefile sets it, each value from ``values``; a value the caller does not know is left out rather
    than guessed. ``-s -w`` as releases strip."""
    m = re.search(r"^PACKAGE\s*[:?]?=\s*(\S+)\s*$", makefile, re.M)
    text = makefile.replace("${PACKAGE}", m.group(1)) if m else makefile
    flags = ["-s", "-w"]
    seen: set[str] = set()
    for x in re.finditer(r"-X\s+([\w./-]+)\.(\w+)=\$[{(](\w+)[})]", text):
        target = f"{x.group(1)}.{x.group(2)}"
        value = values.get(x.group(3))
        if value and target not in seen:
            seen.add(target)
            flags.append(f"-X {target}={value}")
    if len(flags) == 2 and "-X" in text:
        raise RecipeError("the Makefile's LDFLAGS has -X flags this reader does not understand")
    return " ".join(flags)


def _assigned(text: str, prefix: str, name: str, where: str) -> str:
    """The value of ``<prefix><name>=<value>`` on a line of its own (shell or make)."""
    m = re.search(rf"^{prefix}{re.escape(name)}=(\S+)\s*$", text, re.M)
    if not m:
        raise RecipeError(f"{where} has no {name}")
    return m.group(1)


def tool_version(tool_versions: str, name: str) -> str:
    """``kustomize4_version=4.5.7`` in ``hack/tool-versions.sh``."""
    return _assigned(tool_versions, "", name, "hack/tool-versions.sh")


def newest_tool(tool_versions: str, tool: str) -> tuple[int, str]:
    """(major, version) of the newest ``<tool><major>_version=`` line (Argo CD's ``helm3_version`` before v3.5,
    ``helm4_version`` from it; ``kustomize4``/``kustomize5``), or of ``<TOOL>_VERSION=`` (v3.6)."""
    found = [(int(m.group(1)), m.group(2))
             for m in re.finditer(rf"^{re.escape(tool)}(\d+)_version=(\S+)\s*$", tool_versions, re.M)]  # fmt: skip
    found += [(int(m.group(1).split(".")[0]), m.group(1))
              for m in re.finditer(rf"^{re.escape(tool.upper())}_VERSION=(\d\S*)\s*$", tool_versions, re.M)]  # fmt: skip
    if not found:
        raise RecipeError(f"hack/tool-versions.sh has no {tool}<major>_version or {tool.upper()}_VERSION")
    return max(found)


def nested_replaces(gomod: str) -> list[tuple[str, str]]:
    """``replace M => ./dir`` directives (one-line or in a block): nested modules, which a module zip leaves out
    (Argo CD from v3.3: ``github.com/argoproj/argo-cd/gitops-engine => ./gitops-engine``)."""
    out = []
    for m in re.finditer(r"^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+(\.\.?/\S*)\s*$", gomod, re.M):
        out.append((m.group(1), m.group(2)))
    return out


def nested_required(gomod: str) -> list[tuple[str, str, str]]:
    """(module, ./dir, the version the go.mod requires) of each nested module. Argo CD v3.6 requires
    ``gitops-engine/v3 v3.6.1 // Tagged as gitops-engine/vX.Y.Z at release time``: that tag is the folder's tree;
    before it the requirement is a placeholder pseudo-version of a commit no proxy serves."""
    out = []
    for module, path in nested_replaces(gomod):
        m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", gomod, re.M)
        out.append((module, path, m.group(1) if m else ""))
    return out


def newer_served(asked: str, listed: list[str]) -> list[str]:
    """Releases in ``listed`` above ``asked`` with the same major (no pre-release), nearest first: where ``asked``
    cannot be built as released (a nested module no proxy serves at its tree), the nearest that can."""
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", asked)
    if not m:
        return []
    want = tuple(int(x) for x in m.groups())
    above = []
    for v in listed:
        n = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", v)
        if n and (got := tuple(int(x) for x in n.groups()))[0] == want[0] and got > want:
            above.append((got, v))
    return [v for _, v in sorted(above)]


def release_version(f: ModuleFacts) -> str:
    """``VERSION`` as the release build sets it: from the tag where the Makefile derives it from ``GIT_TAG`` (a
    release is built at its tag; argo-workflows' controller then names ``argoexec:v3.4.4`` as its executor image,
    seen missing on kind when it was ``3.4.4``), else the ``VERSION`` file, else the tag without its ``v``.
    A substituted version says the release it stands in for (``f.asked``): its images are named so, and the
    controller names its executor ``argoexec:<its version>`` (``workflow/controller/config.go``)."""
    tag = f.asked or f.version
    m = re.search(r"^\s*VERSION\s*[:?]?=.*\$[({]GIT_TAG[)}].*$", f.makefile, re.M)
    if m:  # a release is built from its tag; argo-rollouts strips the v (`sed -e "s/^v//"`)
        return tag.removeprefix("v") if "s/^v//" in m.group(0) else tag
    if f.asked and f.asked != f.version:
        return f.asked.removeprefix("v")
    return f.version_file.strip() or f.version.removeprefix("v")


def _values(f: ModuleFacts) -> dict[str, str]:
    return {
        "VERSION": release_version(f),
        "BUILD_DATE": f.time,
        "GIT_COMMIT": f.commit,
        "GIT_TAG": f.version,
        "GIT_TREE_STATE": "clean",
        "KUBECTL_VERSION": f.client_go,
        "RELEASE_VERSION": f.version,
        "GITCOMMIT": f.commit,
    }


def _go_diff(upstream_go: str, used: str) -> tuple[Difference, ...]:
    if upstream_go == used or used.startswith(upstream_go + "."):
        return ()
    return (Difference("Go", f"golang:{upstream_go}", used, "the nearest Go this machine can run"),)


def neighbours(asked: str, reach: int = 3) -> list[str]:
    """Versions to try when the proxy does not serve ``asked`` (its version list is refused here too): the
    same major.minor, patch +1, -1, +2, -2, ...: the nearest release with the same API, a fix first."""
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", asked)
    if not m:
        return []
    major, minor, patch = (int(x) for x in m.groups())
    out = []
    for d in range(1, reach + 1):
        out.append(f"v{major}.{minor}.{patch + d}")
        if patch - d >= 0:
            out.append(f"v{major}.{minor}.{patch - d}")
    return out


def older_served(asked: str, listed: list[str]) -> str | None:
    """The newest release in ``listed`` below ``asked`` with the same major (no pre-release): what to build when
    neither ``asked`` nor a patch neighbour of it is served (the proxy here refuses some releases outright)."""
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", asked)
    if not m:
        return None
    want = tuple(int(x) for x in m.groups())
    below = []
    for v in listed:
        n = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", v)
        if n and (got := tuple(int(x) for x in n.groups()))[0] == want[0] and got < want:
            below.append((got, v))
    return max(below)[1] if below else None


def substitution(f: ModuleFacts) -> list[Difference]:
    """The version difference when the proxy served another release than the asked one (and how it was checked)."""
    if not f.asked or f.asked == f.version:
        return []
    same_minor = f.asked.rsplit(".", 1)[0] == f.version.rsplit(".", 1)[0]
    nearest = "the nearest served release of the same minor" if same_minor else (
        "the newest served release below it (an earlier minor: its features and defaults may differ)")  # fmt: skip
    why = f"{f.module}@{f.asked} is not served by the Go module proxy here; {f.version} is {nearest}"
    if f.not_as_released:
        why = (
            f"{f.not_as_released}; {f.version} is the nearest release that builds as released (a later minor: "
            "its features and defaults may differ)"
        )
    if not f.sumdb:
        why += " (sum.golang.org has no record of it: fetched with GONOSUMDB, its go.sum still checks its dependencies)"
    return [Difference("version", f.asked, f.version, why, f"what changed between {f.asked} and {f.version}",
                       relation=ANOTHER_RELEASE),
            Difference("version string", f.version, f.asked, "the binary says the release it stands in for, as its "
                       "images are named: a controller names its sibling images by its own version")]  # fmt: skip


def makefile_goldflags(makefile: str, values: dict[str, str]) -> str:
    """cert-manager's ``GOLDFLAGS := -w -s -X pkg.Var=$(VALUE) ...`` (a make variable, not ``LDFLAGS``)."""
    m = re.search(r"^GOLDFLAGS\s*:?=((?:.*\\\n)*.*)$", makefile, re.M)
    if not m:
        raise RecipeError("the Makefile sets no GOLDFLAGS")
    return makefile_ldflags(m.group(1), values)


def helm_ldflags(version: str, gomod: str) -> str:
    """helm's release ldflags (its Makefile): the version, and the Kubernetes version ``helm template`` assumes,
    ``k8sVersionMajor/Minor`` from its k8s.io/client-go (v0.25.2 -> 1.25); without them helm says v1.20 and a
    chart with ``kubeVersion: >= 1.21`` (cert-manager's) refuses to render (seen here)."""
    m = re.search(r"^\s*k8s\.io/client-go\s+v0\.(\d+)\.", gomod, re.M)
    if not m:
        raise RecipeError("helm's go.mod requires no k8s.io/client-go")
    flags = [f"-s -w -X helm.sh/helm/v3/internal/version.version={version}"]
    for pkg in ("pkg/lint/rules", "pkg/chartutil"):
        flags += [
            f"-X helm.sh/helm/v3/{pkg}.k8sVersionMajor=1",
            f"-X helm.sh/helm/v3/{pkg}.k8sVersionMinor={m.group(1)}",
        ]
    return " ".join(flags)


def tools_mk_version(tools_mk: str, tool: str) -> str:
    """``TOOLS += helm=v3.10.0`` in cert-manager's ``make/tools.mk``."""
    return _assigned(tools_mk, r"TOOLS\s*\+=\s*", tool, "make/tools.mk")


def module_toolchain(f: ModuleFacts) -> Toolchain:
    """The Go to build ``f`` with (:func:`go_directive_of`), or why there is none."""
    go = go_directive_of(f)
    if not go:
        raise RecipeError(f"{f.module}@{f.version}: no Go version in its Dockerfile or go.mod")
    return toolchain_for(go)


def go_directive_of(f: ModuleFacts) -> str:
    """The Go of the builder: the Dockerfile's golang stage, else the module's go.mod directive (argo-events
    builds its binary outside Docker)."""
    try:
        return dockerfile_go(f.dockerfile)
    except RecipeError:
        m = re.search(r"^go (\d+\.\d+)", f.gomod, re.M)
        return m.group(1) if m else ""
