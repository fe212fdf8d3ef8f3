"""The one place that knows every backend: build a :class:`~argo_tutorial_suite.backends.base.Backend` for a profile
and stage from the run's options, the same way for kind and sim (``up`` done, torn down if it failed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.backends.kind.backend import KindBackend
from argo_tutorial_suite.backends.kind.preflight import kind_preflight, local_build
from argo_tutorial_suite.backends.options import KindOptions
from argo_tutorial_suite.backends.sim.backend import start_sim
from argo_tutorial_suite.signals import teardown_shield
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.upstream import Upstream

Builder = Callable[[Profile, str], Backend]


@dataclass(frozen=True)
class BackendOptions:
    backend: str  # "kind" or "sim"
    upstream: Upstream | None
    artifacts: Path
    kind: KindOptions


def kind_backend(profile: Profile, stage: str, opts: KindOptions, upstream: Upstream | None) -> KindBackend:
    """Preflight, then the kind backend brought up; a half-made cluster is torn down (kept with
    ``--keep-on-failure``), also on Ctrl-C and SIGTERM."""
    kind_tool, kubectl_tool, docker_tool = kind_preflight(profile, opts)
    b = KindBackend(
        profile,
        kind_tool,
        kubectl_tool,
        docker_tool,
        opts.workroot / f"argo-suite-{profile.name}-{profile.pins.name}-{stage}",
        upstream,
        opts.preload,
        opts.keep,
        opts.keep_on_failure,
        local=local_build(profile, opts),
        node_image=opts.node_image,
        stage=stage,
        registry_mirror=opts.registry_mirror,
    )
    try:
        b.up()
    except BaseException:
        with teardown_shield(f"tearing down {b.spec.name}"):
            try:
                print(f"\n[teardown] {b.close(failed=True)}")
            except Exception as e:
                print(f"\n[teardown] failed: {e}")
        raise
    return b


def builder(opts: BackendOptions) -> Builder:
    """``(profile, stage) -> Backend`` for the chosen backend."""
    if opts.backend == "sim":

        def sim(profile: Profile, stage: str) -> Backend:
            return start_sim(profile, opts.upstream, opts.artifacts)

        return sim

    def kind(profile: Profile, stage: str) -> Backend:
        return kind_backend(profile, stage, opts.kind, opts.upstream)

    return kind
