"""The folder check's output formats: one line per finding (``file:line: RULE object: message``, as linters
print), JSON, SARIF 2.1.0 (code scanning) and JUnit XML (CI test reports). Pure: results in, text out."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from argo_tutorial_suite.static.findings import Finding

FORMATS = ("text", "json", "sarif", "junit")


@dataclass
class FolderResult:
    """One folder's check: its findings (failures), its notes (what it needs from outside), what could not be
    checked, and how long it took."""

    folder: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""  # the folder could not be checked at all (usage)


def location(f: Finding, folder: str) -> str:
    file = f"{folder.rstrip('/')}/{f.file}" if f.file else folder
    return f"{file}:{f.line}" if f.line else file


def text(results: list[FolderResult]) -> str:
    lines: list[str] = []
    for r in results:
        if r.error:
            lines.append(f"{r.folder}: error: {r.error}")
            continue
        for f in sorted(r.findings, key=lambda f: (f.file, f.line, f.rule, f.obj, f.message)):
            tag = f" [{f.defect}]" if f.defect else ""
            lines.append(f"{location(f, r.folder)}: {f.rule}{tag} {f.obj}: {f.message}")
            if f.hint:
                lines.append(f"    fix: {f.hint}")
        for n in sorted(r.notes, key=lambda n: (n.file, n.line, n.obj)):
            lines.append(f"{location(n, r.folder)}: note: {n.message} ({n.obj})")
        rules = Counter(f.rule for f in r.findings)
        top = ", ".join(f"{n} {k}" for k, n in rules.most_common(4))
        verdict = f"{len(r.findings)} finding(s)" + (f" ({top})" if top else "") if r.findings else "clean"
        extra = f", {len(r.notes)} note(s)" if r.notes else ""
        lines.append(f"{r.folder}: {verdict}{extra} in {r.seconds:.2f}s")
        lines += [f"{r.folder}: not checked: {u}" for u in r.unchecked]
    if len(results) > 1:
        bad = [r for r in results if r.findings or r.error]
        lines.append(f"{len(results)} folders: {len(results) - len(bad)} clean, {len(bad)} with findings or errors")
    return "\n".join(lines) + "\n"


def _finding_json(f: Finding) -> dict[str, object]:
    return {"rule": f.rule, "object": f.obj, "message": f.message, "fix": f.hint, "file": f.file, "line": f.line,
            "defect": f.defect}  # fmt: skip


def as_json(results: list[FolderResult]) -> str:
    return (
        json.dumps(
            [
                {
                    "folder": r.folder,
                    "error": r.error or None,
                    "seconds": round(r.seconds, 3),
                    "findings": [_finding_json(f) for f in r.findings],
                    "notes": [_finding_json(n) for n in r.notes],
                    "unchecked": r.unchecked,
                }
                for r in results
            ],
            indent=1,
        )
        + "\n"
    )


def sarif(results: list[FolderResult], descriptions: dict[str, str]) -> str:
    """SARIF 2.1.0: one run, a rule per ID reported, a result per finding (error) and per note (note)."""
    out: list[dict[str, object]] = []
    used: set[str] = set()
    for r in results:
        for f, level in [*((f, "error") for f in r.findings), *((n, "note") for n in r.notes)]:
            used.add(f.rule)
            uri = f"{r.folder.rstrip('/')}/{f.file}" if f.file else r.folder
            loc: dict[str, object] = {"artifactLocation": {"uri": uri}}
            if f.line:
                loc["region"] = {"startLine": f.line}
            message = f"{f.obj}: {f.message}" + (f" (fix: {f.hint})" if f.hint else "")
            result: dict[str, object] = {"ruleId": f.rule, "level": level, "message": {"text": message},
                                         "locations": [{"physicalLocation": loc}]}  # fmt: skip
            if f.defect:
                result["properties"] = {"defect": f.defect}
            out.append(result)
    rules = [{"id": i, "shortDescription": {"text": descriptions.get(i, i)}} for i in sorted(used)]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "argo-tutorial-check", "informationUri":
                                      "https://github.com/argoproj", "rules": rules}}, "results": out}],
    }  # fmt: skip
    return json.dumps(doc, indent=1) + "\n"


def junit(results: list[FolderResult]) -> str:
    """A testsuite per folder, a failing testcase per finding, a passing one for a clean folder."""
    from xml.sax.saxutils import quoteattr

    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<testsuites>"]
    for r in results:
        failures = len(r.findings) + (1 if r.error else 0)
        cases = max(failures, 1)
        lines.append(f"  <testsuite name={quoteattr(r.folder)} tests=\"{cases}\" failures=\"{failures}\" "
                     f"time=\"{r.seconds:.3f}\">")  # fmt: skip
        if r.error:
            lines.append(f"    <testcase classname={quoteattr(r.folder)} name=\"check\">"
                         f"<failure message={quoteattr(r.error)}/></testcase>")  # fmt: skip
        for f in r.findings:
            name = f"{f.rule} {f.obj}"
            body = f"{location(f, r.folder)}: {f.message}" + (f"\nfix: {f.hint}" if f.hint else "")
            lines.append(f"    <testcase classname={quoteattr(r.folder)} name={quoteattr(name)}>"
                         f"<failure message={quoteattr(f.message)}>{_escape(body)}</failure></testcase>")  # fmt: skip
        if not failures:
            lines.append(f'    <testcase classname={quoteattr(r.folder)} name="no finding"/>')
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
