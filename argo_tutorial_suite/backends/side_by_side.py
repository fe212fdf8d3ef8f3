"""Kind clusters side by side under pytest-xdist: one cluster per (pins, profile), each on one worker.

pytest-xdist's ``loadscope`` scheduler sends each scope's tests to one worker (``xdist/scheduler/loadscope.py``);
here a scope is the cluster a test needs, read from the test's parameters (the profile and the pins it runs
for). With ``-n 2`` the two profiles' clusters come up and run at the same time, each worker creating its
clusters one after the other (the backend pool's ``one_at_a_time``). xdist's own ``loadgroup`` would do this from
``xdist_group`` marks, but on pytest 9.2 it no longer groups (it rewrites a node id field pytest stopped reading:
pytest-dev/pytest-xdist#1386, open), so the suite names the scopes itself.

Two clusters on a machine of two cores wait on the CPU for each other: waits are bounded per operation
(:func:`argo_tutorial_suite.verdicts.waits.timeout_for`), and their bounds are scaled by the clusters that
share each core, unless ``ARGO_SUITE_TIMEOUT_FACTOR`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar


def cluster_scope(nodeid: str, profiles: Sequence[str], pins: Sequence[str]) -> str:
    """The cluster a test runs on, from its parameter id (``test_x[corrected-current]``): ``pins/profile``, or
    ``pins/smoke`` for a test parametrized by pins alone; a test with neither is its own scope."""
    params = nodeid[nodeid.rfind("[") + 1 : -1] if nodeid.endswith("]") else ""
    pin = next((p for p in sorted(pins, key=len, reverse=True) if p in params), None)
    if pin is None:
        return nodeid
    rest = params.replace(pin, "", 1)
    prof = next((p for p in sorted(profiles, key=len, reverse=True) if p in rest), None)
    return f"kind-cluster:{pin}/{prof or 'smoke'}"


def timeout_factor(workers: int, cores: int, asked: str | None) -> float | None:
    """The wait-bound factor for ``workers`` clusters side by side on ``cores`` cores (None: leave as is). An
    explicit ``ARGO_SUITE_TIMEOUT_FACTOR`` wins; one cluster per core, or fewer, needs no scaling."""
    if asked or workers <= 1:
        return None
    share = workers / max(cores, 1)
    return round(max(1.0, 2 * share), 2) if share > 0.5 else None


def scheduler(config: object, log: object, profiles: Sequence[str], pins: Sequence[str]) -> object:
    """pytest-xdist's scope scheduler, its scopes the clusters (imported here: xdist is a dev dependency)."""
    from xdist.scheduler.loadscope import LoadScopeScheduling

    class ClusterScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return cluster_scope(nodeid, profiles, pins)

    return ClusterScheduling(config, log)


T = TypeVar("T")


def longest_spread(items: Sequence[T], weight: Callable[[T], float]) -> list[T]:
    """``items`` ordered so that pytest-xdist's ``load`` scheduler gives every worker one long test and one short
    test at a time: it hands each worker consecutive tests, at least two at once (``xdist/scheduler/load.py``,
    ``node_chunksize``), so the longest are laid out every other place, longest first, each followed by one of the
    shortest (a worker's second test is then over quickly and it takes the next long one)."""
    ranked = sorted(items, key=lambda i: -weight(i))
    half = (len(ranked) + 1) // 2
    long_, short = ranked[:half], ranked[half:][::-1]
    out: list[T] = []
    for i, item in enumerate(long_):
        out.append(item)
        if i < len(short):
            out.append(short[i])
    return out
