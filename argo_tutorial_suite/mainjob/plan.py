"""What the main job will do on this machine, decided from what it finds (pure: the facts in, the phases out).

A phase names what it does and the command that does it; the runner (:mod:`.run`) times each one. Nothing here
runs a command, so every branch is tested without an engine, a registry or a build.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Facts:
    """What the main job found before it planned."""

    engine: str | None  # the engine that answers ("Docker 26.1.5"), None when none does
    root: bool  # whether it runs as root (scripts/docker-engine up needs it)
    registry: bool  # whether a public registry answers (images are pulled, else built here)


@dataclass(frozen=True)
class Options:
    pins: tuple[str, ...]
    profiles: tuple[str, ...]
    workers: int = 2  # clusters side by side
    registry_mirror: bool = False  # asked for (online); offline the mirrors are always used
    offline: bool | None = None  # forced either way; None: decided by Facts.registry
    pytest_args: tuple[str, ...] = ()
    artifacts: str = "artifacts"


@dataclass(frozen=True)
class Phase:
    name: str
    what: str  # one line: what it does
    argv: tuple[str, ...]  # the command; () for a phase with nothing left to do
    reuse: str = ""  # why nothing needs doing (shown instead of running)


class CannotRun(Exception):
    """The main job cannot run here; the message says what to do."""


def offline(facts: Facts, opts: Options) -> bool:
    return (not facts.registry) if opts.offline is None else opts.offline


def plan(facts: Facts, opts: Options) -> list[Phase]:
    phases: list[Phase] = []
    if facts.engine:
        phases.append(Phase("engine", f"the container engine that answers ({facts.engine})", (), reuse="answers"))
    elif facts.root:
        phases.append(Phase("engine", "start a Docker engine of our own", ("scripts/docker-engine", "up")))
    else:
        raise CannotRun(
            "no container engine answers and this is not root: start Docker (or Podman with "
            "KIND_EXPERIMENTAL_PROVIDER=podman), or run as root so that scripts/docker-engine starts one"
        )
    away = offline(facts, opts)
    if away:
        phases.append(
            Phase("build tools", "Debian's packages the offline build needs", ("scripts/install-offline-deps",))
        )
        for pins in opts.pins:
            phases.append(Phase(
                f"node image ({pins})",
                f"kind, kubectl and the kind node image at the {pins} pins, built from their Go modules (cached)",
                ("scripts/offline-images", "--pins", pins, "--only", "node"),
            ))  # fmt: skip
            phases.append(Phase(
                f"stack images ({pins})",
                f"the stack's and the CI's images at the {pins} pins, built from their Go modules (cached)",
                ("scripts/offline-images", "--pins", pins, "--only", "stack"),
            ))  # fmt: skip
    else:
        phases.append(Phase("images", "pulled by kind and the cluster from their registries as the run needs them",
                            (), reuse="a registry answers"))  # fmt: skip
    argv = ["pytest", "scenarios", "--backend=kind", "--require-cluster", f"--artifacts={opts.artifacts}"]
    argv += [f"--profile={p}" for p in opts.profiles] + [f"--pins={p}" for p in opts.pins]
    if away or opts.registry_mirror:
        argv.append("--registry-mirror")
    clusters = len(opts.profiles) * len(opts.pins)
    workers = max(1, min(opts.workers, clusters))
    if workers > 1:
        argv += ["-n", str(workers)]
    if not any(a == "-m" or a.startswith("-m") for a in opts.pytest_args):
        # the smoke scenario checks a bare cluster of its own, which every full run exercises as well
        argv += ["-m", "not smoke"]
    argv += list(opts.pytest_args)
    side = f", {workers} clusters side by side" if workers > 1 else ""
    phases.append(Phase(
        "the tutorial on kind",
        f"pytest scenarios on kind: {', '.join(opts.profiles)} at {', '.join(opts.pins)}{side}",
        tuple(argv),
    ))  # fmt: skip
    return phases
