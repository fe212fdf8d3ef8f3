"""The kind backend's checks before anything is created: the three binaries at the pinned versions (or the
offline build's), and the host (engine, inotify, memory, disk, architecture, ports), every problem at once."""

from __future__ import annotations

from argo_tutorial_suite import tools
from argo_tutorial_suite.backends import host as preflight
from argo_tutorial_suite.backends.kind import localbuild as local
from argo_tutorial_suite.backends.kind.localbuild import LocalBuild
from argo_tutorial_suite.backends.options import KindOptions
from argo_tutorial_suite.backends.pool import BackendUnavailable
from argo_tutorial_suite.tutorial.profiles import Profile


def local_build(profile: Profile, opts: KindOptions) -> LocalBuild | None:
    """The offline build for the profile's pins, when one exists (a broken manifest is a clear error)."""
    try:
        return local.find(profile.pins.name, opts.offline_root)
    except local.LocalBuildError as e:
        raise BackendUnavailable(str(e)) from e


def offline_hint(profile: Profile) -> str:
    return f"scripts/offline-images --pins {profile.pins.name} --only node (kind, kubectl and the node image)"


def kind_tools(profile: Profile, opts: KindOptions) -> tuple[dict[str, tools.Tool], list[str]]:
    """Resolve and check the three binaries: (found tools, problems)."""
    pins = profile.pins.data
    problems: list[str] = []
    resolved: dict[str, tools.Tool] = {}
    built = local_build(profile, opts)
    for name, value, option, env, version in (
        ("docker", opts.docker_bin, "--docker-bin", "DOCKER", None),
        ("kind", opts.kind_bin, "--kind-bin", "KIND", pins["kind"]["version"]),
        ("kubectl", opts.kubectl_bin, "--kind-kubectl-bin", "KUBECTL", pins["kubectl"]["version"]),
    ):
        try:
            resolved[name] = tools.resolve(name, value, option, env, version, built.tool(name) if built else None)
        except tools.ToolError as e:
            problems.append(f"{e}; or build it here from its Go module: {offline_hint(profile)}")
    if "kind" in resolved:
        try:
            found = tools.parse_kind_version(tools.run_version(resolved["kind"], ["version"]))
            msg = tools.check_kind_version(found, pins["kind"]["version"])
            if msg:
                problems.append(
                    f"{msg}. Install it: {tools.download_hint('kind', pins['kind']['version'])}; "
                    f"or build it here: {offline_hint(profile)}"
                )
        except tools.ToolError as e:
            problems.append(str(e))
    if "kubectl" in resolved:
        try:
            found = tools.parse_kubectl_version(
                tools.run_version(resolved["kubectl"], ["version", "--client", "-o", "json"])
            )
            msg = tools.check_kubectl_skew(found, profile.pins.kubernetes)
            if msg:
                problems.append(
                    f"{msg}. Install it: {tools.download_hint('kubectl', pins['kubectl']['version'])}; "
                    f"or build it here: {offline_hint(profile)}"
                )
        except tools.ToolError as e:
            problems.append(str(e))
    return resolved, problems


def host_problems(profile: Profile, docker: str | None) -> list[preflight.Problem]:
    shape = profile.cluster_nodes()
    needs = preflight.Needs.for_nodes(shape["control-plane"] + shape["worker"])
    return preflight.check(preflight.gather(docker), needs)


def kind_preflight(profile: Profile, opts: KindOptions) -> tuple[tools.Tool, tools.Tool, tools.Tool]:
    """Everything checked before anything is created; one BackendUnavailable listing every problem,
    the container engine first (it is the usual reason on a laptop or CI machine without Docker)."""
    found, tool_problems = kind_tools(profile, opts)
    host = host_problems(profile, found["docker"].path if "docker" in found else None)
    engine = [p for p in host if p.check == "docker"]
    lines = [f"no container engine: {p.what}\n    fix: {p.fix}" for p in engine]
    lines += [f"- {t}" for t in tool_problems]
    lines += [f"- {p}" for p in host if p.check != "docker"]
    if lines:
        raise BackendUnavailable("kind backend cannot run here: " + "\n".join(lines))
    return found["kind"], found["kubectl"], found["docker"]
