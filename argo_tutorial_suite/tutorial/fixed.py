"""The author's tutorial back, fixed: every code block the corrected profile changes, changed the same way, each
change named by its defect in a comment line at the top of the block; the files the corrected profile adds at the
end; and a unified diff against the tutorial's text.

What "the corrected profile's file" is, per kind of block:

- a file the corrected profile replaces (``code/Dockerfile``): that file;
- a file of a kustomization (``gitops/*.yaml``, ``ci/ci.yaml``): the objects ``kustomize build`` of the corrected
  folder takes from that file (kustomize's origin annotations say which), as YAML; a file whose objects come out
  unchanged keeps its text;
- ``install/install.sh``: the corrected install plan at the pins, one command per line, each fix's defects named.

The reasons are the corrected profile's own comments: ``# D16: deprecated annotation`` in a patch names the change
it sits on; a patch's defects are the reasons of the file its target object comes from.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.tutorial import catalog, kustomize
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.tutorial.text import CodeBlock, file_blocks

REASON = re.compile(r"#\s*(\S.*\bD\d+\b.*|D\d+\b.*)$")
BARE_ID = re.compile(r"^D\d+(?:/D\d+)*$")
MARK = "corrected"  # the comment's first word: what a reader (and the test) recognises a fix by
COMMENT = {"go": "//", "Dockerfile": "#", "sh": "#", "yaml": "#"}


@dataclass
class FixedFile:
    path: str  # relative to manifests/tutorial/ (or the corrected profile's, for an added file)
    text: str
    reasons: list[str] = field(default_factory=list)  # "D16: deprecated annotation"
    added: bool = False


def comment_style(path: str) -> str:
    if path.endswith(".go"):
        return COMMENT["go"]
    return "#"


def reasons_in(text: str) -> list[str]:
    """The comments of a corrected file that name a defect (``D16: deprecated annotation``), in order, each once; a
    bare ``D16`` gets the catalog's title."""
    titles = {d.id: d.title for d in catalog.load().values()}
    out: list[str] = []
    for line in text.splitlines():
        m = REASON.search(line)
        if not m:
            continue
        reason = m.group(1).strip()
        if BARE_ID.match(reason):
            reason = "; ".join(f"{i}: {titles.get(i, '')}" for i in reason.split("/"))
        if reason not in out:
            out.append(reason)
    return out


def _key(o: Obj) -> tuple[str, str]:
    meta = o.get("metadata")
    return str(o.get("kind", "")), str(meta.get("name", "") if isinstance(meta, dict) else "")


def _patch_reasons(folder: Path) -> dict[tuple[str, str], list[str]]:
    """(kind, name) of each patch's target -> the reasons its comments give (the kustomization's own comments on
    a patch line count for that patch)."""
    kfile = folder / "kustomization.yaml"
    k = yaml.safe_load(kfile.read_text()) or {}
    out: dict[tuple[str, str], list[str]] = {}
    lines = kfile.read_text().splitlines()
    for entry in k.get("patches") or []:
        target = entry.get("target") or {}
        if entry.get("path"):
            text = (folder / entry["path"]).read_text()
            body = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
            key = (target.get("kind") or (body[0].get("kind") if body else ""),
                   target.get("name") or ((body[0].get("metadata") or {}).get("name") if body else ""))  # fmt: skip
            out.setdefault((str(key[0]), str(key[1])), []).extend(reasons_in(text))
        elif entry.get("patch"):
            data = yaml.safe_load(entry["patch"])
            key = _key(data) if isinstance(data, dict) else ("", "")
            # the comment above the inline patch in the kustomization
            idx = next((i for i, line in enumerate(lines) if entry["patch"][:40] in line), None)
            near = [m.group(1).strip() for line in lines[max(0, (idx or 0) - 4) : (idx or 0)]
                    if (m := REASON.search(line))]  # fmt: skip
            out.setdefault(key, []).extend(near[-1:])
    return out


def _by_origin(
    profile: Profile, part: str, kubectl: str | None
) -> tuple[dict[str, list[Obj]], dict[tuple[str, str], list[str]]]:
    """The corrected build of ``part`` grouped by the file each object came from (relative to the folder), and the
    reasons of each patch by its target (deletions included)."""
    with tempfile.TemporaryDirectory(prefix="argo-suite-fixed-") as tmp:
        folder = profile.materialize(part, Path(tmp) / part)
        result, origins = kustomize.build_with_origins(folder, kubectl)
        if result.error:
            raise RuntimeError(f"the corrected {part} does not build: {result.error}")
        groups: dict[str, list[Obj]] = {}
        top = folder.resolve()
        for o, origin in zip(result.objects, origins, strict=True):
            rel = str(origin.path.relative_to(top)) if origin.path and origin.path.is_relative_to(top) else "?"
            groups.setdefault(rel, []).append(o)
        return groups, _patch_reasons(folder)


def _dump(objs: list[Obj]) -> str:
    return yaml.safe_dump_all(objs, sort_keys=False, allow_unicode=True, width=120)


