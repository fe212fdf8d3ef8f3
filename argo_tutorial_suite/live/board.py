"""The board: participants by tutorial steps, in the terminal, in Markdown, as JSON, and as one self-contained
HTML page an instructor can project (no script, no external file: it renders offline, anywhere)."""

from __future__ import annotations

import html
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from argo_tutorial_suite.live.progress import Reach, Step, furthest
from argo_tutorial_suite.live.snapshot import Snapshot
from argo_tutorial_suite.redact import REDACTOR

Say = Callable[[str, str], None]  # (participant, what is happening)
_LOCK = threading.Lock()


def to_stderr(participant: str, what: str) -> None:
    """A progress line per participant and phase (clusters are read side by side: one line at a time)."""
    with _LOCK:
        print(f"[live] {participant}: {what}", file=sys.stderr, flush=True)


def quiet(_participant: str, _what: str) -> None:
    return None


@dataclass
class Row:
    """One participant's line of the board."""

    participant: str
    source: str
    steps: list[Step]
    snapshot: Snapshot | None = None
    problems: list[str] = field(default_factory=list)
    probe: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def on_track(self) -> bool:
        return not any(s.reach is Reach.STUCK for s in self.steps) and not self.problems

    @property
    def where(self) -> str:
        return furthest(self.steps)


def _columns(rows: list[Row]) -> list[tuple[str, str]]:
    """(step key, title) in the tutorial's order, over every row."""
    seen: dict[str, str] = {}
    for r in rows:
        for s in r.steps:
            seen.setdefault(s.key, s.title)
    return list(seen.items())


def _cell(row: Row, key: str) -> Step | None:
    cells = [s for s in row.steps if s.key == key]
    if not cells:
        return None
    stuck = [s for s in cells if s.reach is Reach.STUCK]
    return stuck[0] if stuck else cells[0]


def _clean(text: str) -> str:
    return REDACTOR.text(" ".join(text.split()))


SHORT = {Reach.REACHED: "ok", Reach.STUCK: "STUCK", Reach.NOT_YET: "·", Reach.UNREAD: "?"}


def text(rows: list[Row]) -> str:
    """One line per participant (where they are), then one line per stuck or unread step: ``participant: step:
    why [defect] fix: ...`` (grep-able, as linters print)."""
    out = []
    width = max((len(r.participant) for r in rows), default=10)
    cols = _columns(rows)
    out.append(f"{'participant':<{width}}  " + " ".join(f"{i + 1:>2}" for i in range(len(cols))) + "  where")
    for r in rows:
        marks = " ".join(f"{SHORT[c.reach] if (c := _cell(r, k)) else ' ':>2}"[-2:] for k, _t in cols)
        out.append(f"{r.participant:<{width}}  {marks}  {r.where} ({r.seconds:.1f}s)")
    out.append("steps: " + "; ".join(f"{i + 1} {t}" for i, (_k, t) in enumerate(cols)))
    for r in rows:
        for p in r.problems:
            out.append(f"{r.participant}: cluster: {_clean(p)}")
        for s in r.steps:
            if s.reach in (Reach.STUCK, Reach.UNREAD):
                tag = f" [{s.defect}]" if s.defect else ""
                fix = f" fix: {s.fix}" if s.fix else ""
                out.append(f"{r.participant}: {s.title}: {s.reach.value}: {_clean(s.detail)[:400]}{tag}{fix}")
        for line in r.probe:
            out.append(f"{r.participant}: probe: {_clean(line)}")
    stuck = sum(not r.on_track for r in rows)
    out.append(f"{len(rows)} participant(s): {len(rows) - stuck} on track, {stuck} stuck or unreachable")
    return "\n".join(out) + "\n"


def markdown(rows: list[Row]) -> str:
    cols = _columns(rows)
    out = ["| participant | " + " | ".join(t for _k, t in cols) + " | where |", "|" + "---|" * (len(cols) + 2)]
    for r in rows:
        cells = []
        for k, _t in cols:
            c = _cell(r, k)
            cells.append("" if c is None else (c.reach.value + (f" ({c.defect})" if c.defect else "")))
        out.append(f"| {r.participant} | " + " | ".join(cells) + f" | {_clean(r.where)} |")
    out.append("")
    for r in rows:
        lines = [f"- {p}" for p in r.problems] + [
            f"- **{s.title}**: {s.reach.value}: {_clean(s.detail)}"
            + (f" — {s.defect}, fix: {s.fix}" if s.defect else "")
            for s in r.steps
            if s.reach in (Reach.STUCK, Reach.UNREAD)
        ]
        if lines:
            out += [f"### {r.participant}", *lines, ""]
    return "\n".join(out) + "\n"


