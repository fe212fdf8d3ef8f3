"""A tutorial step is the unit of verdict (``design.md``).

``with steps.step("Fire the GitHub webhook", section="CI: Argo Events") as s:`` times the step, records
its outcome and keeps the evidence of a failure. A step the catalog expects to break in the
as-written profile is declared with ``defect="D18"``: if it fails, its verdict is "known defect D18"
and the scenario goes on with what the tutorial's reader would see; if it passes, the defect did not
show (fixed upstream, or the suite is wrong) and the step fails as an unexpected pass (strict, like
``xfail(strict=True)``), so a nightly run turns red and somebody looks.

The verdict table, the Markdown file and the JUnit XML are all rendered from these records here,
nowhere else.
"""

from __future__ import annotations

import dataclasses
import html
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.verdicts import live
from argo_tutorial_suite.verdicts.components import Ran, unverified
from argo_tutorial_suite.verdicts.timeline import Span

NOT_RUN_PREFIX = "every step of "  # the record of a scenario that could not run at all (its reason is said once)
LIVE_VERDICT_AFTER = 2.0  # a step that took longer says its verdict live as it ends
PASSED = "passed"
FAILED = "failed"
NOT_VERIFIED = "not verified here"


KNOWN = "known defect"


def known(defect: str) -> str:
    """The verdict of a step that broke as catalog defect(s) ``defect`` (``D1`` or ``D1,D4``) predicts."""
    return f"{KNOWN} {defect}"


def known_defects(verdict: str) -> list[str]:
    """The defects a verdict names (``known defect D1,D4`` -> ``["D1", "D4"]``); [] for any other verdict.
    The one place that reads a verdict string back."""
    head, _, ids = verdict.partition(" D")
    return [d if d.startswith("D") else f"D{d}" for d in ("D" + ids).split(",")] if head == KNOWN and ids else []


@dataclass
class StepRecord:
    scenario: str
    profile: str
    step: str
    section: str
    verdict: str
    backend: str
    seconds: float
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    decided_by: list[str] = field(default_factory=list)  # the components whose behaviour decides this step
    observed: str = ""  # the verdict the step reached on what ran, when that is not the verdict (a stand-in ran)

    @property
    def ok(self) -> bool:
        return self.verdict in (PASSED, NOT_VERIFIED) or bool(known_defects(self.verdict))

    @property
    def seen(self) -> str:
        """What the step itself observed, whatever ran: the verdict the sim and kind are compared on."""
        return self.observed or self.verdict


class UnexpectedPass(AssertionError):
    """A step the catalog says is broken worked: the defect is gone (XPASS, strict)."""


class DefectNotShown(AssertionError):
    """A step expected to break with defect Dn broke differently than Dn predicts."""


