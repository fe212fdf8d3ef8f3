#!/usr/bin/env python3
"""Print the shell commands that install kind and kubectl at the versions a pins file names, for this
host's OS and architecture (used by the nightly workflow: ``python3 scripts/pinned-tools.py current | sudo bash``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.profiles import PINS, Pins
from fixtures.tools import download_hint


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PINS:
        print(f"usage: pinned-tools.py {{{'|'.join(PINS)}}}", file=sys.stderr)
        return 2
    pins = Pins.load(argv[0]).data
    print(download_hint("kind", pins["kind"]["version"]))
    print(download_hint("kubectl", pins["kubectl"]["version"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
