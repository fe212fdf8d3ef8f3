"""The defect catalog (manifests/defects.yaml) as data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.tutorial.profiles import PINS
from argo_tutorial_suite.verdicts.observables import Observable, parse


@dataclass(frozen=True)
class Expected:
    rule: str
    obj: str
    pins: tuple[str, ...] = ()

    def applies(self, pins: str) -> bool:
        return not self.pins or pins in self.pins


@dataclass(frozen=True)
class Defect:
    id: str
    title: str
    section: str
    severity: str
    fix: str
    detect: str  # "static" or "cluster"
    static: tuple[Expected, ...] = field(default_factory=tuple)
    check: str = ""
    why_not_static: str = ""
    observable: Observable | None = None  # what a step's evidence must show when this defect breaks it


@lru_cache(maxsize=1)
def load() -> dict[str, Defect]:
    data: dict[str, Any] = yaml.safe_load((MANIFESTS / "defects.yaml").read_text())
    out = {}
    for d in data["defects"]:
        exp = tuple(Expected(e["rule"], e["object"], tuple(e.get("pins", ()))) for e in d.get("static", []))
        out[d["id"]] = Defect(
            d["id"],
            d["title"],
            d["section"],
            d["severity"],
            d["fix"],
            d["detect"],
            exp,
            d.get("check", ""),
            d.get("why_not_static", ""),
            parse(d.get("observable"), f"manifests/defects.yaml {d['id']}"),
        )
    return out


def expected_findings(pins: str) -> set[tuple[str, str, str]]:
    """(defect, rule, object) keys the as-written profile must report with these pins."""
    return {(d.id, e.rule, e.obj) for d in load().values() for e in d.static if e.applies(pins)}


def tag(findings: Iterable[Finding]) -> list[Finding]:
    """Findings with their catalog defect ID where (rule, object) is a catalog expectation with any pins: the
    rules stay general and never name a defect; the tutorial's knowledge is here."""
    by_key = {(r, o): d for pins in PINS for d, r, o in expected_findings(pins)}
    return [f if f.defect == (d := by_key.get((f.rule, f.obj))) else dataclasses.replace(f, defect=d) for f in findings]
