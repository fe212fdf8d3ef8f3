"""Live lines for the person at the terminal (a wait's progress, a step's start and verdict), past pytest's output
capture and across xdist workers.

Where a line goes is set once per process by the pytest plugin (:func:`fixtures.plugin`): the terminal reporter in
the main process; under ``-n`` each worker appends to a file the controller follows and prints. Without a sink (a
library caller, a unit test), the process's real stderr.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

Sink = Callable[[str], None]
_sink: list[Sink] = []


def say(line: str) -> None:
    """Show ``line`` now, wherever this process's sink says."""
    if _sink:
        _sink[0](line)
        return
    out = sys.__stderr__ or sys.stderr
    print(line, file=out, flush=True)


def set_sink(sink: Sink | None) -> None:
    _sink[:] = [sink] if sink is not None else []


def file_sink(path: Path, prefix: str) -> Sink:
    """Append each line to ``path`` (a worker's; the controller follows it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock, path.open("a", encoding="utf-8") as f:
            f.write(f"{prefix}{line}\n")

    return write


class Follower:
    """Follows the workers' files in a thread and shows each new line through ``show`` (the controller's terminal
    reporter), every ``every`` seconds, until :meth:`stop` (which shows what is left)."""

    def __init__(self, folder: Path, show: Sink, every: float = 1.0) -> None:
        self.folder, self.show, self.every = folder, show, every
        self.offsets: dict[Path, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="argo-suite-live", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def poll(self) -> None:
        for path in sorted(self.folder.glob("*.log")) if self.folder.is_dir() else []:
            start = self.offsets.get(path, 0)
            try:
                with path.open("rb") as f:
                    f.seek(start)
                    data = f.read()
            except OSError:
                continue
            complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next poll
            self.offsets[path] = start + len(complete)
            for line in complete.decode("utf-8", errors="replace").splitlines():
                self.show(line)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.poll()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()
