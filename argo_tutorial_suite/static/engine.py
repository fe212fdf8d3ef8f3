"""The static engine: gather a bundle (rendered objects, install plan, code), run every rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from argo_tutorial_suite.objects import Obj, Objects, ref
from argo_tutorial_suite.static import credentials, forked, reading
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.schemas import CrdSchema, load_stack_crds
from argo_tutorial_suite.tutorial import catalog, kustomize
from argo_tutorial_suite.tutorial.installplan import InstallPlan
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.upstream import Upstream

T = TypeVar("T")


@dataclass
class Source:
    """One object and the file it came from."""

    obj: Obj
    file: str
    line: int = 0  # 1-based line its document starts on (0: not known)


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
    bytes_read: int = 0
    nodes_estimated: int = 0  # reading.node_estimate of the files read so far
    token_free: set[str] = field(default_factory=set)  # files whose text holds no token format
    share: tuple[int, int] = (0, 1)  # (k, n): a heavy rule looks at every n-th source from the k-th
    # made from sources, never copied by dataclasses.replace (a bundle of other sources makes its own)
    _objects: tuple[int, int, Objects] | None = field(default=None, init=False, repr=False, compare=False)
    _memo: dict[Callable[..., Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _files: dict[int, tuple[Obj, str]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def objects(self) -> Objects:
        """The objects, made once per state of ``sources`` (rules ask tens of times)."""
        key = (id(self.sources), len(self.sources))
        if self._objects is None or self._objects[:2] != key:
            self._objects = (*key, Objects(s.obj for s in self.sources))
            self._memo.clear()
            self._files = None
        return self._objects[2]

    def derived(self, fn: Callable[[list[Obj]], T]) -> T:
        """``fn(self.objects)``, computed once (a pure helper several rules share)."""
        objs = self.objects
        if fn not in self._memo:
            self._memo[fn] = fn(objs)
        value: T = self._memo[fn]
        return value

    def own_sources(self) -> list[Source]:
        """The sources a heavy rule checks in this process (all of them, unless shared between processes)."""
        k, n = self.share
        return self.sources if n == 1 else self.sources[k::n]

    def file_of(self, o: Obj) -> str:
        """The file an object of this bundle came from ("" for another object)."""
        self.objects  # noqa: B018  (renews the indexes when the sources changed)
        if self._files is None:
            self._files = {}
            for s in self.sources:
                self._files.setdefault(id(s.obj), (s.obj, s.file))
        found = self._files.get(id(o))
        return found[1] if found is not None and found[0] is o else ""

    def lines(self) -> dict[tuple[str, str], int]:
        """(file, object reference) -> the line the object starts on."""
        out: dict[tuple[str, str], int] = {}
        for s in self.sources:
            if s.line:
                out.setdefault((s.file, ref(s.obj)), s.line)
        return out


Rule = Callable[[Bundle], Iterable[Finding]]
RULES: list[Rule] = []
HEAVY: set[str] = set()  # names of the rules whose objects two processes share on a large folder
# rule ID -> the rule functions that report it ("loader": the engine's own, while reading a folder)
RULE_IDS: dict[str, list[str]] = {}
LOADER_IDS = (
    "FILE-BINARY",
    "FILE-UNREADABLE",
    "INPUT-LIMIT",
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


def rule(*ids: str, heavy: bool = False) -> Callable[[Rule], Rule]:
    """Register a rule function with the rule IDs it reports (the registry ``tests/test_rule_registry.py``
    holds to a case where each fires and one where it stays quiet); a ``heavy`` rule (work per object, about as
    much as all the others together) checks each of ``Bundle.own_sources()`` alone, so that on a large folder
    two processes share its objects."""
    if not ids:
        raise ValueError("a rule declares the rule IDs it reports")

    def register(fn: Rule) -> Rule:
        for i in ids:
            if i in LOADER_IDS:
                raise ValueError(f"rule ID {i} is the loader's own")
            RULE_IDS.setdefault(i, []).append(fn.__name__)
        RULES.append(fn)
        if heavy:
            HEAVY.add(fn.__name__)
        return fn

    return register


def registry() -> dict[str, list[str]]:
    """Every rule ID, with the functions (or "loader") that report it."""
    from argo_tutorial_suite.static import rules  # noqa: F401  (registers the rules)

    return {k: list(v) for k, v in RULE_IDS.items()}


def run(bundle: Bundle) -> list[Finding]:
    """Run every registered rule; a rule that crashes is itself a finding, never a traceback, and never stops the
    rule for the other objects: it runs again one object at a time, and each object it crashes on is named."""
    from argo_tutorial_suite.static import rules  # noqa: F401  (registers the rules)

    findings = list(bundle.errors)
    heavy = [r for r in RULES if r.__name__ in HEAVY]
    light = [r for r in RULES if r.__name__ not in HEAVY]
    if len(bundle.sources) < PARALLEL_RULES_FROM:
        findings.extend(_run_rules(RULES, bundle))
    else:  # the heavy rules' objects shared with a forked child, which works while this process runs the rest,
        # and the light rules dealt out between the two, one each in turn
        theirs, ours = replace(bundle, share=(1, 2)), replace(bundle, share=(0, 2))
        here = lambda: findings.extend(_run_rules(light[0::2], bundle) + _run_rules(heavy, ours))  # noqa: E731
        there = lambda: _run_rules(heavy, theirs) + _run_rules(light[1::2], bundle)  # noqa: E731
        findings.extend(forked.both(there, here, fork=True))
    lines = bundle.lines()
    located = [f if f.line or not (n := lines.get((f.file, f.obj), 0)) else replace(f, line=n) for f in findings]
    return sorted(set(catalog.tag(located)))


def _run_rules(rules: list[Rule], bundle: Bundle) -> list[Finding]:
    findings: list[Finding] = []
    start = time.monotonic()
    next_report = PROGRESS_AFTER
    for i, r in enumerate(rules):
        elapsed = time.monotonic() - start
        if elapsed > next_report:
            next_report = elapsed + PROGRESS_AFTER
            # a large folder: say what runs, so a long check never looks hung
            print(f"[static] {elapsed:.0f}s: rule {i + 1}/{len(rules)} {r.__name__} on {len(bundle.sources)} objects",
                  file=sys.stderr, flush=True)  # fmt: skip
        try:
            findings.extend(r(bundle))
        except Exception:  # a rule must not hide the others' findings, nor its own on the other objects
            findings.extend(_one_object_at_a_time(r, bundle))
    return findings


PARALLEL_RULES_FROM = 5_000  # objects: below, a fork costs more than it saves


def _one_object_at_a_time(r: Rule, bundle: Bundle) -> Iterator[Finding]:
    """A crashed rule, again on each object alone (what needs two objects together is lost only for this rule,
    only on this bundle); each object it still crashes on is a RULE-CRASH finding of its own."""
    for s in bundle.own_sources():
        alone = replace(bundle, sources=[s], errors=[], share=(0, 1))
        try:
            yield from r(alone)
        except Exception as e:
            yield Finding(
                "RULE-CRASH",
                ref(s.obj),
                f"rule {r.__name__} failed on this object: {type(e).__name__}: {str(e)[:200]}",
                "the object is likely malformed: the schema findings say where; the rule went on for the others",
                s.file,
                line=s.line,
            )
    if not bundle.sources:
        try:
            yield from r(bundle)
        except Exception as e:
            yield Finding("RULE-CRASH", r.__name__, f"rule {r.__name__} failed: {type(e).__name__}: {str(e)[:200]}")


PROGRESS_AFTER = 2.0  # seconds


# -- loading ---------------------------------------------------------------------------------------
def problem_finding(problem: reading.Problem, display: str) -> Finding:
    return Finding(problem.kind, display, problem.message, problem.hint, display)


def load_yaml_file(path: Path, display: str, bundle: Bundle, limits: reading.Limits = reading.LIMITS) -> list[Source]:
    """Parse a (multi-document) YAML file within the bounds; what cannot be read becomes a finding."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        bundle.errors.append(problem_finding(reading.unreadable(f"cannot be read ({e.strerror or e})"), display))
        return []
    bundle.bytes_read += len(raw)
    if bundle.bytes_read > limits.total_bytes:
        bundle.errors.append(problem_finding(reading.over("folder size", limits.total_bytes, "bytes"), display))
        return []
    # the bounds that keep memory bounded, checked on the bytes before anything is parsed
    nodes = reading.node_estimate(raw)
    bundle.nodes_estimated += nodes
    if bundle.nodes_estimated > limits.nodes:
        bundle.errors.append(
            problem_finding(reading.over("YAML node", limits.nodes, "nodes", bundle.nodes_estimated), display)
        )
        return []
    if (
        nodes > limits.document_nodes
        and (largest := reading.largest_document(raw, limits.document_nodes)) > limits.document_nodes
    ):
        bundle.errors.append(
            problem_finding(reading.over("document node", limits.document_nodes, "nodes", largest), display)
        )
        return []
    if len(bundle.sources) + reading.document_bound(raw) > limits.objects:
        documents = len(reading.document_lines(raw))
        if len(bundle.sources) + documents > limits.objects:
            bundle.errors.append(problem_finding(reading.over("object count", limits.objects, "objects"), display))
            return []
    # on a large file, the linear scans run in a child while this process parses (and looks for tokens)
    child = forked.start(lambda: reading.prescan(raw)) if len(raw) >= reading.PARALLEL_FROM_BYTES else None
    parsed = reading.parse_file(raw, limits, child.result if child is not None else None)
    tokens = credentials.may_hold_token(raw)
    if not tokens:
        bundle.token_free.add(display)
    if parsed.problem is not None:
        bundle.errors.append(problem_finding(parsed.problem, display))
        return []
    out: list[Source] = []
    for i, d in enumerate(parsed.documents):
        if d.obj is None:
            continue
        if not isinstance(d.obj, dict):
            bundle.errors.append(
                Finding(
                    "YAML-NOT-OBJECT",
                    f"{display}#{i}",
                    f"document {i} is a {type(d.obj).__name__}, not a Kubernetes object",
                    "each YAML document must be a mapping with apiVersion, kind and metadata",
                    display,
                    line=d.line,
                )
            )
            continue
        out.append(Source(d.obj, display, d.line))
    if len(bundle.sources) + len(out) > limits.objects:
        bundle.errors.append(problem_finding(reading.over("object count", limits.objects, "objects"), display))
        return []
    return out


