"""The tutorial's install script as a structured plan: steps, commands, URLs and versions.

The script is split at its banners (``│ Install start argo-cd │``); each command keeps its text
exactly as written (continuation lines joined), so a typo such as ``ubectl`` stays visible.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

BANNER = re.compile(r"│\s*(?P<title>[^│]+?)\s*│")
FLOATING_REFS = frozenset({"stable", "latest", "master", "main", "HEAD"})

# URL shapes of the six components; "ref" is the git tag/branch or release the URL floats on.
URL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("argo-cd", re.compile(r"argoproj/argo-cd/(?P<ref>[^/]+)/manifests/(?P<file>.+)$")),
    ("rollout-extension", re.compile(r"argoproj-labs/rollout-extension/(?P<ref>[^/]+)/manifests/(?P<file>.+)$")),
    (
        "argo-rollouts",
        re.compile(
            r"argoproj/argo-rollouts/releases/(?:(?P<latest>latest)/download|download/(?P<ref>[^/]+))/(?P<file>.+)$"
        ),
    ),
    ("argo-workflows", re.compile(r"argoproj/argo-workflows/releases/download/(?P<ref>[^/]+)/(?P<file>.+)$")),
    ("argo-events", re.compile(r"argoproj/argo-events/releases/download/(?P<ref>[^/]+)/(?P<file>.+)$")),
    ("ingress-nginx", re.compile(r"kubernetes/ingress-nginx/(?P<ref>[^/]+)/deploy/static/provider/(?P<file>.+)$")),
    ("cert-manager", re.compile(r"cert-manager/cert-manager/releases/download/(?P<ref>[^/]+)/(?P<file>.+)$")),
)
URL = re.compile(r"https?://\S+")
INLINE_IMAGE = re.compile(r"^\s*-?\s*image:\s*(\S+)\s*$", re.M)


@dataclass
class Command:
    run: str
    url: str | None = None
    component: str | None = None
    ref: str | None = None
    file: str | None = None
    fixes: list[str] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        try:
            return shlex.split(self.run, comments=False)
        except ValueError:
            return self.run.split()

    @property
    def program(self) -> str:
        argv = self.argv
        return argv[0] if argv else ""

    @property
    def floating(self) -> bool:
        return self.ref in FLOATING_REFS


@dataclass
class Step:
    title: str
    commands: list[Command]


@dataclass
class InstallPlan:
    steps: list[Step]
    preamble: list[str] = field(default_factory=list)  # lines before the first command (set -e, ...)

    def commands(self) -> list[Command]:
        return [c for s in self.steps for c in s.commands]

    def inline_images(self) -> list[str]:
        """Images named by manifests written into the commands themselves (``kubectl apply -f - <<EOF``)."""
        return [m.group(1).strip("'\"") for c in self.commands() for m in INLINE_IMAGE.finditer(c.run)]

    def to_data(self) -> dict[str, Any]:
        def cmd(c: Command) -> dict[str, Any]:
            return {k: v for k, v in asdict(c).items() if v not in (None, [])}

        return {
            "preamble": self.preamble,
            "steps": [{"title": s.title, "commands": [cmd(c) for c in s.commands]} for s in self.steps],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> InstallPlan:
        steps = [Step(s["title"], [Command(**c) for c in s.get("commands", [])]) for s in data.get("steps", [])]
        return cls(steps, list(data.get("preamble", [])))


def classify_url(url: str) -> tuple[str | None, str | None, str | None]:
    """Return (component, ref, file) for a known install URL; ``latest`` downloads float."""
    for component, pattern in URL_PATTERNS:
        m = pattern.search(url)
        if m:
            ref = m.groupdict().get("ref") or m.groupdict().get("latest")
            return component, ref, m.group("file")
    return None, None, None


def _logical_lines(script: str) -> list[str]:
    """Join backslash continuations and lines inside open quotes into logical shell lines."""
    out: list[str] = []
    buf: list[str] = []
    for raw in script.splitlines():
        buf.append(raw)
        joined = "\n".join(buf)
        if joined.endswith("\\"):
            continue
        if _quotes_open(joined):
            continue
        out.append(_join_continuations(joined))
        buf = []
    if buf:
        out.append(_join_continuations("\n".join(buf)))
    return out


def _join_continuations(text: str) -> str:
    return re.sub(r"\\\n\s*", "", text).strip()


def _quotes_open(text: str) -> bool:
    single = double = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and not single:
            i += 2
            continue
        if ch == "'" and not double:
            single = not single
        elif ch == '"' and not single:
            double = not double
        i += 1
    return single or double


def parse_script(script: str) -> InstallPlan:
    """Parse the tutorial's install script into steps (one per banner; the tail is its own step)."""
    steps: list[Step] = []
    preamble: list[str] = []
    current: Step | None = None
    for line in _logical_lines(script):
        if not line or line.startswith("#"):
            continue
        banner = BANNER.search(line)
        if banner and line.startswith("echo"):
            current = Step(banner.group("title"), [])
            steps.append(current)
            continue
        if current is None:
            preamble.append(line)
            continue
        if current.title.startswith("Install start") and line.startswith("PASSWORD="):
            current = Step("Show the admin password and port-forward the UIs", [])
            steps.append(current)
        url_match = URL.search(line)
        url = url_match.group(0) if url_match else None
        component, ref, file = classify_url(url) if url else (None, None, None)
        current.commands.append(Command(line, url, component, ref, file))
    return InstallPlan(steps, preamble)


STEP_PREFIX = "Install start "


def step_component(title: str) -> str | None:
    """``Install start argo-cd`` -> ``argo-cd`` (the tutorial's and the corrected plan's component steps)."""
    return title.removeprefix(STEP_PREFIX).strip() if title.startswith(STEP_PREFIX) else None


def namespaces_named(words: Sequence[str]) -> list[str]:
    """The namespaces a kubectl command's words name, in order: ``-n NS``, ``-nNS``, ``--namespace NS``,
    ``--namespace=NS``."""
    out: list[str] = []
    for i, w in enumerate(words):
        if w in ("-n", "--namespace") and i + 1 < len(words):
            out.append(words[i + 1])
        m = re.fullmatch(r"(?:-n|--namespace=)(\S+)", w)
        if m and w != "-n":
            out.append(m.group(1))
    return out
