"""The pins files read with the standard library alone, for the scripts that run before the suite's
dependencies are installed (``scripts/pinned-tools.py`` on a fresh CI runner has no PyYAML).

It reads the subset of YAML the pins files use: comments, ``key: value`` scalars, nested blocks by
indentation and one-line flow maps (``{stable: v2.6.3, pinned: v2.6.3}``); anything else is an error that
names the line. A test checks it against PyYAML on every pins file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

VERSIONS = Path(__file__).resolve().parent.parent / "manifests" / "versions"
# the pins sets are the files of manifests/versions (the suite names them in its profiles)
PINS = tuple(sorted((p.stem for p in VERSIONS.glob("*.yaml")), key=lambda n: (n != "tutorial-2023", n)))


class PinsError(ValueError):
    """A pins file that cannot be read; the message names the file and line."""


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _flow_map(text: str, where: str) -> dict[str, str]:
    inner = text.strip()[1:-1].strip()
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in inner.split(","))):
        if ":" not in part:
            raise PinsError(f"{where}: expected key: value in {text!r}")
        k, v = part.split(":", 1)
        out[_scalar(k)] = _scalar(v)
    return out


def parse(text: str, name: str = "pins") -> dict[str, Any]:
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for no, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"\s+#.*$", "", raw) if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        m = re.match(r"^\s*([A-Za-z0-9_.-]+):(?:\s+(.*))?$", line)
        if not m:
            raise PinsError(f"{name}:{no}: not a `key: value` line: {raw!r}")
        while stack and indent <= stack[-1][0]:
            stack.pop()
        if not stack:
            raise PinsError(f"{name}:{no}: bad indentation")
        parent = stack[-1][1]
        key, value = m.group(1), (m.group(2) or "").strip()
        if not value:
            child: dict[str, Any] = {}
            parent[key] = child
            stack.append((indent, child))
        elif value.startswith("{"):
            parent[key] = _flow_map(value, f"{name}:{no}")
        else:
            parent[key] = _scalar(value)
    return root


def read_pins(name: str, folder: Path = VERSIONS) -> dict[str, Any]:
    if name not in PINS:
        raise PinsError(f"unknown pins {name!r}: choose one of {', '.join(PINS)}")
    path = folder / f"{name}.yaml"
    try:
        return parse(path.read_text(), str(path))
    except OSError as e:
        raise PinsError(f"cannot read {path}: {e}") from None