def as_json(rows: list[Row]) -> str:
    return json.dumps(
        [
            {
                "participant": r.participant,
                "source": r.source,
                "on_track": r.on_track,
                "where": r.where,
                "seconds": round(r.seconds, 2),
                "problems": [_clean(p) for p in r.problems],
                "probe": [_clean(p) for p in r.probe],
                "steps": [
                    {
                        "key": s.key,
                        "section": s.section,
                        "title": s.title,
                        "reach": s.reach.value,
                        "detail": _clean(s.detail),
                        "defect": s.defect,
                        "fix": s.fix,
                    }
                    for s in r.steps
                ],
            }
            for r in rows
        ],
        indent=2,
    )


CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#fafafa;color:#222}
h1{font-size:1.4rem}table{border-collapse:collapse;font-size:.9rem;width:100%;table-layout:fixed}
th,td{border:1px solid #ccc;padding:.3rem .35rem;text-align:center;overflow-wrap:anywhere}
th{background:#eee;font-weight:600;font-size:.75rem}th.s{background:#ddd;font-size:.85rem}th:first-child{width:9rem}
td.p{text-align:left;font-weight:600}td.w{text-align:left}
.reached{background:#c8efc8}.stuck{background:#f6b8b8;font-weight:700}.notyet{background:#f2f2f2;color:#888}
.unread{background:#fde9a8}.details{margin-top:1.5rem}.details li{margin:.25rem 0}code{font-size:.9em}
"""
CLASS = {Reach.REACHED: "reached", Reach.STUCK: "stuck", Reach.NOT_YET: "notyet", Reach.UNREAD: "unread"}


def html_page(rows: list[Row], title: str = "Argo tutorial: where each participant is") -> str:
    cols = _columns(rows)
    e = html.escape
    head = "".join(f"<th>{e(t)}</th>" for _k, t in cols)
    section_of = {s.key: s.section for r in rows for s in r.steps}
    spans: list[list[object]] = []
    for k, _t in cols:
        if spans and spans[-1][0] == section_of[k]:
            spans[-1][1] = int(str(spans[-1][1])) + 1
        else:
            spans.append([section_of[k], 1])
    sections = "".join(f'<th class="s" colspan="{n}">{e(str(sec))}</th>' for sec, n in spans)
    body = []
    for r in rows:
        cells = []
        for k, _t in cols:
            c = _cell(r, k)
            if c is None:
                cells.append("<td></td>")
            else:
                label = c.reach.value + (f" {c.defect}" if c.defect else "")
                cells.append(f'<td class="{CLASS[c.reach]}" title="{e(_clean(c.detail))}">{e(label)}</td>')
        body.append(f'<tr><td class="p">{e(r.participant)}</td>{"".join(cells)}<td class="w">{e(r.where)}</td></tr>')
    details = []
    for r in rows:
        items = [f"<li>{e(_clean(p))}</li>" for p in r.problems] + [
            f"<li><b>{e(s.title)}</b>: {e(s.reach.value)}: <code>{e(_clean(s.detail))}</code>"
            + (f" — <b>{e(s.defect)}</b>, fix: {e(s.fix or '')}" if s.defect else "")
            + "</li>"
            for s in r.steps
            if s.reach in (Reach.STUCK, Reach.UNREAD)
        ]
        if items:
            details.append(f"<h2>{e(r.participant)}</h2><ul>{''.join(items)}</ul>")
    stuck = sum(not r.on_track for r in rows)
    summary = f"{len(rows)} participant(s): {len(rows) - stuck} on track, {stuck} stuck or unreachable"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{CSS}</style></head>'
        f'<body><h1>{e(title)}</h1><p id="summary">{e(summary)}</p>'
        f'<table id="board"><thead><tr><th class="s"></th>{sections}<th class="s"></th></tr>'
        f"<tr><th>participant</th>{head}<th>where</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<div class="details">{"".join(details)}</div></body></html>\n'
    )
