"""The instructor's folder check as a command: one or more participants' folders, one line per finding, a summary
per folder, exit 0 clean / 1 findings / 2 usage, as linters do.

    argo-tutorial-check participants/*            # text: file:line: RULE object: message
    argo-tutorial-check --format sarif ann/ > ann.sarif

The pytest path (``pytest scenarios -m static --manifests-dir DIR``) runs the same engine.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

from argo_tutorial_suite.static import formats
from argo_tutorial_suite.static.formats import FolderResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    from argo_tutorial_suite.paths import UPSTREAM
    from argo_tutorial_suite.tutorial.profiles import PINS

    ap = argparse.ArgumentParser(
        prog="argo-tutorial-check",
        description="Check participants' copies of the Argo hands-on tutorial's files: schemas as strict as the API "
        "server, the tutorial's known defects, credentials, references. No cluster, no network.",
        epilog="exit status: 0 no finding, 1 findings, 2 usage error (a folder that does not exist, a bad option)",
    )
    ap.add_argument("folders", nargs="+", type=Path, metavar="FOLDER", help="a participant's folder (several at once)")
    ap.add_argument("--format", choices=formats.FORMATS, default="text", help="output format (default: text)")
    ap.add_argument("--pins", choices=PINS, default="current",
                    help="which releases the folder is checked against: Kubernetes version and CRDs (default: current)")  # fmt: skip
    ap.add_argument("--upstream-dir", type=Path, default=UPSTREAM,
                    help="the upstream reference copy holding the stack's CRDs (default: ../shared/upstream)")  # fmt: skip
    ap.add_argument("--kubectl", default=None, help="kubectl to build kustomizations with (default: from PATH)")
    ap.add_argument("--output", "-o", type=Path, default=None, help="write the report here instead of stdout")
    return ap


def descriptions() -> dict[str, str]:
    """Each rule ID's one-line description (its rule's docstring), for SARIF."""
    from argo_tutorial_suite.static import engine

    engine.registry()
    by_name = {r.__name__: (r.__doc__ or "").strip().splitlines()[0] for r in engine.RULES if r.__doc__}
    return {i: next((by_name[n] for n in names if n in by_name), i) for i, names in engine.RULE_IDS.items()}


def check_folders(
    folders: list[Path], pins_name: str, upstream_dir: Path | None, kubectl: str | None
) -> list[FolderResult]:
    from argo_tutorial_suite.static.engine import directory_bundle, run
    from argo_tutorial_suite.static.report import for_a_folder, split_notes
    from argo_tutorial_suite.static.schemas import CrdSchema, load_stack_crds
    from argo_tutorial_suite.tutorial import catalog
    from argo_tutorial_suite.tutorial.profiles import Pins
    from argo_tutorial_suite.upstream import Upstream

    pins = Pins.load(pins_name)
    expected = catalog.expected_findings(pins.name)
    crds: dict[tuple[str, str], CrdSchema] = {}
    unchecked = ["custom resources (argoproj.io, cert-manager.io): no CRDs without --upstream-dir"]
    if upstream_dir is not None and upstream_dir.is_dir():
        crds, missing = load_stack_crds(Upstream(upstream_dir), pins)
        unchecked = [f"CRD not read: {m}" for m in missing]
    results = []
    for folder in folders:
        start = time.monotonic()
        if not folder.is_dir():
            results.append(FolderResult(str(folder), error="not a folder (give the folder holding the manifests)"))
            continue
        bundle = directory_bundle(folder, pins, None, kubectl)
        bundle.crds = crds
        findings, notes = split_notes(for_a_folder(run(bundle), expected))
        results.append(FolderResult(str(folder), findings, notes, unchecked, time.monotonic() - start))
    return results


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        results = check_folders(args.folders, args.pins, args.upstream_dir, args.kubectl)
    except Exception as e:  # a tool missing, a pins file unreadable: one line, never a traceback
        print(f"argo-tutorial-check: error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "text":
        out = formats.text(results)
    elif args.format == "json":
        out = formats.as_json(results)
    elif args.format == "sarif":
        out = formats.sarif(results, descriptions())
    else:
        out = formats.junit(results)
    if args.output is not None:
        args.output.write_text(out)
    else:
        sys.stdout.write(out)
    if any(r.error for r in results):
        for r in results:
            if r.error:
                print(f"argo-tutorial-check: {r.folder}: {r.error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FINDINGS if any(r.findings for r in results) else EXIT_CLEAN


def run() -> None:
    """The console script. A check builds its objects once and frees them only at exit, so the cyclic garbage
    collector is off (a short-lived process: about 10 % of a large folder's time) and the process ends without
    tearing them down one by one (the output flushed first)."""
    gc.disable()
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
