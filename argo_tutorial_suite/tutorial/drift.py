"""Version drift: what the tutorial's floating references resolve to today, and which defects depend on it.

The tutorial installs Argo CD from the ``stable`` tag and Argo Rollouts from ``releases/latest``. At run
time (``--resolve-floating``, network) each is resolved through the GitHub API's latest release
(``GET /repos/{owner}/{repo}/releases/latest`` -> ``tag_name``; Argo CD moves ``stable`` to its latest
release) and compared with the ``current`` pins; the report says which pins file needs a bump. The
catalog says which defects appear only with one set of pins (the static scenarios check it).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from argo_tutorial_suite.tutorial import catalog, lifecycle
from argo_tutorial_suite.tutorial.installplan import InstallPlan
from argo_tutorial_suite.tutorial.profiles import PINS, Pins
from argo_tutorial_suite.upstream import REPOS


@dataclass(frozen=True)
class Floating:
    component: str
    ref: str
    pinned: str  # what the current pins say it resolves to
    today: str | None = None  # what it resolves to now (None: not resolved)
    error: str = ""

    @property
    def drifted(self) -> bool:
        return self.today is not None and self.today != self.pinned

    def line(self) -> str:
        if self.today is None:
            return f"{self.component}@{self.ref}: pins say {self.pinned}; not resolved here ({self.error or 'offline'})"
        verdict = f"DRIFT: today {self.today}, update manifests/versions/current.yaml" if self.drifted else "as pinned"
        return f"{self.component}@{self.ref}: pins say {self.pinned}; {verdict}"


def floating_refs(plan: InstallPlan) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for c in plan.commands():
        if c.component and c.floating and c.ref and (c.component, c.ref) not in out:
            out.append((c.component, c.ref))
    return out


def resolve(plan: InstallPlan, pins: Pins, client: httpx.Client | None) -> list[Floating]:
    """Each floating ref of ``plan`` against ``pins``; resolved through GitHub when ``client`` is given."""
    out = []
    for component, ref in floating_refs(plan):
        pinned = pins.resolve(component, ref) or "?"
        if client is None:
            out.append(Floating(component, ref, pinned))
            continue
        try:
            out.append(
                Floating(component, ref, pinned, str(lifecycle.latest_release(client, REPOS[component])["tag_name"]))
            )
        except (httpx.HTTPError, KeyError, ValueError) as e:
            out.append(Floating(component, ref, pinned, None, f"GitHub API: {e}"))
    return out


def defects_by_pins() -> dict[str, list[str]]:
    """'only <pins>' -> defects (or parts of defects, with their rules) whose expected findings appear with
    those pins only: ``D2`` (all of it), ``D24 (HTTP-CONTENT-TYPE)`` (one rule of it)."""
    out: dict[str, list[str]] = {f"only {p}": [] for p in PINS}
    for d in catalog.load().values():
        if not d.static:
            continue
        for p in PINS:
            only_here = [e for e in d.static if e.pins and e.pins == (p,)]
            if not only_here:
                continue
            if len(only_here) == len(d.static):
                out[f"only {p}"].append(d.id)
            else:
                out[f"only {p}"].append(f"{d.id} ({', '.join(sorted({e.rule for e in only_here}))})")
    return out


def markdown(floating: list[Floating]) -> str:
    lines = ["## Version drift", "", "Floating references of the tutorial's install script:", ""]
    lines += [f"- {f.line()}" for f in floating]
    lines += ["", "Defects that depend on the versions (from the catalog, checked by the static scenarios):", ""]
    for key, ids in defects_by_pins().items():
        lines.append(f"- {key}: {', '.join(ids) or 'none'}")
    return "\n".join(lines) + "\n"