def defects_shown(defects: list[str], evidence: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """(the defects whose observable shows in ``evidence``, what shows each, what was seen instead): a defect
    shows only by its catalog observable over the step's evidence, never by a step's title or a wait's text."""
    cat = catalog.load()
    shown: list[str] = []
    quotes: list[str] = []
    saw: list[str] = []
    for d in defects:
        obs = cat[d].observable if d in cat else None
        if obs is None:
            saw.append(f"{d} has no observable in manifests/defects.yaml")
            continue
        quote = obs.seen(evidence)
        if quote is None:
            saw.append(f"{d} needs {obs.describe()}; saw {obs.missing(evidence)}")
        else:
            shown.append(d)
            quotes.append(quote)
    return shown, quotes, "; ".join(saw)


@dataclass
class Steps:
    scenario: str
    profile: str
    backend: str
    records: list[StepRecord] = field(default_factory=list)
    ran: Mapping[str, Ran] = field(default_factory=dict)  # component -> what ran (the backend's, see components)

    @contextmanager
    def step(
        self,
        name: str,
        section: str = "",
        defect: str | None = None,
        decided_by: tuple[str, ...] = (),
    ) -> Iterator[StepRecord]:
        """``decided_by``: the components whose behaviour decides this step. Where one of them ran as another
        release or a stand-in (``self.ran``), the step still runs (later steps need what it does), and what it
        saw is kept in ``observed``, but its verdict is "not verified here", with what ran. The step may narrow
        the list on its record once it knows which components took part (``rec.decided_by``)."""
        rec = StepRecord(
            self.scenario, self.profile, name, section, PASSED, self.backend, 0.0, decided_by=list(decided_by)
        )
        start = time.monotonic()
        if self.backend != "static":  # a static row takes no time: its verdict is in the summary
            live.say(f"[{short_backend(self.backend)}] {self.profile}: {one_line(name, 100)} ...")
        try:
            yield rec
        except BaseException as e:
            rec.seconds = time.monotonic() - start
            rec.detail = REDACTOR.text(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
            rec.evidence.update(getattr(e, "evidence", {}) or {})
            if defect and isinstance(e, AssertionError) and not isinstance(e, (UnexpectedPass, DefectNotShown)):
                shown, quotes, saw = defects_shown([defect], rec.evidence)
                if not shown:
                    rec.verdict = FAILED
                    rec.detail = f"expected {defect}, saw otherwise ({saw}): {rec.detail}"
                    self._done(rec)
                    raise DefectNotShown(f"{name}: {rec.detail}") from e
                rec.verdict = known(defect)
                rec.evidence["shows " + defect] = quotes[0]
                self._decide(rec)
                self._done(rec)
                return  # swallow: the reader of the tutorial sees exactly this, and the scenario goes on
            rec.verdict = FAILED
            self._decide(rec)
            self._done(rec)
            raise
        rec.seconds = time.monotonic() - start
        if defect and rec.verdict == PASSED:
            rec.verdict = FAILED
            rec.detail = f"expected {defect} to break this step, but it passed (fixed upstream? update the catalog)"
            self._decide(rec)
            self._done(rec)
            raise UnexpectedPass(f"{name}: {rec.detail}")
        self._decide(rec)
        self._done(rec)

    def _decide(self, rec: StepRecord) -> None:
        """A verdict reached on another release or a stand-in of a deciding component is not the pinned
        release's: "not verified here" (a failure stays a failure, saying what it ran on)."""
        others = unverified(rec.decided_by, self.ran)
        if not others:
            return
        on = "; ".join(r.on() for r in others)
        if rec.verdict == FAILED:
            rec.detail = f"{rec.detail} (on {on})"
            return
        rec.observed = rec.verdict
        rec.detail = f"{rec.verdict} on {on}" + (f": {rec.detail}" if rec.detail else "")
        rec.verdict = NOT_VERIFIED

    def record(self, name: str, section: str, verdict: str, detail: str = "") -> StepRecord:
        """A verdict decided elsewhere (a static finding): recorded as it is, nothing is run."""
        rec = StepRecord(self.scenario, self.profile, name, section, verdict, self.backend, 0.0, REDACTOR.text(detail))
        self._done(rec)
        return rec

    def not_verified(self, name: str, section: str, why: str) -> StepRecord:
        rec = StepRecord(self.scenario, self.profile, name, section, NOT_VERIFIED, self.backend, 0.0, why)
        self._done(rec)
        return rec

    def _done(self, rec: StepRecord) -> None:
        if rec.backend != "static" and (rec.seconds >= LIVE_VERDICT_AFTER or rec.verdict != PASSED):
            live.say(
                f"[{short_backend(rec.backend)}] {rec.profile}: {one_line(rec.step, 100)}: {rec.verdict} ({rec.seconds:.1f}s)"
            )
        self.records.append(rec)
        tail = f": {rec.detail}" if rec.detail else ""
        print(f"[{rec.backend}] {rec.profile}: {rec.step}: {rec.verdict} ({rec.seconds:.1f}s){tail}", flush=True)


# -- rendering --------------------------------------------------------------------------------------
def short_backend(label: str) -> str:
    """A backend's label as a live line's prefix: ``real (kind v0.17.0, node image built locally (...))`` ->
    ``kind v0.17.0``; what ran in full stays in the verdict table and the report."""
    if label.startswith("real (kind "):
        return " ".join(label.removeprefix("real (").split(",")[0].split()[:2])
    return label.split(" (")[0]


def one_line(text: str, width: int = 0) -> str:
    """A title or detail on one line (the tutorial's multi-line ``echo -e`` step would break a row), cut to
    ``width`` with an ellipsis when given."""
    flat = " ".join(text.split())
    return flat if not width or len(flat) <= width else flat[: width - 1] + "…"


def table(records: list[StepRecord]) -> str:
    """The full table: one line per step (written to ``artifacts/verdicts.txt``)."""
    if not records:
        return ""
    w = max(len(one_line(r.step)) for r in records)
    pw = max(len(r.profile) for r in records)
    lines = [f"{'profile':<{pw}}  {'step':<{w}}  {'verdict':<22} {'time':>7}  backend"]
    for r in records:
        lines.append(f"{r.profile:<{pw}}  {one_line(r.step):<{w}}  {r.verdict:<22} {r.seconds:>6.1f}s  {r.backend}")
    return "\n".join(lines)


def summary(records: list[StepRecord], width: int = 100) -> list[str]:
    """What fits a screen: per profile and pins, the counts by verdict and the time; every failed step with its
    reason; the known defects by ID; the steps not verified here grouped by their reason."""
    out: list[str] = []
    by_profile: dict[str, list[StepRecord]] = {}
    for r in records:
        by_profile.setdefault(r.profile, []).append(r)
    for profile, recs in by_profile.items():
        counts: dict[str, int] = {}
        for r in recs:
            key = KNOWN if r.verdict.startswith(KNOWN) else r.verdict
            counts[key] = counts.get(key, 0) + 1
        order = [PASSED, FAILED, KNOWN, NOT_VERIFIED]
        parts = [f"{counts[k]} {k}" for k in [*order, *sorted(set(counts) - set(order))] if counts.get(k)]
        total = sum(r.seconds for r in recs)
        out.append(f"{profile}: {len(recs)} steps: {', '.join(parts)} ({total / 60:.1f} min)")
        for r in recs:
            if r.verdict == FAILED:
                out.append("  FAILED " + one_line(f"{r.step}: {r.detail}", width))
        known_ids = sorted(
            {d for r in recs for d in known_defects(r.verdict)}, key=lambda d: int(d[1:]) if d[1:].isdigit() else 0
        )
        if known_ids:
            out.append("  known defects: " + ", ".join(known_ids))
        reasons: dict[str, int] = {}
        for r in recs:
            if r.verdict == NOT_VERIFIED and not r.step.startswith(NOT_RUN_PREFIX):  # said once, after the table
                why = one_line(
                    r.detail.split(": ", 1)[0] if r.detail.startswith(("passed on", "failed on")) else r.detail, 80
                )
                reasons[why] = reasons.get(why, 0) + 1
        for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:6]:
            out.append(f"  not verified here ({n}): {why}")
        if len(reasons) > 6:
            out.append(f"  not verified here: {len(reasons) - 6} more reasons in the full table")
    return out


def markdown(records: list[StepRecord], title: str = "Tutorial verdict", ran: Mapping[str, str] | None = None) -> str:
    out = [f"# {title}", ""]
    for profile, summary in sorted((ran or {}).items()):
        out += [f"- **{profile}**, {summary}"]
    if ran:
        out.append("")
    out += [
        "| profile | section | step | verdict | time | backend | detail |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        detail = r.detail.replace("|", "\\|").replace("\n", " ")
        step = one_line(r.step).replace("|", "\\|")
        out.append(f"| {r.profile} | {r.section} | {step} | {r.verdict} | {r.seconds:.1f}s | {r.backend} | {detail} |")
    counts: dict[str, int] = {}
    for r in records:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    out += ["", "Totals: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))]
    return "\n".join(out) + "\n"


def junit(records: list[StepRecord]) -> str:
    """JUnit XML with one testcase per step; known defects are ``skipped`` with the defect as message."""
    failures = sum(1 for r in records if r.verdict == FAILED)
    skipped = sum(1 for r in records if r.verdict != PASSED and r.verdict != FAILED)
    total = sum(r.seconds for r in records)
    cases = []
    for r in records:
        name = html.escape(f"{r.step} [{r.profile}; {r.backend}]", quote=True)
        cls = html.escape(r.scenario, quote=True)
        body = ""
        if r.verdict == FAILED:
            body = f'<failure message="{html.escape(r.detail, quote=True)}"/>'
        elif r.verdict != PASSED:
            body = f'<skipped message="{html.escape(r.verdict + ": " + r.detail, quote=True)}"/>'
        cases.append(f'  <testcase classname="{cls}" name="{name}" time="{r.seconds:.3f}">{body}</testcase>')
    head = f'<testsuite name="argo-tutorial-steps" tests="{len(records)}" failures="{failures}" skipped="{skipped}" time="{total:.3f}">'
    return '<?xml version="1.0" encoding="utf-8"?>\n' + head + "\n" + "\n".join(cases) + "\n</testsuite>\n"


def write(
    records: list[StepRecord], dest: Path, ran: Mapping[str, str] | None = None, spans: Sequence[Span] = ()
) -> list[Path]:
    from argo_tutorial_suite.tutorial import catalog
    from argo_tutorial_suite.verdicts import report_page, timeline

    dest.mkdir(parents=True, exist_ok=True)
    md, xml, txt = dest / "verdicts.md", dest / "verdicts-junit.xml", dest / "verdicts.txt"
    md.write_text(markdown(records, ran=ran))
    xml.write_text(junit(records))
    txt.write_text(table(records) + "\n")
    fixes = {d.id: (d.title, d.fix) for d in catalog.load().values()}
    page = dest / "report.html"
    page.write_text(report_page.page(records, ran, fixes, spans=spans))
    written = [page, md, xml, txt]
    if spans:
        (dest / "timeline.json").write_text(timeline.dumps(timeline.merge(spans)) + "\n")
        written.append(dest / "timeline.json")
    return written


def dumps(records: list[StepRecord]) -> str:
    """JSON for a report property (redacted; evidence reduced to text)."""

    return REDACTOR.text(
        json.dumps(
            [{**dataclasses.asdict(r), "evidence": {k: str(v)[:2000] for k, v in r.evidence.items()}} for r in records]
        )
    )


def loads(text: str) -> list[StepRecord]:

    return [StepRecord(**d) for d in json.loads(text)]
