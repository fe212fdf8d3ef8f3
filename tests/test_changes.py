"""Waits woken by watches: a change wakes the wait at once, a quiet namespace is looked at again only every few
seconds, and a wait whose watch cannot run goes on polling."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

from argo_tutorial_suite.probes.changes import Changes
from argo_tutorial_suite.verdicts.waits import Seen, expect


class FakeWatch:
    """A watch whose events the test sends."""

    def __init__(self) -> None:
        self.events: queue.Queue[str] = queue.Queue()
        self.opened: list[tuple[str, str | None]] = []

    def __call__(self, api_version: str, kind: str, namespace: str | None, seconds: int) -> Iterator[str]:
        self.opened.append((kind, namespace))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                yield self.events.get(timeout=0.05)
            except queue.Empty:
                continue


def test_a_change_wakes_the_wait_at_once_and_a_quiet_one_is_probed_rarely() -> None:
    watch = FakeWatch()
    state = {"ready": False, "probes": 0}

    def probe() -> Seen:
        state["probes"] += 1
        return Seen.ok("ready") if state["ready"] else Seen.pending("not yet")

    def become_ready() -> None:
        time.sleep(1.0)  # the test's own timeline: the component becomes ready after a second
        state["ready"] = True
        watch.events.put("MODIFIED")

    threading.Thread(target=become_ready, daemon=True).start()
    start = time.monotonic()
    with Changes(watch, "argocd", kinds=[("v1", "Pod")], every=30.0) as changes:
        expect(probe, "argo-cd ready", 20, sleep=changes.sleep)
    took = time.monotonic() - start
    assert took < 3.0, took  # woken by the event, not by the 30 s fallback
    assert state["probes"] <= 3, state  # a poll every 0.2-1 s would have probed 3 or more times in a second
    assert changes.events >= 1 and watch.opened == [("Pod", "argocd")]


def test_a_watch_that_cannot_run_leaves_the_wait_polling() -> None:
    def broken(api_version: str, kind: str, namespace: str | None, seconds: int) -> Iterator[str]:
        raise ConnectionError("no watch here")
        yield ""  # pragma: no cover

    n = {"probes": 0}

    def probe() -> Seen:
        n["probes"] += 1
        return Seen.ok("ready") if n["probes"] >= 3 else Seen.pending("not yet")

    start = time.monotonic()
    with Changes(broken, "argocd", kinds=[("v1", "Pod")], every=0.2) as changes:
        expect(probe, "argo-cd ready", 10, sleep=changes.sleep)
    assert n["probes"] == 3 and time.monotonic() - start < 3.0
    assert changes.broken == ["Pod: ConnectionError"]
