"""The main job's command line (``scripts/main-job``):

    scripts/main-job [--pins NAME]... [--profile NAME]... [--clusters N] [--offline | --online]
                     [--registry-mirror] [--plan] [-- PYTEST_ARGS...]

Finds what answers here (a container engine, a public registry), prints the phases it will run, runs them, each
announced and timed, and ends with the phases' times; the run's verdicts and ``report.html`` go to ``artifacts/``.
Exit: pytest's status (0 every verdict as expected), the failing phase's status, or 2 for bad input or a machine
the job cannot run on (with what to do).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from argo_tutorial_suite.mainjob import plan as plan_mod
from argo_tutorial_suite.mainjob import run as run_mod
from argo_tutorial_suite.paths import ROOT
from argo_tutorial_suite.tutorial.profiles import PINS, PROFILES


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="scripts/main-job", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--pins", action="append", choices=PINS, help="pins set(s) (default: both)")
    ap.add_argument("--profile", action="append", choices=PROFILES, help="profile(s) (default: both)")
    ap.add_argument("--clusters", type=int, default=2, help="kind clusters side by side (default 2; 1: one by one)")
    way = ap.add_mutually_exclusive_group()
    way.add_argument("--offline", action="store_const", const=True, dest="offline",
                     help="build the images here even if a registry answers")  # fmt: skip
    way.add_argument("--online", action="store_const", const=False, dest="offline",
                     help="pull the images even if no registry answered the probe")  # fmt: skip
    ap.add_argument("--registry-mirror", action="store_true", help="online: pull through local pull-through caches")
    ap.add_argument("--artifacts", default="artifacts", help="where the verdicts and report.html go")
    ap.add_argument("--plan", action="store_true", help="print the phases and stop")
    return ap


def main(argv: list[str]) -> int:
    ours, extra = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser().parse_args(ours)
    if not 1 <= args.clusters <= 8:
        print("scripts/main-job: --clusters must be between 1 and 8", file=sys.stderr)
        return 2
    opts = plan_mod.Options(
        pins=tuple(dict.fromkeys(args.pins or PINS)),
        profiles=tuple(dict.fromkeys(args.profile or PROFILES)),
        workers=args.clusters,
        registry_mirror=args.registry_mirror,
        offline=args.offline,
        pytest_args=tuple(extra),
        artifacts=args.artifacts,
    )
    before = _bootstrap()
    for t in before:
        print(f"[main-job] {t.name}: {'made' if t.outcome == 'ran' else 'reused'} in {run_mod.clock(t.seconds)}")
    facts = run_mod.find_facts()
    try:
        phases = plan_mod.plan(facts, opts)
    except plan_mod.CannotRun as e:
        print(f"scripts/main-job: {e}", file=sys.stderr)
        return 2
    away = plan_mod.offline(facts, opts)
    print(f"[main-job] found: engine {facts.engine or 'none answers'}; registry "
          f"{'answers' if facts.registry else 'does not answer'}: images {'built here' if away else 'pulled'}")  # fmt: skip
    print("[main-job] plan: " + " -> ".join(p.name for p in phases), flush=True)
    if args.plan:
        for p in phases:
            print(f"  {p.name}: {p.what}" + (f"\n    $ {shlex.join(p.argv)}" if p.argv else f" ({p.reuse})"))
        return 0
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # this venv's python and pytest
    dest = ROOT / args.artifacts
    env["ARGO_SUITE_MAIN_JOB_RECORD"] = str(dest / run_mod.RECORD)  # the run's report draws the phases so far
    rc, done = run_mod.run_phases(phases, ROOT, env, before=before, after_each=lambda d: run_mod.record(d, dest, -1))
    written = run_mod.record(done, dest, rc)
    print("[main-job] phases:")
    for line in run_mod.summary(done):
        print(line)
    verdict = "every verdict as expected" if rc == 0 else f"exit {rc}"
    print(f"[main-job] {verdict}; phases in {written}, the run's page in {ROOT / args.artifacts / 'report.html'}")
    return rc


def _bootstrap() -> list[run_mod.Timed]:
    """The Python set-up scripts/main-job timed before this process (venv made, or reused)."""
    seconds = os.environ.get("ARGO_SUITE_BOOTSTRAP_SECONDS")
    try:
        return [run_mod.Timed("python venv", 0.0, float(seconds or ""), os.environ.get("ARGO_SUITE_BOOTSTRAP", "ran"))]
    except ValueError:
        return []


def run() -> None:
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\n[main-job] interrupted; what finished is cached, run again to go on", file=sys.stderr)
        sys.exit(130)
