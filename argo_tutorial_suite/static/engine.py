"""The static engine: gather a bundle (rendered objects, install plan, code), run every rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.schemas import CrdSchema, load_stack_crds
from argo_tutorial_suite.tutorial import catalog, kustomize
from argo_tutorial_suite.tutorial.installplan import InstallPlan
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.upstream import Upstream


@dataclass
class Source:
    """One object and the file it came from."""

    obj: Obj
    file: str


@dataclass
class Bundle:
    """Everything the rules look at. Parts that a user directory lacks stay empty."""

    sources: list[Source] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)  # load/build errors, already findings
    plan: InstallPlan | None = None
    code: dict[str, str] = field(default_factory=dict)
    kustomizations: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> content
    kustomize_dirs: dict[str, Path] = field(default_factory=dict)  # file -> directory
    pins: Pins | None = None
    schedulable_nodes: int | None = None
    upstream: Upstream | None = None
    crds: dict[tuple[str, str], CrdSchema] = field(default_factory=dict)
    label: str = ""
    root: Path | None = None  # the folder a participant's check reads (None for the tutorial's profiles)

    @property
    def objects(self) -> list[Obj]:
        return [s.obj for s in self.sources]

    def file_of(self, o: Obj) -> str:
        for s in self.sources:
            if s.obj is o:
                return s.file
        return ""


Rule = Callable[[Bundle], Iterable[Finding]]
RULES: list[Rule] = []
# rule ID -> the rule functions that report it ("loader": the engine's own, while reading a folder)
RULE_IDS: dict[str, list[str]] = {}
LOADER_IDS = (
    "FILE-BINARY",
    "YAML-MALFORMED",
    "YAML-NOT-OBJECT",
    "KUSTOMIZE-BUILD",
    "KUSTOMIZE-MISSING-FILE",
    "HELM-CHART",
    "HELM-TEMPLATE",
    "NO-MANIFESTS",
    "RULE-CRASH",
)
RULE_IDS.update({i: ["loader"] for i in LOADER_IDS})


def rule(*ids: str) -> Callable[[Rule], Rule]:
    """Register a rule function with the rule IDs it reports (the registry ``tests/test_rule_registry.py``
    holds to a case where each fires and one where it stays quiet)."""
    if not ids:
        raise ValueError("a rule declares the rule IDs it reports")

    def register(fn: Rule) -> Rule:
        for i in ids:
            if i in LOADER_IDS:
                raise ValueError(f"rule ID {i} is the loader's own")
            RULE_IDS.setdefault(i, []).append(fn.__name__)
        RULES.append(fn)
        return fn

    return register


def registry() -> dict[str, list[str]]:
    """Every rule ID, with the functions (or "loader") that report it."""
    from argo_tutorial_suite.static import rules  # noqa: F401  (registers the rules)

    return {k: list(v) for k, v in RULE_IDS.items()}


def run(bundle: Bundle) -> list[Finding]:
    """Run every registered rule; a rule that crashes is itself a finding, never a traceback."""
    from argo_tutorial_suite.static import rules  # noqa: F401  (registers the rules)

    findings = list(bundle.errors)
    start = time.monotonic()
    next_report = PROGRESS_AFTER
    for i, r in enumerate(RULES):
        elapsed = time.monotonic() - start
        if elapsed > next_report:
            next_report = elapsed + PROGRESS_AFTER
            # a large folder: say what runs, so a long check never looks hung
            print(f"[static] {elapsed:.0f}s: rule {i + 1}/{len(RULES)} {r.__name__} on {len(bundle.objects)} objects",
                  file=sys.stderr, flush=True)  # fmt: skip
        try:
            findings.extend(r(bundle))
        except Exception as e:  # a rule must not hide the others' findings
            findings.append(Finding("RULE-CRASH", r.__name__, f"rule {r.__name__} failed: {type(e).__name__}: {e}"))
    return sorted(set(catalog.tag(findings)))


PROGRESS_AFTER = 2.0  # seconds


# libyaml's safe loader when PyYAML was built with it (several times faster on large files), else the pure one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# -- loading ---------------------------------------------------------------------------------------
def load_yaml_file(path: Path, display: str, bundle: Bundle) -> list[Obj]:
    """Parse a (multi-document) YAML file; malformed YAML becomes a finding."""
    raw = path.read_bytes()
    if b"\x00" in raw:
        bundle.errors.append(
            Finding(
                "FILE-BINARY",
                display,
                "a binary file (it holds NUL bytes), not a YAML manifest",
                "remove it from the folder, or replace it with the manifest it should be",
                display,
            )
        )
        return []
    try:
        docs = list(yaml.load_all(raw.decode("utf-8"), Loader=SAFE_LOADER))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        bundle.errors.append(
            Finding(
                "YAML-MALFORMED",
                display,
                f"not valid YAML{where}: {problem}",
                "fix the indentation or quoting at that line",
                display,
            )
        )
        return []
    except UnicodeDecodeError:
        bundle.errors.append(
            Finding(
                "YAML-MALFORMED",
                display,
                "not a UTF-8 text file",
                "save it as UTF-8 (a manifest is YAML text), or remove it from the folder",
                display,
            )
        )
        return []
    objs: list[Obj] = []
    for i, d in enumerate(docs):
        if d is None:
            continue
        if not isinstance(d, dict):
            bundle.errors.append(
                Finding(
                    "YAML-NOT-OBJECT",
                    f"{display}#{i}",
                    f"document {i} is a {type(d).__name__}, not a Kubernetes object",
                    "each YAML document must be a mapping with apiVersion, kind and metadata",
                    display,
                )
            )
            continue
        objs.append(d)
    return objs


def add_kustomization(bundle: Bundle, directory: Path, display: str, kubectl: str | None) -> None:
    """Build a kustomization; its objects join the bundle.

    A failed build becomes a KUSTOMIZE-BUILD finding (tagged D10 when listed files are missing), and the
    directory's YAML files are then read one by one, as a reviewer would, so that the other rules
    still see the objects.
    """
    kfile = f"{display}/kustomization.yaml" if display else "kustomization.yaml"
    try:
        content = yaml.safe_load((directory / "kustomization.yaml").read_text()) or {}
    except yaml.YAMLError as e:
        bundle.errors.append(Finding("YAML-MALFORMED", kfile, f"not valid YAML: {e}", "", kfile))
        content = {}
    content = content if isinstance(content, dict) else {}
    bundle.kustomizations[kfile] = content
    missing = []
    for entry in content.get("resources") or []:
        if "://" in str(entry) or (directory / str(entry)).exists():
            continue
        near = [p.name for p in directory.glob("*.y*ml") if p.name.replace("-", "_") == str(entry).replace("-", "_")]
        hint = (
            f"the file is named {near[0]}: use the same name in both places"
            if near
            else "add the file or drop the entry"
        )
        missing.append(str(entry))
        bundle.errors.append(
            Finding("KUSTOMIZE-MISSING-FILE", f"{kfile}:{entry}", f"lists {entry}, which does not exist", hint, kfile)
        )
    result = kustomize.build(directory, kubectl)
    if not result.error:
        bundle.sources.extend(Source(o, kfile) for o in result.objects)
        return
    bundle.errors.append(
        Finding(
            "KUSTOMIZE-BUILD",
            kfile,
            f"kustomize build fails: {result.error}",
            "make every path the kustomization lists exist with exactly that name",
            kfile,
        )
    )
    for f in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        if f.name != "kustomization.yaml":
            rel = f"{display}/{f.name}" if display else f.name
            bundle.sources.extend(Source(o, rel) for o in load_yaml_file(f, rel, bundle))


def profile_bundle(profile: Profile, upstream: Upstream, kubectl: str | None = None) -> Bundle:
    """The bundle of a profile: its GitOps and CI renders, Application, install plan and code."""
    bundle = Bundle(
        pins=profile.pins, schedulable_nodes=profile.schedulable_nodes(), upstream=upstream, label=profile.id
    )
    with tempfile.TemporaryDirectory(prefix="argo-suite-") as tmp:
        gitops = profile.materialize("gitops", Path(tmp) / "gitops")
        add_kustomization(bundle, gitops, "gitops", kubectl)
        ci = profile.materialize("ci", Path(tmp) / "ci")
        if (ci / "kustomization.yaml").exists():
            add_kustomization(bundle, ci, "ci", kubectl)
        else:
            bundle.sources.extend(Source(o, "ci/ci.yaml") for o in load_yaml_file(ci / "ci.yaml", "ci/ci.yaml", bundle))
        code = profile.materialize("code", Path(tmp) / "code")
        bundle.code = {f.name: f.read_text() for f in sorted(code.iterdir()) if f.is_file()}
    bundle.sources.extend(Source(a, "argocd/application.yaml") for a in profile.applications())
    bundle.plan = profile.install_plan()
    bundle.crds, _missing = load_stack_crds(upstream, profile.pins)
    return bundle


def add_helm_chart(bundle: Bundle, chart: Path, display: str) -> None:
    """A Helm chart's templates are not YAML until rendered: render them with ``helm template`` when helm is
    installed, else say so (one finding, with the command), instead of calling every template malformed."""
    helm = shutil.which("helm")
    if helm is None:
        bundle.errors.append(
            Finding(
                "HELM-CHART",
                display,
                "a Helm chart: its templates are checked once rendered, and helm is not installed here",
                f"render it first: helm template check {display} > rendered.yaml, then check the output",
                f"{display}/Chart.yaml",
            )
        )
        return
    cp = subprocess.run([helm, "template", "check", str(chart)], capture_output=True, text=True, timeout=120)
    if cp.returncode != 0:
        bundle.errors.append(
            Finding(
                "HELM-TEMPLATE", display, f"helm template fails: {cp.stderr.strip()[-300:]}", "fix the chart", display
            )
        )
        return
    for d in yaml.load_all(cp.stdout, Loader=SAFE_LOADER):
        if isinstance(d, dict):
            bundle.sources.append(Source(d, f"{display} (rendered)"))


def directory_bundle(directory: Path, pins: Pins, upstream: Upstream | None, kubectl: str | None = None) -> Bundle:
    """The bundle of a user's directory: every YAML file, and each kustomization built."""
    bundle = Bundle(pins=pins, upstream=upstream, label=str(directory), root=directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"--manifests-dir {directory} does not exist or is not a directory")
    kdirs = sorted({p.parent for p in directory.rglob("kustomization.yaml")})
    for kdir in kdirs:
        add_kustomization(bundle, kdir, str(kdir.relative_to(directory)).replace(".", "") or "", kubectl)
    charts = sorted({p.parent for p in directory.rglob("Chart.yaml") if (p.parent / "templates").is_dir()})
    for chart in charts:
        add_helm_chart(bundle, chart, str(chart.relative_to(directory)) or ".")
    for f in sorted([*directory.rglob("*.yaml"), *directory.rglob("*.yml")]):
        if f.name == "kustomization.yaml" or any(f.is_relative_to(k) for k in [*kdirs, *charts]):
            continue
        rel = str(f.relative_to(directory))
        bundle.sources.extend(Source(o, rel) for o in load_yaml_file(f, rel, bundle))
    for name in ("main.go", "Dockerfile", "go.mod"):
        hits = sorted(directory.rglob(name))
        if hits:
            bundle.code[name] = hits[0].read_text(errors="replace")
    if upstream is not None:
        bundle.crds, _missing = load_stack_crds(upstream, pins)
    if not bundle.sources and not bundle.errors:
        bundle.errors.append(
            Finding(
                "NO-MANIFESTS",
                str(directory),
                "no YAML file or kustomization found",
                "point --manifests-dir at the folder holding the GitOps repo and ci.yaml",
            )
        )
    return bundle
