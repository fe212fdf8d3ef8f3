"""The machine's shared registry and mirror containers: made by one run at a time, removed only by the last run
alive (two kind clusters side by side, or two runs)."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from argo_tutorial_suite.backends.kind import shared


def test_the_last_run_alive_is_alone_and_blocks_new_runs_while_it_removes(tmp_path: Path) -> None:
    lock = tmp_path / "alive.lock"
    a, b = shared.Alive(lock), shared.Alive(lock)
    a.hold()
    b.hold()
    with a.alone() as alone:
        assert alone is False  # b is alive
    with b.alone() as alone:
        assert alone is True  # a released its share above
        with open(lock, "a") as f, pytest.raises(BlockingIOError):  # a run starting now waits for the removal
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
    c = shared.Alive(lock)
    c.hold()  # and starts once it is over
    c.release()


def test_a_dead_run_does_not_count_as_alive(tmp_path: Path) -> None:
    lock = tmp_path / "alive.lock"
    a = shared.Alive(lock)
    a.hold()
    a.release()  # as the kernel does when a process dies
    with shared.Alive(lock).alone() as alone:
        assert alone is True


def test_one_run_at_a_time_makes_the_containers(tmp_path: Path) -> None:
    lock = tmp_path / "make.lock"
    inside: list[int] = []
    most = [0]
    gate = threading.Barrier(4)

    def run(i: int) -> None:
        gate.wait()
        with shared.making(lock):
            inside.append(i)
            most[0] = max(most[0], len(inside))
            with open(lock, "a") as f, pytest.raises(BlockingIOError):
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            inside.remove(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert most == [1] and not inside
