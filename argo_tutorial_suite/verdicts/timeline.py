"""The run's timeline: what took how long, and when, on one wall clock (the report page draws it).

Lanes: the main job's phases (``scripts/main-job``: the venv, the engine, the images, the run), then one lane per
cluster: its set-up phases (cluster, mirrors, git server, install, readiness) and its tests. Clusters side by side
show as lanes that overlap, so the slowest phase, and what waited for what, are plain to see.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAIN_JOB = "main job"
RUN = "the tutorial on kind"  # the main job's phase that holds the clusters' lanes


@dataclass(frozen=True)
class Span:
    lane: str  # "main job", or "cluster corrected@current"
    name: str
    start: float  # seconds since the epoch
    seconds: float
    kind: str = "phase"  # "phase" or "test"


def lane_of(profile_id: str) -> str:
    return f"cluster {profile_id}"


def dumps(spans: Iterable[Span]) -> str:
    return json.dumps([dataclasses.asdict(s) for s in spans])


def loads(text: str) -> list[Span]:
    try:
        data = json.loads(text)
        return [Span(str(d["lane"]), str(d["name"]), float(d["start"]), float(d["seconds"]), str(d.get("kind", "phase")))
                for d in data]  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return []


def merge(spans: Iterable[Span]) -> list[Span]:
    """Each span once (every test of a cluster ships the same set-up phases), in the order they started."""
    return sorted(dict.fromkeys(spans), key=lambda s: (s.start, s.lane))


def lanes(spans: Sequence[Span]) -> list[tuple[str, list[Span]]]:
    """The lanes in order: the main job first, then the clusters by when they started."""
    by: dict[str, list[Span]] = {}
    for s in merge(spans):
        by.setdefault(s.lane, []).append(s)
    return sorted(by.items(), key=lambda kv: (kv[0] != MAIN_JOB, kv[1][0].start))


def extent(spans: Sequence[Span]) -> tuple[float, float]:
    """(first start, length in seconds) of the whole timeline; (0, 0) for none."""
    if not spans:
        return 0.0, 0.0
    t0 = min(s.start for s in spans)
    return t0, max(s.start + s.seconds for s in spans) - t0


def slowest(spans: Sequence[Span], n: int = 3) -> list[Span]:
    """The longest set-up phases (the next thing to make faster); not the run that holds them all."""
    phases = (s for s in spans if s.kind == "phase" and not (s.lane == MAIN_JOB and s.name == RUN))
    return sorted(phases, key=lambda s: -s.seconds)[:n]


def summary(spans: Sequence[Span]) -> list[str]:
    """The timeline in a line or two for the terminal: the wall clock per lane, and the slowest set-up phases."""
    if not any(s.kind == "phase" for s in spans):
        return []
    _, total = extent(spans)
    per_lane = ", ".join(
        f"{lane} {(max(s.start + s.seconds for s in items) - min(s.start for s in items)) / 60:.1f} min"
        for lane, items in lanes(spans)
    )
    slow = ", ".join(f"{s.name} ({s.lane.removeprefix('cluster ')}) {s.seconds:.0f}s" for s in slowest(spans))
    return [f"run timeline: {total / 60:.1f} min wall clock: {per_lane}", f"slowest phases: {slow}"]