def add_kustomization(bundle: Bundle, directory: Path, display: str, kubectl: str | None) -> None:
    """Build a kustomization; its objects join the bundle, each with the file and line kustomize took it from.

    A failed build becomes a KUSTOMIZE-BUILD finding (tagged D10 when listed files are missing), and the
    directory's YAML files are then read one by one, as a reviewer would, so that the other rules
    still see the objects.
    """
    kfile = f"{display}/kustomization.yaml" if display else "kustomization.yaml"
    content: Any = {}
    try:
        parsed = reading.parse((directory / "kustomization.yaml").read_bytes())
    except OSError as e:
        parsed = reading.Parsed(problem=reading.unreadable(f"cannot be read ({e.strerror or e})"))
    if parsed.problem is not None:
        bundle.errors.append(problem_finding(parsed.problem, kfile))
    elif parsed.documents:
        content = parsed.documents[0].obj
    content = content if isinstance(content, dict) else {}
    bundle.kustomizations[kfile] = content
    entries = content.get("resources") if isinstance(content.get("resources"), list) else []
    for entry in entries:
        if "://" in str(entry) or (directory / str(entry)).exists():
            continue
        near = [p.name for p in directory.glob("*.y*ml") if p.name.replace("-", "_") == str(entry).replace("-", "_")]
        hint = (
            f"the file is named {near[0]}: use the same name in both places"
            if near
            else "add the file or drop the entry"
        )
        bundle.errors.append(
            Finding("KUSTOMIZE-MISSING-FILE", f"{kfile}:{entry}", f"lists {entry}, which does not exist", hint, kfile)
        )
    result, origins = kustomize.build_with_origins(directory, kubectl)
    if not result.error:
        top = bundle.root.resolve() if bundle.root is not None else directory.resolve()
        prefix = "" if bundle.root is not None else (display + "/" if display else "")
        located = _Locator()
        for o, origin in zip(result.objects, origins, strict=False):
            file, line = kfile, 0
            if origin.path is not None and origin.path.is_relative_to(top):
                file = prefix + str(origin.path.relative_to(top))
                line = located.line(origin.path, o)
            bundle.sources.append(Source(o, file, line))
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
        if f.name != "kustomization.yaml" and f.is_file():
            rel = f"{display}/{f.name}" if display else f.name
            bundle.sources.extend(load_yaml_file(f, rel, bundle))


