"""``artifacts/report.html`` from a real kind run's recorded steps (``manifests/evidence/kind-current.json``),
rendered in a real headless browser: what a reader sees first, and that the colours are painted."""

from __future__ import annotations

import json
import re
from pathlib import Path

from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.verdicts import steps, timeline
from tests.browser import colours, render


def recorded() -> tuple[list[steps.StepRecord], dict[str, str]]:
    data = json.loads((MANIFESTS / "evidence" / "kind-current.json").read_text())
    fields = set(steps.StepRecord.__dataclass_fields__)
    return [steps.StepRecord(**{k: v for k, v in r.items() if k in fields}) for r in data["records"]], data["ran"]


def test_the_report_page_of_a_real_run(tmp_path: Path) -> None:
    records, ran = recorded()
    written = steps.write(records, tmp_path, ran)
    report = tmp_path / "report.html"
    assert report in written and "<script" not in report.read_text()
    dom = render(report, tmp_path / "report.png", width=1400, height=1000)
    profiles = sorted({r.profile for r in records})
    assert profiles == ["as-written@current", "corrected@current"]
    for p in profiles:
        assert f'<h2 id="{p}">{p}</h2>' in dom
    assert "What ran:" in dom and "Defects met, and their fixes" in dom
    # first, at a glance: per profile, the counts by verdict
    glance = dom[dom.index('<table class="glance">') :].split("</table>")[0]
    assert dom.index('<table class="glance">') < dom.index(f'<h2 id="{profiles[0]}">')
    for p in profiles:
        passed = sum(1 for r in records if r.profile == p and r.verdict == steps.PASSED)
        assert re.search(rf'{re.escape(p)}</a></td><td class="passed">{passed}</td>', glance), glance
    first_section = next(r.section for r in records if r.profile == "as-written@current")
    assert f"<h3>{first_section}</h3>" in dom
    shown = [d for r in records for d in steps.known_defects(r.verdict)]
    assert shown and all(f"<b>{d}</b>" in dom for d in set(shown))  # every defect met has its fix on the page
    seen = colours(tmp_path / "report.png")
    assert seen[(0xC8, 0xEF, 0xC8)] > 200, seen.most_common(8)  # passed cells painted green, above the fold


def spans_of_a_side_by_side_run() -> list[timeline.Span]:
    t = 1_800_000_000.0
    job = [("python venv", 0, 2), ("engine", 2, 0), ("node image (current)", 2, 30), ("stack images (current)", 32, 40)]
    spans = [timeline.Span(timeline.MAIN_JOB, n, t + a, s) for n, a, s in job]
    for lane, lag in (("cluster as-written@current", 0.0), ("cluster corrected@current", 5.0)):
        spans += [
            timeline.Span(lane, "cluster", t + 72 + lag, 40),
            timeline.Span(lane, "install the stack", t + 112 + lag, 300 + lag),
            timeline.Span(lane, "test_tutorial", t + 420 + lag, 280, "test"),
        ]
    return spans


def test_the_run_timeline_draws_the_phases_and_the_clusters_side_by_side(tmp_path: Path) -> None:
    records, ran = recorded()
    spans = spans_of_a_side_by_side_run()
    written = steps.write(records, tmp_path, ran, spans)
    assert tmp_path / "timeline.json" in written
    assert timeline.loads((tmp_path / "timeline.json").read_text()) == timeline.merge(spans)
    dom = render(tmp_path / "report.html", tmp_path / "report.png", width=1400, height=1000)
    assert '<h2 id="timeline">Run timeline</h2>' in dom and 'href="#timeline"' in dom
    lanes = re.findall(r'<tr class="lane"><td>([^<]+)</td><td>\+(\d+)s</td><td>(\d+)s</td>', dom)
    assert [(n, int(a)) for n, a, _ in lanes] == [
        ("main job", 0),
        ("cluster as-written@current", 72),
        ("cluster corrected@current", 77),
    ]
    # the clusters overlap on the wall clock: the second starts before the first ends
    assert int(lanes[2][1]) < int(lanes[1][1]) + int(lanes[1][2])
    assert "slowest: install the stack (cluster corrected@current) 305s" in dom
    assert "<td>stack images (current)</td><td>+32s</td><td>40.0s</td>" in dom


def test_the_timeline_reads_each_span_once_in_order_and_nothing_from_garbage() -> None:
    spans = spans_of_a_side_by_side_run()
    assert timeline.merge([*spans, *reversed(spans)]) == sorted(spans, key=lambda s: (s.start, s.lane))
    assert next(lane for lane, _ in timeline.lanes(list(reversed(spans)))) == timeline.MAIN_JOB
    _, total = timeline.extent(spans)
    assert total == 420 + 5 + 280 and timeline.extent([]) == (0.0, 0.0)
    assert timeline.loads("not json") == [] and timeline.loads('[{"lane": "x"}]') == []
    first, slow = timeline.summary(spans)
    assert first.startswith("run timeline: 11.8 min wall clock: main job 1.2 min, cluster as-written@current ")
    assert slow.startswith("slowest phases: install the stack (corrected@current) 305s, install the stack (as-written")
    assert timeline.summary([s for s in spans if s.kind == "test"]) == []  # no set-up phase: nothing to say
    run = timeline.Span(timeline.MAIN_JOB, timeline.RUN, spans[-1].start - 600, 900)
    assert run not in timeline.slowest([*spans, run])  # the run holds the clusters' phases: never the slowest
