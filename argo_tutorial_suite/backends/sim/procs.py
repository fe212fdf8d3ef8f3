"""Processes and temporary directories of the simulated backend, with guaranteed cleanup.

Every child starts in its own process group with ``PR_SET_PDEATHSIG`` (Linux ``prctl(2)``), so it dies
with the test process even on ``kill -9``; ``close()`` (called at teardown, on ``atexit`` and on
SIGTERM) stops each group (TERM, then KILL) and removes the temporary directory.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None, what: str = "") -> None:
    """Wait until 127.0.0.1:port accepts connections; fail at once if ``proc`` exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what or 'process'} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what or 'process'} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def sweep(prefix: str) -> list[Path]:
    """Remove temporary directories of earlier runs whose owner process is gone (a run killed with -9:
    its children died with it through PR_SET_PDEATHSIG, but nothing removed its directory)."""
    removed = []
    for d in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        pidfile = d / "owner.pid"
        try:
            pid = int(pidfile.read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


@dataclass
class Procs:
    """A set of child processes and one temporary directory, stopped and removed together."""

    prefix: str = "argo-sim-"
    root: Path = field(init=False)
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        sweep(self.prefix)
        self.root = Path(tempfile.mkdtemp(prefix=self.prefix))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        atexit.register(self.close)

    def dir(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        umask: int | None = None,
        log: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"not starting {name}: the simulated backend is shutting down")

        def pre() -> None:
            _die_with_parent()
            if umask is not None:
                os.umask(umask)

        out = open(log or (self.dir("logs") / f"{name}.log"), "ab")
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
            preexec_fn=pre,
        )
        out.close()
        with self._lock:
            self.children.append((name, proc))
            closed = self._closed
        if closed:  # close() ran while this one was starting: stop it too
            self.stop(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)

    def close(self) -> list[str]:
        """Stop every child (newest first) and remove the directory; return what was still running."""
        with self._lock:
            if self._closed:
                return []
            self._closed = True
            children = list(reversed(self.children))
        running = [name for name, p in children if p.poll() is None]
        for _, p in children:
            self.stop(p)
        shutil.rmtree(self.root, ignore_errors=True)
        return running
