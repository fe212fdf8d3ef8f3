"""Subprocesses with errors that carry the command, the exit code and stderr (redacted).

pytest-kind raises ``CalledProcessError`` without stderr (harness-anchors 1.6 #5); every external
command of the suite goes through :class:`Runner` instead, which also records what ran and how long
it took (the per-step durations of the report), and can be replaced by a recording fake in tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from argo_tutorial_suite.redact import REDACTOR, Redactor


@dataclass
class Ran:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


class CommandFailed(RuntimeError):
    def __init__(self, ran: Ran, redactor: Redactor = REDACTOR, hint: str = ""):
        self.ran = ran
        cmd = redactor.text(" ".join(ran.argv))
        err = redactor.text((ran.stderr or ran.stdout).strip())[-2000:]
        super().__init__(f"`{cmd}` exited {ran.returncode}: {err}" + (f"\n  fix: {hint}" if hint else ""))


class Cancelled(RuntimeError):
    """The runner was cancelled (Ctrl-C, SIGTERM) while the command ran; the command was killed."""


@dataclass
class Runner:
    env: Mapping[str, str] | None = None
    history: list[Ran] = field(default_factory=list)
    _running: set[subprocess.Popen[str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Kill every command running now (each in its own process group) and refuse new ones: an interrupted
        concurrent install stops at once instead of waiting for its threads' commands."""
        self._cancelled.set()
        with self._lock:
            procs = list(self._running)
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float = 600,
        check: bool = True,
        hint: str = "",
        env_extra: Mapping[str, str] | None = None,
        stop_when: Callable[[], str | None] | None = None,
        check_every: float = 5.0,
    ) -> Ran:
        """``stop_when``: asked every ``check_every`` seconds while the command runs; a reason it returns stops the
        command at once (what it waits for can no longer happen), the reason in its stderr."""
        start = time.monotonic()
        if self._cancelled.is_set():
            raise Cancelled(f"not started (cancelled): {' '.join(argv)}")
        env = {**os.environ, **(self.env or {}), **(env_extra or {})}
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                start_new_session=True,  # its own process group: cancel() kills it with its children
            )
        except FileNotFoundError as e:
            ran = Ran(list(argv), 127, "", f"{argv[0]}: not found ({e})", time.monotonic() - start)
        else:
            with self._lock:
                self._running.add(proc)
            try:
                ran = self._communicate(proc, argv, input, timeout, start, stop_when, check_every)
            except BaseException:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            finally:
                with self._lock:
                    self._running.discard(proc)
            if self._cancelled.is_set():
                raise Cancelled(f"cancelled while running: {' '.join(argv)}")
        self.history.append(ran)
        if check and ran.returncode != 0:
            raise CommandFailed(ran, hint=hint)
        return ran

    @staticmethod
    def _communicate(
        proc: subprocess.Popen[str],
        argv: Sequence[str],
        input: str | None,
        timeout: float,
        start: float,
        stop_when: Callable[[], str | None] | None,
        check_every: float,
    ) -> Ran:
        deadline = start + timeout
        sent: str | None = input
        while True:
            left = deadline - time.monotonic()
            try:
                # retried after a timeout without losing output (subprocess docs); the input goes once
                out, err = proc.communicate(
                    input=sent, timeout=max(0.01, min(left, check_every) if stop_when else left)
                )
                return Ran(list(argv), proc.returncode, out, err, time.monotonic() - start)
            except subprocess.TimeoutExpired:
                sent = None
                elapsed = time.monotonic() - start
                if time.monotonic() >= deadline:
                    why = f"timed out after {timeout:.0f}s"
                else:
                    reason = stop_when() if stop_when is not None else None
                    if reason is None:
                        continue
                    why = f"stopped after {elapsed:.0f}s: it cannot end: {reason}"
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
                return Ran(list(argv), -9, out or "", why, time.monotonic() - start)
