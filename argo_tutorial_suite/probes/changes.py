"""Waits woken by the API server's watches instead of a fixed poll: a probe is looked at again when something it
reads changed (an event on a watched kind in its namespace), and at the latest every ``every`` seconds.

What Argo Rollouts' e2e fixtures do with ``RetryWatcher`` (``test/fixtures/when.go``: ``WaitForRolloutCondition``
watches the Rollout) and kubectl's ``rollout status`` with its watch, for a wait over several kinds: the Pods,
Deployments and StatefulSets of a component. A watch that cannot run (an API server without watch, a dropped
connection) leaves the wait polling every ``every`` seconds; each watch is renewed before the server ends it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

READINESS_KINDS: tuple[tuple[str, str], ...] = (("v1", "Pod"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"))

Watch = Callable[[str, str, "str | None", int], Iterator[str]]  # (api_version, kind, namespace, seconds) -> events


class Changes:
    """``with Changes(kube.watch_kind, ns) as ch: expect(probe, ..., sleep=ch.sleep)``."""

    def __init__(
        self,
        watch: Watch,
        namespace: str | None,
        kinds: Sequence[tuple[str, str]] = READINESS_KINDS,
        every: float = 5.0,
    ) -> None:
        self._watch = watch
        self.namespace = namespace
        self.kinds = tuple(kinds)
        self.every = every
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.events = 0  # events seen (what woke the wait)
        self.broken: list[str] = []  # watches that could not run: the wait polls for them

    def __enter__(self) -> Changes:
        for api_version, kind in self.kinds:
            t = threading.Thread(target=self._follow, args=(api_version, kind), daemon=True, name=f"watch {kind}")
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._changed.set()

    def _follow(self, api_version: str, kind: str) -> None:
        while not self._stop.is_set():
            try:
                for _ in self._watch(api_version, kind, self.namespace, max(1, int(self.every * 6))):
                    self.events += 1
                    self._changed.set()
                    if self._stop.is_set():
                        return
            except Exception as e:  # no watch here: the wait goes on polling
                self.broken.append(f"{kind}: {type(e).__name__}")
                return

    def sleep(self, _backoff: float) -> None:
        """tenacity's sleep: until the next change, or ``every`` seconds."""
        self._changed.wait(self.every)
        self._changed.clear()
