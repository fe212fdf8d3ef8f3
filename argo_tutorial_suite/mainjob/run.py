"""The main job's runner: finds the facts, prints the plan, runs each phase with its time, and keeps the phases'
times in ``artifacts/main-job.json`` (the report page draws them on its timeline)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

from argo_tutorial_suite.mainjob.plan import Facts, Phase

REGISTRY_PROBE = "https://registry-1.docker.io/v2/"  # answers 401 to anyone: an answer is all that is asked
RECORD = "main-job.json"


@dataclass
class Timed:
    name: str
    started: float  # seconds since the job started
    seconds: float
    outcome: str  # "ran", "reused", "failed (exit N)"


def find_facts(docker: str = "docker", probe: str = REGISTRY_PROBE, timeout: float = 3.0) -> Facts:
    try:
        out = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                             timeout=20, check=False)  # fmt: skip
        engine = f"Docker {out.stdout.strip()}" if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired):
        engine = None
    try:
        httpx.get(probe, timeout=timeout)
        registry = True
    except httpx.HTTPError:
        registry = False
    return Facts(engine=engine, root=os.geteuid() == 0, registry=registry)


def clock(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{seconds:.1f} s"


def run_phases(
    phases: Sequence[Phase],
    cwd: Path,
    env: dict[str, str],
    out: TextIO = sys.stdout,
    call: Callable[[Sequence[str], Path, dict[str, str]], int] | None = None,
    before: Sequence[Timed] = (),
    after_each: Callable[[list[Timed]], object] | None = None,
) -> tuple[int, list[Timed]]:
    """Run the phases in order, each announced (what it does, what comes next) and timed; stop at the first that
    fails (its exit status is the job's). ``before``: phases timed before this process (the Python set-up);
    ``after_each``: told the phases so far after each one (the record the run's report reads)."""
    call = call or _call
    done: list[Timed] = list(before)
    start = time.monotonic() - sum(t.seconds for t in before)
    total = len(phases)
    for i, ph in enumerate(phases, 1):
        after = phases[i].name if i < total else "the summary"
        t0 = time.monotonic()
        if after_each is not None:
            after_each(done)
        if not ph.argv:
            done.append(Timed(ph.name, t0 - start, 0.0, "reused"))
            print(f"[main-job] {i}/{total} {ph.name}: {ph.what}: nothing to do ({ph.reuse}); next: {after}",
                  file=out, flush=True)  # fmt: skip
            continue
        print(
            f"[main-job] {i}/{total} {ph.name}: {ph.what}\n[main-job]   $ {shlex.join(ph.argv)}", file=out, flush=True
        )
        rc = call(ph.argv, cwd, env)
        seconds = time.monotonic() - t0
        done.append(Timed(ph.name, t0 - start, seconds, "ran" if rc == 0 else f"failed (exit {rc})"))
        if rc != 0:
            print(f"[main-job] {i}/{total} {ph.name} failed (exit {rc}) after {clock(seconds)}; its output is above",
                  file=out, flush=True)  # fmt: skip
            return rc, done
        print(f"[main-job] {i}/{total} {ph.name}: done in {clock(seconds)}; next: {after}", file=out, flush=True)
    if after_each is not None:
        after_each(done)
    return 0, done


def _call(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> int:
    try:
        return subprocess.call(list(argv), cwd=cwd, env=env)
    except OSError as e:
        print(f"[main-job] cannot run {argv[0]}: {e}", file=sys.stderr, flush=True)
        return 127


def summary(done: Sequence[Timed]) -> list[str]:
    width = max((len(t.name) for t in done), default=0)
    lines = [f"  {t.name:<{width}}  {clock(t.seconds):>12}  {t.outcome}" for t in done]
    return [*lines, f"  {'total':<{width}}  {clock(sum(t.seconds for t in done)):>12}"]


def record(done: Sequence[Timed], dest: Path, rc: int) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / RECORD
    data = {
        "exit": rc,
        "phases": [
            {"name": t.name, "started": round(t.started, 1), "seconds": round(t.seconds, 1), "outcome": t.outcome}
            for t in done
        ],
    }
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def read_record(path: Path) -> list[Timed]:
    """The phases a main job recorded (none when the file is absent or not one of ours)."""
    try:
        data = json.loads(path.read_text())
        return [Timed(str(p["name"]), float(p["started"]), float(p["seconds"]), str(p["outcome"]))
                for p in data["phases"]]  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return []