class _Locator:
    """The line a built object starts on in the file kustomize took it from: the document of the same kind whose
    name is the built name or part of it (kustomize's namePrefix/nameSuffix), else the file's only one."""

    def __init__(self) -> None:
        self.docs: dict[Path, list[reading.Document]] = {}

    def line(self, path: Path, o: Obj) -> int:
        if path not in self.docs:
            try:
                parsed = reading.parse(path.read_bytes())
            except OSError:
                parsed = reading.Parsed()
            self.docs[path] = [d for d in parsed.documents if isinstance(d.obj, dict)]
        same_kind = [d for d in self.docs[path] if d.obj.get("kind") == o.get("kind")]
        built = str((o.get("metadata") or {}).get("name", ""))
        named = [d for d in same_kind if str((d.obj.get("metadata") or {}).get("name", "")) in built]
        exact = [d for d in named if (d.obj.get("metadata") or {}).get("name") == built]
        for group in (exact, named, same_kind if len(same_kind) == 1 else []):
            if group:
                return group[0].line
        return 0


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
            bundle.sources.extend(load_yaml_file(ci / "ci.yaml", "ci/ci.yaml", bundle))
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
    for d in yaml.load_all(cp.stdout, Loader=reading.SAFE_LOADER):
        if isinstance(d, dict):
            bundle.sources.append(Source(d, f"{display} (rendered)"))


