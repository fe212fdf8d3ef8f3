"""Stand-in executables for offline tests of the cluster glue (kind, kubectl, docker).

Each stand-in is a small shell script that appends its argv to a log and answers from a table,
so the real subprocess paths of the suite run unchanged.
"""

from __future__ import annotations

import shlex
import stat
from pathlib import Path


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def recorder(bin_dir: Path, name: str, cases: dict[str, str], default: str = "exit 0") -> Path:
    """A script that logs ``$*`` to ``<bin_dir>/<name>.log`` and runs the first case whose glob matches ``$*``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = bin_dir / f"{name}.log"
    esc = {p: p.replace(" ", "\\ ") for p in cases}
    arms = "".join(f"  {esc[pattern]}) {action} ;;\n" for pattern, action in cases.items())
    body = f'echo "$*" >> {shlex.quote(str(log))}\ncase "$*" in\n{arms}  *) {default} ;;\nesac\n'
    return script(bin_dir / name, body)


def calls(bin_dir: Path, name: str) -> list[str]:
    log = bin_dir / f"{name}.log"
    return log.read_text().splitlines() if log.exists() else []
