"""``artifacts/report.html`` from a real kind run's recorded steps (``manifests/evidence/kind-current.json``),
rendered in a real headless browser: what a reader sees first, and that the colours are painted."""

from __future__ import annotations

import json
from pathlib import Path

from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.verdicts import steps
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
    first_section = next(r.section for r in records if r.profile == "as-written@current")
    assert f"<h3>{first_section}</h3>" in dom
    shown = [d for r in records for d in steps.known_defects(r.verdict)]
    assert shown and all(f"<b>{d}</b>" in dom for d in set(shown))  # every defect met has its fix on the page
    seen = colours(tmp_path / "report.png")
    assert seen[(0xC8, 0xEF, 0xC8)] > 200, seen.most_common(8)  # passed cells painted green, above the fold
