"""Work beside the main process on a large folder: a forked child (it shares the parent's memory as the parent
left it, so nothing is copied to start it) computes one value and sends it back pickled through a pipe. Where the
system cannot fork, or the child dies, the caller computes the value itself: the result never depends on it."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class Child(Generic[T]):
    pid: int
    read: int
    fn: Callable[[], T]
    _value: list[T] = field(default_factory=list)

    def result(self) -> T:
        """The child's value (waiting for it, once), or the value computed here when the child could not give it."""
        if not self._value:
            self._value.append(self._receive())
        return self._value[0]

    def _receive(self) -> T:
        with os.fdopen(self.read, "rb") as f:
            data = f.read()
        _pid, status = os.waitpid(self.pid, 0)
        if status == 0 and data:
            try:
                value: Any = pickle.loads(data)
                return value  # type: ignore[no-any-return]
            except Exception:
                pass
        return self.fn()


def start(fn: Callable[[], T]) -> Child[T] | None:
    """``fn()`` in a forked child; None on a single core or where fork is not available (call ``fn`` then)."""
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return None
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the child: it never returns into the caller's code
        code = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                pickle.dump(fn(), out, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return Child(pid, read, fn)


def both(fn: Callable[[], T], here: Callable[[], Any], fork: bool) -> T:
    """``fn()`` in a child while ``here()`` runs in this process (when ``fork``), else one after the other."""
    child = start(fn) if fork else None
    here()
    return child.result() if child is not None else fn()
