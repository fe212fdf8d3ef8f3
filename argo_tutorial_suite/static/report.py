"""The static verdict as step records: one per finding, placed at the tutorial section it concerns, so the
tutorial's author sees every defect in the verdict table, ``verdicts.md`` and the JUnit file, and a summary
line by severity with the expected defects that did not show.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.rules.refs import NOTE_RULES
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.verdicts.steps import FAILED, NOT_VERIFIED, PASSED, StepRecord, Steps, known, known_defects


def finding_detail(f: Finding) -> str:
    where = f"{f.file}: " if f.file else ""
    return f"{f.rule} {f.obj}: {where}{f.message}" + (f"; fix: {f.hint}" if f.hint else "")


def split_notes(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(findings, notes): a note names what the folder lacks but a cluster may hold; it never fails a run."""
    notes = [f for f in findings if f.rule in NOTE_RULES]
    return [f for f in findings if f.rule not in NOTE_RULES], notes


def record_profile(steps: Steps, findings: list[Finding], expected: set[tuple[str, str, str]], corrected: bool) -> None:
    """Record every finding (and every expected one missing) on ``steps``; notes as "not verified here"."""
    findings, notes = split_notes(findings)
    for n in notes:
        steps.record(f"{n.obj}: needs what is not in the files", "static", NOT_VERIFIED, finding_detail(n))
    defects = catalog.load()
    got = {f.key for f in findings}
    for f in sorted(findings):
        d = defects.get(f.defect or "")
        section = d.section if d else "static"
        name = f"{f.defect + ' ' if f.defect else ''}{d.title if d else f.rule}"
        verdict = known(f.defect) if (f.defect and not corrected and f.key in expected) else FAILED
        steps.record(name, section, verdict, finding_detail(f))
    missing = sorted(expected - got)
    for defect, rule, obj in missing:
        d = defects.get(defect)
        steps.record(
            f"{defect} {d.title if d else ''}".strip(),
            d.section if d else "static",
            FAILED,
            f"expected {rule} on {obj} (the catalog says it shows), not found",
        )
    if not findings and not missing:
        steps.record("no finding", "static", PASSED, "every rule passed")


SEVERITY_CLASSES = ("blocks", "security", "silently wrong", "hidden assumption", "unverified risk", "cosmetic")


def severity_class(severity: str) -> str:
    """The catalog's severity without its qualifier (``blocks on kind`` -> ``blocks``)."""
    return next((c for c in SEVERITY_CLASSES if severity.startswith(c)), severity)


def summary_lines(records: list[StepRecord]) -> list[str]:
    """Per static profile: the defects found by severity, findings outside the catalog, and the expected
    defects that did not show (read from the records, so it also works across pytest-xdist workers)."""
    defects = catalog.load()
    out = []
    profiles = sorted({r.profile for r in records if r.backend == "static" and "@" in r.profile})
    for prof in profiles:
        rows = [r for r in records if r.backend == "static" and r.profile == prof]
        found = {d for r in rows for d in known_defects(r.verdict)}
        by_sev = Counter(severity_class(defects[d].severity) for d in found if d in defects)
        sev = ", ".join(f"{by_sev[c]} {c}" for c in SEVERITY_CLASSES if by_sev[c]) or "none"
        missing = sorted({r.step.split()[0] for r in rows if r.verdict == FAILED and r.detail.startswith("expected ")})
        other = sum(1 for r in rows if r.verdict == FAILED and not r.detail.startswith("expected "))
        out.append(
            f"static {prof}: {len(found)} defects found ({sev}); {other} other finding(s); "
            f"expected but not found: {', '.join(missing) or 'none'}"
        )
    return out


def folder_report(findings: list[Finding], folder: str, notes: list[Finding] | None = None) -> str:
    """A participant's folder, for a reader: grouped by file, then object, each finding with its fix, then what
    the folder refers to but does not hold (notes), then a summary; no Python in it."""
    by_file: dict[str, dict[str, list[Finding]]] = {}
    for f in sorted(findings, key=lambda f: (f.file or "", f.obj, f.rule)):
        by_file.setdefault(f.file or "(the folder)", {}).setdefault(f.obj, []).append(f)
    lines = [f"{folder}: {len(findings)} finding(s) in {len(by_file)} file(s)", ""]
    for file, objs in by_file.items():
        lines.append(file)
        for obj, fs in objs.items():
            lines.append(f"  {obj}")
            for f in fs:
                tag = f" ({f.defect})" if f.defect else ""
                lines.append(f"    - {f.rule}{tag}: {f.message}")
                if f.hint:
                    lines.append(f"      fix: {f.hint}")
        lines.append("")
    if notes:
        lines.append("not in this folder (the cluster may hold them; not a failure):")
        lines += [f"  {n.obj}: {n.message}" for n in sorted(notes, key=lambda n: (n.obj, n.message))]
        lines.append("")
    rules = Counter(f.rule for f in findings)
    lines.append("summary: " + (", ".join(f"{n} {r}" for r, n in rules.most_common()) or "no finding"))
    return "\n".join(lines)


def _same_object(found: str, expected: str) -> bool:
    return found == expected or expected.endswith("/" + found) or found.endswith("/" + expected)


def for_a_folder(findings: list[Finding], expected: set[tuple[str, str, str]]) -> list[Finding]:
    """Findings on a folder that is not the tutorial's profile: a catalog defect ID only where the finding is the
    tutorial's own (same rule and object as a catalog expectation, whatever folder the file sits in), and a
    kustomization that fails for a missing file is reported once (the missing file, not also the failed build)."""
    missing_for = {f.obj.split(":", 1)[0] for f in findings if f.rule == "KUSTOMIZE-MISSING-FILE"}
    out = []
    for f in findings:
        if f.rule == "KUSTOMIZE-BUILD" and f.obj in missing_for:
            continue
        tutorial = next((d for d, r, o in sorted(expected) if r == f.rule and _same_object(f.obj, o)), None)
        if tutorial != f.defect:
            f = dataclasses.replace(f, defect=tutorial)
        out.append(f)
    return out
