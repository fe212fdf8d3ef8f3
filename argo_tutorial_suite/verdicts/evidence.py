"""Committed records of real runs, and the sim held to them.

``manifests/evidence/<side>-<pins>.json`` (side ``kind`` or ``sim``) keeps the step records of a run (redacted,
paths relative to the project, evidence reduced to text) with what ran per component, written by
``pytest scenarios ... --record-evidence``. CI has no kind cluster: it runs every scenario on the sim with
``--compare-evidence``, and each sim step is compared with the kind evidence of its pins set by what each step saw
(:mod:`argo_tutorial_suite.verdicts.fidelity`); a disagreement without a note in ``manifests/fidelity-notes.yaml`` fails the run.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from argo_tutorial_suite.paths import MANIFESTS, ROOT
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.verdicts import fidelity
from argo_tutorial_suite.verdicts.steps import StepRecord

EVIDENCE = MANIFESTS / "evidence"
EVIDENCE_VERSION = 1
EVIDENCE_TEXT = 2000  # each evidence value is kept as text, up to this long


class EvidenceError(ValueError):
    """An evidence file that cannot be read; the message names it and how to record it again."""


def relative(text: str) -> str:
    """Paths of this machine made relative: the project as ``.``, the home folder as ``~``, pytest's temporary
    folders as ``<tmp>``."""
    text = text.replace(str(ROOT), ".")
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        text = text.replace(home, "~")
    return re.sub(r"/tmp/pytest-of-[^/\s]+/pytest-\d+/[^/\s]+", "<tmp>", text)


def clean(r: StepRecord) -> StepRecord:
    """A record as committed: redacted, relative paths, evidence as bounded text."""
    return StepRecord(
        r.scenario,
        r.profile,
        r.step,
        r.section,
        r.verdict,
        relative(r.backend),
        round(r.seconds, 1),
        relative(REDACTOR.text(r.detail)),
        {k: relative(REDACTOR.text(str(v)))[:EVIDENCE_TEXT] for k, v in r.evidence.items()},
        list(r.decided_by),
        r.observed,
    )


@dataclass
class Evidence:
    side: str  # "kind" or "sim"
    pins: str
    records: list[StepRecord] = field(default_factory=list)
    ran: dict[str, str] = field(default_factory=dict)  # profile -> what ran (components.summary)
    recorded: str = ""
    version: int = EVIDENCE_VERSION

    def to_json(self) -> str:
        data = {
            "version": self.version,
            "side": self.side,
            "pins": self.pins,
            "recorded": self.recorded,
            "ran": self.ran,
            "records": [asdict(r) for r in self.records],
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def path_of(side: str, pins: str, root: Path = EVIDENCE) -> Path:
    return root / f"{side}-{pins}.json"


def load(side: str, pins: str, root: Path = EVIDENCE) -> Evidence | None:
    path = path_of(side, pins, root)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("version") != EVIDENCE_VERSION or data.get("side") != side or data.get("pins") != pins:
            raise ValueError(f"version {data.get('version')}, side {data.get('side')}, pins {data.get('pins')}")
        records = [StepRecord(**r) for r in data["records"]]
    except (ValueError, KeyError, TypeError) as e:
        raise EvidenceError(
            f"{path}: not evidence of {side} for {pins} ({e}); record it again: pytest scenarios "
            f"--backend={side} --pins {pins} --record-evidence"
        ) from None
    return Evidence(side, pins, records, dict(data.get("ran") or {}), str(data.get("recorded", "")))


def scenario_weights(root: Path = EVIDENCE) -> dict[str, float]:
    """Seconds of steps per scenario (``test_tutorial[corrected-current]``) in the committed kind evidence: how
    long each scenario takes, to start the longest first. Empty where there is none, or it cannot be read."""
    weights: dict[str, float] = {}
    for path in sorted(root.glob("kind-*.json")) if root.is_dir() else []:
        try:
            ev = load("kind", path.stem.removeprefix("kind-"), root)
        except EvidenceError:
            continue
        for r in ev.records if ev else []:
            name = r.scenario.split("::")[-1]
            weights[name] = weights.get(name, 0.0) + r.seconds
    return weights


def pins_of(r: StepRecord) -> str:
    return r.profile.rsplit("@", 1)[-1]


def record(
    records: Iterable[StepRecord], ran: Mapping[str, str], root: Path = EVIDENCE, now: str | None = None
) -> list[Path]:
    """Merge this run's sim and kind records into the evidence files, per pins set: a (scenario, profile) run
    again replaces its earlier records."""
    written = []
    mine = [r for r in records if fidelity.backend_kind(r.backend) is not None]
    for side in ("kind", "sim"):
        for pins in sorted({pins_of(r) for r in mine if fidelity.backend_kind(r.backend) == side}):
            new = [clean(r) for r in mine if fidelity.backend_kind(r.backend) == side and pins_of(r) == pins]
            root.mkdir(parents=True, exist_ok=True)
            path = path_of(side, pins, root)
            with open(root / f".{side}-{pins}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                old = load(side, pins, root) or Evidence(side, pins)
                profiles = {r.profile for r in new}
                ev = Evidence(
                    side,
                    pins,
                    fidelity.replacing(old.records, new),
                    {**old.ran, **{p: relative(s) for p, s in ran.items() if p in profiles}},
                    now or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                )
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(ev.to_json())
                tmp.replace(path)
            written.append(path)
    return written


@dataclass(frozen=True)
class Comparison:
    pins: str
    rows: list[fidelity.Row]
    missing: str = ""  # why there is nothing to compare with ("" when there is)

    @property
    def bad(self) -> list[fidelity.Row]:
        return fidelity.unexplained(self.rows)

    @property
    def compared(self) -> int:
        return sum(1 for r in self.rows if r.compared)


def compare_sim(sim: Iterable[StepRecord], notes: list[fidelity.Note], root: Path = EVIDENCE) -> list[Comparison]:
    """This run's sim records against the committed kind evidence of each pins set they cover. Only the
    (scenario, profile) pairs this run played are compared (a partial run is held to its part)."""
    mine = [r for r in sim if fidelity.backend_kind(r.backend) == "sim"]
    out = []
    for pins in sorted({pins_of(r) for r in mine}):
        ran = [r for r in mine if pins_of(r) == pins]
        kind = load("kind", pins, root)
        if kind is None:
            out.append(Comparison(pins, [], f"no kind evidence for {pins} ({path_of('kind', pins, root)})"))
            continue
        played = {fidelity.key_of(r)[:2] for r in ran}
        theirs = [r for r in kind.records if fidelity.key_of(r)[:2] in played]
        out.append(Comparison(pins, fidelity.compare(ran, theirs, notes)))
    return out


def lines(comparisons: list[Comparison]) -> list[str]:
    """The terminal summary: per pins set, the counts, then each disagreement."""
    out = []
    for c in comparisons:
        if c.missing:
            out.append(f"sim vs kind evidence, {c.pins}: {c.missing}")
            continue
        out.append(
            f"sim vs kind evidence, {c.pins}: {c.compared} steps compared, {len(c.bad)} disagree unexplained "
            f"({path_of('kind', c.pins).relative_to(ROOT)})"
        )
        for r in c.bad:
            scenario, profile, step = r.key
            out.append(
                f"  DISAGREE {scenario} {profile} / {step}: sim {r.sim.seen if r.sim else '-'}, "
                f"kind {r.kind.seen if r.kind else '-'}"
            )
    return out


def as_dict(c: Comparison) -> dict[str, Any]:
    return {"pins": c.pins, "compared": c.compared, "disagree": len(c.bad), "missing": c.missing}
