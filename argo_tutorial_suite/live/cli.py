"""``argo-tutorial-live``: where each participant is in the tutorial, read from their own clusters.

    argo-tutorial-live KUBECONFIG|FOLDER... [--context NAME]... [--all-contexts] [--format text|markdown|json|html]
                       [--output FILE] [--concurrency 8] [--deadline 20] [--probe]

Read-only (GET only; Secrets as metadata), needs no Docker, kind or kubectl. Clusters are read side by side, at
most ``--concurrency`` at once, each within ``--deadline`` seconds. Exit 0: every participant on track; 1: one is
stuck, unreachable or refused; 2: bad usage.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from argo_tutorial_suite.live import board, kubeconfig, progress, snapshot
from argo_tutorial_suite.live.readonly import ApiProblem, ReadOnlyKube

EXIT_ON_TRACK, EXIT_STUCK, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="argo-tutorial-live", description=__doc__.split("\n\n")[0])
    ap.add_argument("kubeconfigs", nargs="+", type=Path, help="kubeconfig files, or folders of them")
    ap.add_argument("--context", action="append", default=[], help="a context to check (repeatable); default: current")
    ap.add_argument("--all-contexts", action="store_true", help="every context of each file (one participant each)")
    ap.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text")
    ap.add_argument("--output", "-o", type=Path, default=None, help="write the board here instead of stdout")
    ap.add_argument("--concurrency", type=int, default=8, help="clusters read at once (default 8)")
    ap.add_argument("--deadline", type=float, default=20.0, help="seconds for one cluster, all reads (default 20)")
    ap.add_argument("--probe", action="store_true", help="post the tutorial's webhook and follow what it starts")
    ap.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    return ap


def check(target: kubeconfig.Target, deadline: float, probe: bool, say: board.Say) -> board.Row:
    start = time.monotonic()
    if target.problem:
        return _unchecked(target, target.problem)
    say(target.name, f"reading {target.server}")
    try:
        with ReadOnlyKube(target, deadline=deadline) as kube:
            snap = snapshot.read(target.name, kube, lambda what: say(target.name, f"reading {what}"))
            row = board.Row(target.name, target.source, progress.steps(snap), snap, snap.problems())
            if probe and not snap.fatal:
                from argo_tutorial_suite.live import probe as active

                row.probe = active.fire(kube, target, snap, say)
    except ApiProblem as e:
        row = _unchecked(target, f"kubeconfig {target.source.split(' context ')[0]}: {e}")
    row.seconds = time.monotonic() - start
    say(target.name, f"{row.where} ({row.seconds:.1f}s)")
    return row


def _unchecked(target: kubeconfig.Target, why: str) -> board.Row:
    """The row of a participant whose cluster could not be read at all: one step, stuck, saying why."""
    step = progress.Step("cluster", "Cluster", "the API server answers", progress.Reach.STUCK, why)
    return board.Row(target.name, target.source, [step], problems=[why])


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.concurrency < 1 or args.deadline <= 0:
        print("argo-tutorial-live: error: --concurrency and --deadline must be positive", file=sys.stderr)
        return EXIT_USAGE
    files = kubeconfig.expand(args.kubeconfigs)
    missing = [str(p) for p in args.kubeconfigs if not p.exists()]
    if missing or not files:
        print(f"argo-tutorial-live: error: no kubeconfig at {', '.join(missing) or args.kubeconfigs}", file=sys.stderr)
        return EXIT_USAGE
    targets = [t for f in files for t in kubeconfig.read(f, args.context or None, args.all_contexts)]
    say = board.quiet if args.quiet else board.to_stderr
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(args.concurrency, len(targets))) as pool:
        rows = list(pool.map(lambda t: check(t, args.deadline, args.probe, say), targets))
    render = {"text": board.text, "markdown": board.markdown, "json": board.as_json, "html": board.html_page}
    out = render[args.format](rows)
    if args.output is not None:
        args.output.write_text(out)
    else:
        sys.stdout.write(out)
    if not args.quiet:
        print(f"[live] {len(rows)} cluster(s) in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return EXIT_ON_TRACK if all(r.on_track for r in rows) else EXIT_STUCK


def run() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
