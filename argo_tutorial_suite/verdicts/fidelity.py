"""The sim measured against kind (pure, plus two small file helpers): each run keeps its step records per
backend kind under ``artifacts/runs/``, and ``artifacts/fidelity.md`` sets the sim's and kind's verdicts side by
side, step by step, for each profile and pins set, with each step's duration on both.

A disagreement is a row where both backends gave a verdict and what each step saw differs (on kind, a step
decided by another release or a stand-in reads "not verified here" but keeps what it saw, ``StepRecord.seen``,
and that is what is compared: the twin is measured against the program that ran). "not verified here" on
one side is not a disagreement (the sim cannot model that step, or kind ran without that component's
images): it is listed as "not compared". Every disagreement is either fixed (usually in a twin) or explained
in ``manifests/fidelity-notes.yaml``, matched by scenario, profile and step; an explained one says why.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.verdicts.steps import NOT_VERIFIED, StepRecord, dumps, loads

NOTES = MANIFESTS / "fidelity-notes.yaml"


def backend_kind(label: str) -> str | None:
    """``sim`` or ``kind`` from a verdict row's backend column; None for static or existing-cluster rows."""
    if label == "simulated":
        return "sim"
    if label.startswith("real (kind"):
        return "kind"
    return None


def scenario_name(nodeid: str) -> str:
    """``scenarios/test_tutorial.py::test_tutorial[corrected@tutorial-2023]`` -> ``test_tutorial``: the same
    scenario on both backends (the parameters differ only by backend-specific ids)."""
    return nodeid.split("::")[-1].split("[")[0]


Key = tuple[str, str, str]  # (scenario, profile, step)


def key_of(r: StepRecord) -> Key:
    return (scenario_name(r.scenario), r.profile, r.step)


def keyed(records: Iterable[StepRecord]) -> list[tuple[Key, StepRecord]]:
    """Each record with its key, in order; a step a scenario plays again (the Workflow of v1, then of v2) gets
    ``(#2)``, ``(#3)`` ... so that each occurrence meets its own counterpart on the other backend."""
    seen: dict[Key, int] = {}
    out = []
    for r in records:
        k = key_of(r)
        seen[k] = seen.get(k, 0) + 1
        out.append(((k[0], k[1], k[2] + (f" (#{seen[k]})" if seen[k] > 1 else "")), r))
    return out


@dataclass(frozen=True)
class Note:
    scenario: str
    step: str
    why: str
    profile: str = ""

    def matches(self, key: Key) -> bool:
        scenario, profile, step = key
        return self.scenario == scenario and self.step in step and (not self.profile or self.profile == profile)


def read_notes(text: str) -> list[Note]:
    data = yaml.safe_load(text) or {}
    out = []
    for i, n in enumerate(data.get("notes") or []):
        if not isinstance(n, dict) or not all(
            isinstance(n.get(k), str) and n.get(k) for k in ("scenario", "step", "why")
        ):
            raise ValueError(f"fidelity note #{i + 1}: needs scenario, step and why (strings)")
        out.append(Note(n["scenario"], n["step"], n["why"], str(n.get("profile") or "")))
    return out


@dataclass(frozen=True)
class Row:
    key: Key
    sim: StepRecord | None
    kind: StepRecord | None
    note: str = ""

    @property
    def compared(self) -> bool:
        return self.sim is not None and self.kind is not None and NOT_VERIFIED not in (self.sim.seen, self.kind.seen)

    @property
    def agree(self) -> bool:
        return self.compared and self.sim is not None and self.kind is not None and self.sim.seen == self.kind.seen

    @property
    def status(self) -> str:
        if not self.compared:
            return "not compared"
        if self.agree:
            return "agree"
        return "explained" if self.note else "DISAGREE"


def compare(sim: Iterable[StepRecord], kind: Iterable[StepRecord], notes: list[Note]) -> list[Row]:
    """One row per (scenario, profile, step) seen on either backend, in the order first seen."""
    by: dict[Key, dict[str, StepRecord]] = {}
    for side, records in (("sim", sim), ("kind", kind)):
        for key, r in keyed(records):
            by.setdefault(key, {})[side] = r
    rows = []
    for key, sides in by.items():
        note = next((n.why for n in notes if n.matches(key)), "")
        rows.append(Row(key, sides.get("sim"), sides.get("kind"), note))
    return rows


def unexplained(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.status == "DISAGREE"]


def _cell(r: StepRecord | None) -> str:
    if r is None:
        return "-"
    return r.verdict if not r.observed else f"{r.verdict} ({r.observed} on what ran)"


def _secs(r: StepRecord | None) -> str:
    return "-" if r is None else f"{r.seconds:.1f}"


def markdown(rows: list[Row]) -> str:
    counts = {s: sum(1 for r in rows if r.status == s) for s in ("agree", "explained", "DISAGREE", "not compared")}
    out = [
        "# Fidelity: the simulated backend against real kind",
        "",
        "Written by the run from `artifacts/runs/{sim,kind}.json`; "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + ".",
        "",
        "| scenario | profile | step | sim | kind | sim s | kind s | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        scenario, profile, step = r.key
        status = r.status + (f": {r.note}" if r.note else "")
        cells = [scenario, profile, step, _cell(r.sim), _cell(r.kind), _secs(r.sim), _secs(r.kind), status]
        out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(out) + "\n"


def replacing(earlier: list[StepRecord], new: list[StepRecord]) -> list[StepRecord]:
    """``earlier`` with every (scenario, profile) that ``new`` played again replaced by ``new``'s records: a step a
    scenario no longer reaches does not linger."""
    again = {key_of(r)[:2] for r in new}
    return [r for r in earlier if key_of(r)[:2] not in again] + new


# -- files ------------------------------------------------------------------------------------------------------
def save_run(records: list[StepRecord], runs_dir: Path) -> list[Path]:
    """Merge this run's sim and kind records into ``runs_dir/{sim,kind}.json``: a scenario run again for a profile
    replaces all of its earlier records (a step it no longer reaches does not linger); return the files written."""
    written = []
    for side in ("sim", "kind"):
        mine = [r for r in records if backend_kind(r.backend) == side]
        if not mine:
            continue
        runs_dir.mkdir(parents=True, exist_ok=True)
        path = runs_dir / f"{side}.json"
        # two runs side by side (the profiles, or xdist workers) merge one at a time, and a reader never sees
        # half a file
        with open(runs_dir / f".{side}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            earlier = loads(path.read_text()) if path.exists() else []
            merged = replacing(earlier, mine)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(dumps(merged))
            tmp.replace(path)
        written.append(path)
    return written


def write_report(runs_dir: Path, dest: Path, notes_text: str | None = None) -> Path | None:
    """``dest`` from the saved runs, when both backends have one."""
    sim, kind = runs_dir / "sim.json", runs_dir / "kind.json"
    if not (sim.exists() and kind.exists()):
        return None
    notes = read_notes(notes_text if notes_text is not None else (NOTES.read_text() if NOTES.exists() else ""))
    rows = compare(loads(sim.read_text()), loads(kind.read_text()), notes)
    dest.write_text(markdown(rows))
    return dest