def kustomized_files(profile: Profile, part: str, kubectl: str | None = None) -> list[FixedFile]:
    """Each file of ``part`` as the corrected build has it: changed files with their reasons, added ones marked, a
    file none of whose objects is built any more as a comment naming why; and the kustomization itself, which lists
    the fixed files (the patches are already applied in them)."""
    groups, by_target = _by_origin(profile, part, kubectl)
    corrected_k = (MANIFESTS / "corrected" / part / "kustomization.yaml").read_text()
    k_reasons = reasons_in(corrected_k)
    tutorial = MANIFESTS / "tutorial" / part
    out: list[FixedFile] = []
    for original in sorted(tutorial.glob("*.yaml")):
        rel = original.name
        if rel == "kustomization.yaml":
            continue
        before = [d for d in yaml.safe_load_all(original.read_text()) if isinstance(d, dict)]
        objs = groups.pop(rel, [])
        if before == objs:
            continue
        reasons: list[str] = []
        for o in [*objs, *before]:
            reasons += [r for r in by_target.get(_key(o), []) if r not in reasons]
        if not objs:
            why = [r for r in k_reasons if rel in r] or reasons or ["not applied by the corrected profile"]
            out.append(FixedFile(f"{part}/{rel}", "", why))
            continue
        out.append(FixedFile(f"{part}/{rel}", _dump(objs), reasons or k_reasons))
    for rel, objs in sorted(groups.items()):
        text = (
            (MANIFESTS / "corrected" / part / rel).read_text()
            if (MANIFESTS / "corrected" / part / rel).is_file()
            else ""
        )
        out.append(FixedFile(f"{part}/{rel}", _dump(objs), reasons_in(text), added=True))
    if (tutorial / "kustomization.yaml").is_file():
        k = yaml.safe_load(corrected_k) or {}
        k.pop("patches", None)
        text = yaml.safe_dump(k, sort_keys=False)
        out.append(FixedFile(f"{part}/kustomization.yaml", text, [r for r in k_reasons if "patch" not in r.lower()]))
    return out


def install_script(profile: Profile) -> FixedFile:
    """The corrected install plan as a script: the preamble, then each step's commands, each fix's defects named."""
    plan = profile.install_plan()
    titles = {d.id: d.title for d in catalog.load().values()}
    lines = [*plan.preamble, ""]
    reasons: list[str] = []
    for step in plan.steps:
        lines.append(f"# {step.title}")
        for c in step.commands:
            tag = f"  # {', '.join(c.fixes)}" if c.fixes and "\n" not in c.run else ""
            lines.append(c.run + tag)
            reasons += [
                r for d in c.fixes if (r := f"{d}: {titles.get(d, 'see manifests/defects.yaml')}") not in reasons
            ]
        lines.append("")
    return FixedFile("install/install.sh", "\n".join(lines).rstrip() + "\n", reasons)


def replaced_files(profile: Profile) -> list[FixedFile]:
    """Files the corrected profile replaces outright (``code/``): the new file, its own reasons."""
    out: list[FixedFile] = []
    corrected = MANIFESTS / "corrected" / "code"
    for f in sorted(corrected.iterdir()):
        original = MANIFESTS / "tutorial" / "code" / f.name
        out.append(FixedFile(f"code/{f.name}", f.read_text(), reasons_in(f.read_text()), added=not original.is_file()))
    return out


def corrected_files(profile: Profile, kubectl: str | None = None) -> list[FixedFile]:
    files = [*kustomized_files(profile, "gitops", kubectl), *kustomized_files(profile, "ci", kubectl)]
    files += replaced_files(profile)
    files.append(install_script(profile))
    app = MANIFESTS / "corrected" / "argocd" / "application.yaml"
    files.append(FixedFile("argocd/application.yaml", app.read_text(), reasons_in(app.read_text()), added=True))
    every = [r for f in files for r in f.reasons]
    for f in files:  # an added file without reasons of its own: the fixes that name it (go.mod: D36's)
        if not f.reasons:
            f.reasons = [r for r in every if Path(f.path).name in r]
    return files


def block_text(f: FixedFile) -> str:
    """The block's body: one comment line per reason, then the file."""
    c = comment_style(f.path)
    head = [f"{c} {MARK}: {r}" for r in f.reasons] or [f"{c} {MARK}: see manifests/defects.yaml"]
    return "\n".join(head) + "\n" + f.text


def fixed_markdown(text: str, files: list[FixedFile]) -> str:
    """The tutorial with each changed block's body replaced; added files in a section at the end."""
    blocks: dict[str, CodeBlock] = file_blocks(text)
    lines = text.splitlines()
    edits: list[tuple[int, int, list[str]]] = []
    for f in files:
        b = blocks.get(f.path)
        if b is None or f.added:
            continue
        body_start = b.line  # 0-based index of the first body line = the fence's 1-based line
        body_end = body_start + len(b.body.splitlines())
        edits.append((body_start, body_end, block_text(f).rstrip("\n").splitlines()))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    added = [f for f in files if f.added or f.path not in blocks]
    if added:
        lines += ["", "## 고친 튜토리얼이 더하는 파일 (files the corrected tutorial adds)", ""]
        for f in added:
            lang = "go" if f.path.endswith(".go") else ("dockerfile" if "Dockerfile" in f.path else "yaml")
            lang = "" if f.path.endswith(".mod") else lang
            lines += [f"### {f.path}", "", f"```{lang}", *block_text(f).rstrip("\n").splitlines(), "```", ""]
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def unified_diff(original: str, fixed: str, name: str = "argo-hands-on.ko.md") -> str:
    return "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True), fixed.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
    )


def write(text: str, profile: Profile, dest: Path, kubectl: str | None = None) -> tuple[Path, Path]:
    """``dest/argo-hands-on.fixed.md`` and ``dest/argo-hands-on.fixed.diff``."""
    fixed = fixed_markdown(text, corrected_files(profile, kubectl))
    dest.mkdir(parents=True, exist_ok=True)
    md, diff = dest / "argo-hands-on.fixed.md", dest / "argo-hands-on.fixed.diff"
    md.write_text(fixed, encoding="utf-8")
    diff.write_text(unified_diff(text, fixed), encoding="utf-8")
    return md, diff


def blocks_of(markdown: str) -> dict[str, Any]:
    """The file blocks of a (fixed) tutorial: path -> body."""
    return {p: b.body for p, b in file_blocks(markdown).items()}