CODE_FILES = ("main.go", "Dockerfile", "go.mod")


def directory_bundle(
    directory: Path, pins: Pins, upstream: Upstream | None, kubectl: str | None = None,
    limits: reading.Limits = reading.LIMITS,
) -> Bundle:  # fmt: skip
    """The bundle of a user's directory: every YAML file, each kustomization built, each chart rendered; links
    out of the folder or round a loop, sockets and FIFOs, unreadable files and inputs over a bound are findings."""
    bundle = Bundle(pins=pins, upstream=upstream, label=str(directory), root=directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} does not exist or is not a directory")
    entries = list(reading.walk(directory, limits, lambda n: reading.is_yaml(n) or n in CODE_FILES))
    for e in entries:
        if e.problem is not None:
            bundle.errors.append(problem_finding(e.problem, e.display))
    readable = [e for e in entries if e.problem is None]
    kdirs = sorted({e.path.parent for e in readable if e.path.name == "kustomization.yaml"})
    for kdir in kdirs:
        add_kustomization(bundle, kdir, _display_of(readable, kdir), kubectl)
    charts = sorted(
        {e.path.parent for e in readable if e.path.name == "Chart.yaml" and (e.path.parent / "templates").is_dir()}
    )
    for chart in charts:
        add_helm_chart(bundle, chart, _display_of(readable, chart) or ".")
    for e in readable:
        if not reading.is_yaml(e.path.name) or e.path.name == "kustomization.yaml":
            continue
        if any(e.path.is_relative_to(k) for k in [*kdirs, *charts]):
            continue
        bundle.sources.extend(load_yaml_file(e.path, e.display, bundle, limits))
    for name in CODE_FILES:
        hits = [e for e in readable if e.path.name == name]
        if hits:
            bundle.code[name] = hits[0].path.read_bytes()[: limits.file_bytes].decode("utf-8", errors="replace")
    if upstream is not None:
        bundle.crds, _missing = load_stack_crds(upstream, pins)
    if not bundle.sources and not bundle.errors:
        bundle.errors.append(
            Finding(
                "NO-MANIFESTS",
                str(directory),
                "no YAML file or kustomization found",
                "point the check at the folder holding the GitOps repo and ci.yaml",
            )
        )
    return bundle


def _display_of(entries: list[reading.Entry], directory: Path) -> str:
    """The folder's name as the participant sees it (relative to the checked folder)."""
    for e in entries:
        if e.path.parent == directory:
            return e.display.rpartition("/")[0]
    return ""
