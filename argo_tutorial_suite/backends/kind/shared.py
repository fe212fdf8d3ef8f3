"""The machine's shared containers (the ``kind-registry`` and the registry mirrors, shared by name by every kind
run here) made by one run at a time, and removed only by the last run alive.

Two locks (``flock``, released by the kernel when a process dies): every kind backend holds ``ALIVE`` shared from
the start of its ``up`` to its ``close``; whoever closes removes the shared containers only if it then gets
``ALIVE`` exclusively at once (no other run is alive) and no other cluster's nodes are on the network (a kept
cluster). ``MAKE`` is held exclusively while the containers are made: two runs started together both found none
and both ran ``docker run --name kind-registry`` (seen here: the second failed, "name already in use").
"""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ALIVE = Path(tempfile.gettempdir()) / "argo-suite-kind-alive.lock"
MAKE = Path(tempfile.gettempdir()) / "argo-suite-kind-make.lock"


class Alive:
    """This run's share of ``ALIVE``, from ``up`` to ``close``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ALIVE
        self._file: IO[str] | None = None

    def hold(self) -> None:
        if self._file is None:
            self._file = open(self.path, "a")  # held across calls, closed by release()
            fcntl.flock(self._file, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @contextmanager
    def alone(self) -> Iterator[bool]:
        """Whether no other run is alive, this run's own share released first; while True, ``ALIVE`` stays held
        exclusively, so no run starts (and reuses what is being removed) until the block ends."""
        self.release()
        with open(self.path, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True


@contextmanager
def making(path: Path | None = None) -> Iterator[None]:
    """One run at a time makes (or finds) the shared containers."""
    with open(path or MAKE, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield
