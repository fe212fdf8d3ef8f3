"""``artifacts/report.html``: one self-contained page per run (no script, no external file), for a person.

Per profile and pins: what ran (backend, images built here and their differences), then the tutorial's sections
in order, each step's verdict, its duration drawn on the run's timeline, its evidence (traffic counts, the log
line that shows a defect) folded under it, and for every defect the run met, its fix from the catalog.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.verdicts import timeline
from argo_tutorial_suite.verdicts.steps import FAILED, NOT_VERIFIED, PASSED, StepRecord, known_defects, one_line

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#fafafa;color:#222;max-width:80rem}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #ccc}h3{font-size:1rem;margin:1rem 0 .3rem}
.counts span{display:inline-block;margin-right:.8rem;padding:.15rem .5rem;border-radius:.3rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;table-layout:fixed}
th:nth-child(1){width:30%}th:nth-child(2){width:12%}th:nth-child(3){width:5%}th:nth-child(4){width:13%}td,th{border-bottom:1px solid #ddd;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}.v{white-space:nowrap;font-weight:600}
.passed{background:#c8efc8}.failed{background:#f6b8b8}.known{background:#fde0a8}.notverified{background:#e4e4f4}
.bar{position:relative;height:.8rem;background:#eee;overflow:hidden}td{overflow:hidden}
.glance{width:auto;min-width:40rem}.glance td,.glance th{text-align:right;padding:.3rem .8rem}.glance td:first-child,.glance th:first-child{text-align:left}.bar i{position:absolute;top:0;bottom:0;background:#6a8fd8}
.timeline th:nth-child(1){width:30%}.timeline th:nth-child(2),.timeline th:nth-child(3){width:7%}.timeline th:nth-child(4){width:56%}
.timeline tr.lane td{font-weight:600;background:#f0f0f0}.timeline tr.test i{background:#8fbf8f}
details{font-size:.85rem}pre{white-space:pre-wrap;margin:.2rem 0;font-size:.8rem}.ran{font-size:.9rem}
"""


def _class(verdict: str) -> str:
    if verdict == PASSED:
        return "passed"
    if verdict == FAILED:
        return "failed"
    if known_defects(verdict):
        return "known"
    return "notverified" if verdict == NOT_VERIFIED else "failed"


def _evidence(r: StepRecord) -> str:
    e = html.escape
    items = [(k, REDACTOR.text(str(v))[:1500]) for k, v in sorted(r.evidence.items()) if v not in (None, "", {}, [])]
    if r.observed and r.observed != r.verdict:
        items.insert(0, ("observed", r.observed))
    if not items:
        return ""
    body = "".join(f"<div><b>{e(k)}</b><pre>{e(v)}</pre></div>" for k, v in items)
    return f"<details><summary>evidence</summary>{body}</details>"


def _timeline(spans: Sequence[timeline.Span]) -> list[str]:
    """The run on one wall clock: a lane per main job and per cluster, a row per phase or test, each a bar at its
    start with its length; clusters side by side overlap."""
    e = html.escape
    t0, total = timeline.extent(spans)
    if total <= 0:
        return []
    parts = [f'<h2 id="timeline">Run timeline</h2><p class="counts">{total / 60:.1f} min from first start to last end'
             + "".join(f"; slowest: {e(s.name)} ({e(s.lane)}) {s.seconds:.0f}s" if i == 0 else f", {e(s.name)} {s.seconds:.0f}s"
                       for i, s in enumerate(timeline.slowest(spans)))
             + '</p><table class="timeline"><tr><th>lane, phase or test</th><th>starts</th><th>takes</th><th>on the wall clock</th></tr>']  # fmt: skip
    for lane, items in timeline.lanes(spans):
        a, b = min(s.start for s in items), max(s.start + s.seconds for s in items)
        parts.append(f'<tr class="lane"><td>{e(lane)}</td><td>+{a - t0:.0f}s</td><td>{b - a:.0f}s</td>'
                     f'<td><div class="bar"><i style="left:{100 * (a - t0) / total:.2f}%;width:{max(100 * (b - a) / total, 0.3):.2f}%"></i></div></td></tr>')  # fmt: skip
        for sp in items:
            left, width = 100 * (sp.start - t0) / total, max(100 * sp.seconds / total, 0.3)
            parts.append(f'<tr class="{e(sp.kind)}"><td>{e(sp.name)}</td><td>+{sp.start - t0:.0f}s</td><td>{sp.seconds:.1f}s</td>'
                         f'<td><div class="bar"><i style="left:{left:.2f}%;width:{width:.2f}%"></i></div></td></tr>')  # fmt: skip
    parts.append("</table>")
    return parts


def _glance(records: list[StepRecord], profiles: list[str], spans: Sequence[timeline.Span]) -> list[str]:
    """What a reader sees first: per profile, the counts by verdict; the run's wall clock and slowest phases."""
    e = html.escape
    rows = []
    for prof in profiles:
        counts = {k: 0 for k in ("passed", "known", "notverified", "failed")}
        for r in records:
            if r.profile == prof:
                counts[_class(r.verdict)] += 1
        cells = "".join(f'<td class="{k if n else ""}">{n}</td>' for k, n in counts.items())
        rows.append(f'<tr><td><a href="#{e(prof)}">{e(prof)}</a></td>{cells}</tr>')
    head = "<tr><th>profile</th><th>passed</th><th>known defect</th><th>not verified here</th><th>failed</th></tr>"
    out = [f'<table class="glance">{head}{"".join(rows)}</table>']
    out += [f'<p class="counts">{e(line)}</p>' for line in timeline.summary(spans)]
    return out


def page(records: list[StepRecord], ran: Mapping[str, str] | None = None, fixes: Mapping[str, Any] | None = None,
         title: str = "Argo hands-on tutorial: the run", spans: Sequence[timeline.Span] = ()) -> str:  # fmt: skip
    """The page; ``ran``: profile -> what ran; ``fixes``: defect ID -> (title, fix); ``spans``: the run's
    timeline (main job phases, each cluster's set-up phases and tests)."""
    e = html.escape
    ran = ran or {}
    fixes = fixes or {}
    profiles = list(dict.fromkeys(r.profile for r in records))
    parts = [
        f"<h1>{e(title)}</h1>",
        *_glance(records, profiles, spans),
        '<nav class="toc">' + " · ".join(f'<a href="#{e(p)}">{e(p)}</a>' for p in profiles)
        + (' · <a href="#timeline">run timeline</a>' if spans else "") + "</nav>",
    ]  # fmt: skip
    for prof in profiles:
        rows = [r for r in records if r.profile == prof]
        counts: dict[str, int] = {}
        for r in rows:
            counts[_class(r.verdict)] = counts.get(_class(r.verdict), 0) + 1
        total = sum(r.seconds for r in rows) or 1.0
        parts.append(f'<h2 id="{e(prof)}">{e(prof)}</h2>')
        parts.append('<p class="counts">' + "".join(
            f'<span class="{k}">{n} {label}</span>'
            for k, label in (("passed", "passed"), ("known", "known defect"), ("notverified", "not verified here"), ("failed", "failed"))
            if (n := counts.get(k, 0))
        ) + f"<span>{sum(r.seconds for r in rows) / 60:.1f} min of steps</span></p>")  # fmt: skip
        if prof in ran:
            what = REDACTOR.text(ran[prof]).removeprefix("what ran:").strip()
            parts.append(f'<p class="ran"><b>What ran:</b> {e(what)}</p>')
        start = 0.0
        for section in dict.fromkeys(r.section for r in rows):
            parts.append(
                f"<h3>{e(section)}</h3><table><tr><th>step</th><th>verdict</th><th>time</th><th>timeline</th><th>detail</th></tr>"
            )
            for r in [x for x in rows if x.section == section]:
                left, width = 100 * start / total, max(100 * r.seconds / total, 0.3)
                start += r.seconds
                parts.append(
                    f'<tr><td>{e(one_line(r.step))}</td><td class="v {_class(r.verdict)}">{e(r.verdict)}</td>'
                    f"<td>{r.seconds:.1f}s</td>"
                    f'<td><div class="bar"><i style="left:{left:.2f}%;width:{width:.2f}%"></i></div></td>'
                    f"<td>{e(REDACTOR.text(one_line(r.detail))[:400])}{_evidence(r)}</td></tr>"
                )
            parts.append("</table>")
        met = sorted(
            {d for r in rows for d in known_defects(r.verdict)}, key=lambda d: int(d[1:]) if d[1:].isdigit() else 0
        )
        if met:
            parts.append('<h3>Defects met, and their fixes</h3><ul class="fixes">')
            for d in met:
                t, fix = fixes.get(d, ("", ""))
                parts.append(f"<li><b>{e(d)}</b> {e(t)}: <i>fix:</i> {e(fix)}</li>")
            parts.append("</ul>")
    parts += _timeline(spans)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{CSS}</style>'
        f"</head><body>{''.join(parts)}</body></html>\n"
    )
