"""Reading a participant's folder safely: which files, within which bounds, and where each object starts.

Any input gives findings, never a traceback, a hang or unbounded memory:

- the folder is walked without following a link out of it or round a loop; a socket, FIFO or device is never
  opened (reading a FIFO would block for ever); an unreadable file is a finding;
- a file over ``Limits.file_bytes``, a folder over ``Limits.total_bytes`` or ``Limits.objects``, nesting deeper
  than ``Limits.depth`` (libyaml composes recursively in C: a few hundred thousand ``[`` crash the process), and
  alias expansion beyond what go-yaml v3 accepts (``decode.go``: ``allowedAliasRatio``, "document contains
  excessive aliasing": the decoder kubectl and the API server use) are each a finding naming the bound;
- every object keeps the line its document starts on.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from argo_tutorial_suite.static import fastyaml

# libyaml's safe loader when PyYAML was built with it (several times faster on large files), else the pure one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Limits:
    """The bounds of one folder's check (each one a finding when crossed, naming it)."""

    file_bytes: int = 24 * 1024 * 1024
    total_bytes: int = 64 * 1024 * 1024
    objects: int = 200_000
    depth: int = 100
    files: int = 20_000
    # YAML nodes, estimated before parsing (:func:`node_estimate`): a parsed node costs up to about 150 bytes,
    # so 2.5 million keep a check under 500 MB whatever the shape (35,000 ConfigMaps hold about 500,000)
    nodes: int = 2_500_000
    # one document's nodes: PyYAML composes a whole document's node graph (about 550 bytes a node) before it
    # makes its objects; the largest CRDs hold about 50,000
    document_nodes: int = 400_000


LIMITS = Limits()


@dataclass(frozen=True)
class Problem:
    """Why a file or document was not read: ``kind`` is the finding's rule ID."""

    kind: str  # FILE-UNREADABLE, INPUT-LIMIT, YAML-MALFORMED, FILE-BINARY
    message: str
    hint: str


@dataclass
class Document:
    obj: Any
    line: int  # 1-based line the document starts on


@dataclass
class Parsed:
    documents: list[Document] = field(default_factory=list)
    problem: Problem | None = None


# -- the walk -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    path: Path  # what to open (symlinks resolved)
    display: str  # relative to the folder, as the participant wrote it
    problem: Problem | None = None


def is_yaml(name: str) -> bool:
    return name.endswith(YAML_SUFFIXES)


def walk(root: Path, limits: Limits = LIMITS, wanted: Callable[[str], bool] = is_yaml) -> Iterator[Entry]:
    """Every wanted file under ``root`` (sorted, links followed only inside ``root`` and never twice), and every
    wanted name that cannot be read, with its problem."""
    top = root.resolve()
    seen_dirs: set[str] = set()
    count = 0

    def inside(p: str) -> bool:
        return p == str(top) or p.startswith(str(top) + os.sep)

    def visit(directory: Path, rel: str) -> Iterator[Entry]:
        nonlocal count
        real = os.path.realpath(directory)
        if real in seen_dirs:
            return
        seen_dirs.add(real)
        try:
            names = sorted(os.listdir(directory))
        except OSError as e:
            yield Entry(directory, rel or ".", unreadable(f"cannot list the folder ({e.strerror or e})"))
            return
        for name in names:
            path = directory / name
            display = f"{rel}/{name}" if rel else name
            try:
                link = path.is_symlink()
                st = path.stat()  # follows links: ELOOP for a loop, ENOENT for a dangling one
            except OSError as e:
                if not wanted(name) and not link:
                    continue
                why = "a symlink loop" if getattr(e, "errno", None) == 40 else (
                    "a link to nothing" if link else f"cannot be read ({e.strerror or e})")  # fmt: skip
                yield Entry(path, display, unreadable(why))
                continue
            target = os.path.realpath(path)
            if link and not inside(target):
                if wanted(name) or stat.S_ISDIR(st.st_mode):
                    yield Entry(path, display, unreadable("a link out of the folder (not followed)"))
                continue
            if stat.S_ISDIR(st.st_mode):
                if name.startswith(".") and name != ".":
                    continue  # .git and the like
                yield from visit(path, display)
                continue
            if not wanted(name):
                continue
            count += 1
            if count > limits.files:
                yield Entry(path, display, over("files", limits.files, "files"))
                return
            if not stat.S_ISREG(st.st_mode):
                what = "a socket" if stat.S_ISSOCK(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"  # fmt: skip
                yield Entry(path, display, unreadable(f"{what}, not a file (not opened)"))
                continue
            if st.st_size > limits.file_bytes:
                yield Entry(path, display, over("file size", limits.file_bytes, "bytes", st.st_size))
                continue
            yield Entry(Path(target), display)

    yield from visit(root, "")


def unreadable(why: str) -> Problem:
    return Problem("FILE-UNREADABLE", f"not read: {why}", "replace it with the manifest it should be, or remove it")


def over(bound: str, limit: int, unit: str, got: int | None = None) -> Problem:
    seen = f" ({got:,} {unit})" if got is not None else ""
    return Problem(
        "INPUT-LIMIT",
        f"over the {bound} bound of {limit:,} {unit}{seen}: not read",
        "split it into smaller folders and check each (the bounds keep a check's memory under 500 MB)",
    )


def node_estimate(raw: bytes, start: int = 0, end: int | None = None) -> int:
    """An upper estimate of the YAML nodes ``raw[start:end]`` parses to, from byte counts alone: a block line
    holds at most a key, a value and the mapping they open (a "- " item one more), a flow separator or bracket one
    or two."""
    end = len(raw) if end is None else end
    lines = raw.count(b"\n", start, end) + 1  # the last line may lack its line break
    flow = 2 * raw.count(b",", start, end) + raw.count(b"[", start, end) + raw.count(b"{", start, end)
    return 2 * lines + 1 + raw.count(b"- ", start, end) + flow


_MARKER_AFTER_BREAK = re.compile(rb"\n(?:---|\.\.\.)(?=[ \t\r\n]|\Z)")  # the literal first: a fast skip


def largest_document(raw: bytes, above: int) -> int:
    """:func:`node_estimate` of ``raw``'s largest document (cut at its "---" markers) when it is over ``above``,
    else at most ``above`` (a document of n bytes estimates under 2n + 3 nodes: only long ones are counted)."""
    cuts = [m.start() for m in _MARKER_AFTER_BREAK.finditer(raw)] + [len(raw)]
    long = [(a, b) for a, b in itertools.pairwise([0, *cuts]) if 2 * (b - a) + 3 > above]
    return max((node_estimate(raw, a, b) for a, b in long), default=0)


def document_bound(raw: bytes) -> int:
    """An upper bound of the documents ``raw`` holds (every "---" counted, also inside a scalar)."""
    return raw.count(b"---") + 1


# -- one file -------------------------------------------------------------------------------------
DOC_MARKER = re.compile(rb"^(---|\.\.\.)(?=[ \t\r\n]|$)", re.M)
CONTENT_LINE = re.compile(rb"^[ \t]*[^ \t\r\n#]", re.M)
BRACKETS = re.compile(rb"[\[\]{}]")
DEEP_INDENT = re.compile(rb"\n[ \t]{200}")  # after a line break (the literal first: the engine skips to each)
# an alias: "*" at a token's start (the literal first: the engine skips to each "*" in C)
ALIAS = re.compile(rb"\*(?:(?<=[\s\[{,:-]\*)|(?<=^\*))[^\s,\[\]{}]")


class _Lines:
    """Line numbers of increasing offsets, counted once (a file is scanned one time, not once per document)."""

    def __init__(self, raw: bytes) -> None:
        self.raw, self.pos, self.line = raw, 0, 1

    def at(self, offset: int) -> int:
        if offset < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.raw.count(b"\n", self.pos, offset)
        self.pos = offset
        return self.line


def document_lines(raw: bytes) -> list[int]:
    """The 1-based line each document libyaml would yield starts on: its first content line (content before the
    first marker is a document only when it holds something; each ``---`` starts one, ``...`` ends one)."""
    lines = _Lines(raw)
    marks = list(DOC_MARKER.finditer(raw))
    starts: list[int] = []
    pending = True  # a document may start without a marker
    pos = 0
    for i, m in enumerate(marks):
        if pending and (c := CONTENT_LINE.search(raw, pos, m.start())):
            starts.append(lines.at(c.start()))
        if m.group(1) == b"---":
            end = marks[i + 1].start() if i + 1 < len(marks) else len(raw)
            eol = raw.find(b"\n", m.end(), end)
            rest = raw[m.end() : eol if eol >= 0 else end]
            bare = not rest.strip(b" \t\r") or rest.lstrip().startswith(b"#")
            content = CONTENT_LINE.search(raw, m.end(), end) if bare else None
            if not bare:  # "--- {a: 1}": the document starts on the marker's line
                starts.append(lines.at(m.start()))
            else:
                starts.append(lines.at(content.start()) if content else lines.at(m.start()) + 1)
            pending = False
        else:
            pending = True
        pos = m.end()
    if pending and (c := CONTENT_LINE.search(raw, pos)):
        starts.append(lines.at(c.start()))
    return starts


def deep_indent(raw: bytes) -> bool:
    """A line indented 200 columns or more: block nesting that may pass the depth bound."""
    return DEEP_INDENT.search(raw) is not None or (len(raw) >= 200 and not raw[:200].strip(b" \t"))


def flow_depth_bound(raw: bytes) -> int:
    """An upper bound of flow nesting (brackets in strings count too: never below the true depth)."""
    depth = top = 0
    for m in BRACKETS.finditer(raw):
        depth = depth + 1 if m.group() in (b"[", b"{") else max(depth - 1, 0)
        top = max(top, depth)
    return top


NESTING_REFUSED = "exceeded maximum nesting depth"


def deeper_than(text: str, limit: int) -> bool:
    """Whether libyaml's events nest deeper than ``limit`` (iterative in C, safe where composing would crash;
    it stops at the first event past the limit, as libyaml's flow scanning grows quadratic with the depth)."""
    depth = 0
    try:
        for ev in yaml.parse(text, Loader=SAFE_LOADER):
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as e:  # libyaml >= 0.2.6 (PyYAML 6.0.4's wheels) refuses 1000 levels itself
        return NESTING_REFUSED in str(e)
    return False


def alias_ratio_allowed(decoded: int) -> float:
    """go-yaml v3 ``allowedAliasRatio``: 99 % of a small document may come from aliases, 10 % of a huge one."""
    low, high = 400_000, 4_000_000
    if decoded <= low:
        return 0.99
    if decoded >= high:
        return 0.10
    return 0.99 - 0.89 * (decoded - low) / (high - low)


def expansion(node: yaml.Node) -> tuple[int, int]:
    """(nodes decoded, nodes decoded through an alias) of a composed document, as a decoder expanding every
    alias would count them (memoised per node: linear in the document's size, whatever the expansion)."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        # iterative post-order, so a deep (already bounded) document never recurses
        stack: list[tuple[yaml.Node, bool]] = [(n, False)]
        while stack:
            cur, done = stack.pop()
            if id(cur) in sizes:
                continue
            kids: list[yaml.Node] = []
            if isinstance(cur, yaml.SequenceNode):
                kids = list(cur.value)
            elif isinstance(cur, yaml.MappingNode):
                kids = [x for kv in cur.value for x in kv]
            if done or not kids:
                sizes[id(cur)] = 1 + sum(sizes[id(k)] for k in kids)
            else:
                stack.append((cur, True))
                stack.extend((k, False) for k in kids if id(k) not in sizes)
        return sizes[id(n)]

    total = size(node)
    unique = len(sizes)
    return total, max(total - unique, 0)


@dataclass(frozen=True)
class Prescan:
    """What linear scans of a file's bytes tell the parse: on a large file they run in a child process while this
    one parses (see ``engine.load_yaml_file``)."""

    decidable: bool  # fastyaml.decidable
    lines: list[int]  # document_lines


def prescan(raw: bytes) -> Prescan:
    return Prescan(fastyaml.decidable(raw), document_lines(raw))


def parse(raw: bytes, limits: Limits = LIMITS, scan: Callable[[], Prescan] | None = None) -> Parsed:
    """A file's documents, each with its start line, or the problem that kept it from being read (``scan``: the
    file's :class:`Prescan`, when the caller computes it elsewhere)."""
    parsed = _parse(raw, limits, scan, pyyaml=True)
    assert parsed is not None
    return parsed


def _parse(raw: bytes, limits: Limits, scan: Callable[[], Prescan] | None, pyyaml: bool) -> Parsed | None:
    """:func:`parse`; without ``pyyaml``, None where the fast reader does not take the file."""
    if b"\x00" in raw:
        return Parsed(problem=Problem("FILE-BINARY", "a binary file (it holds NUL bytes), not a YAML manifest",
                                      "remove it from the folder, or replace it with the manifest it should be"))  # fmt: skip
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Parsed(problem=Problem("YAML-MALFORMED", "not a UTF-8 text file",
                                      "save it as UTF-8 (a manifest is YAML text), or remove it from the folder"))  # fmt: skip
    try:
        if (flow_depth_bound(raw) > limits.depth or deep_indent(raw)) and deeper_than(text, limits.depth):
            return Parsed(problem=over("nesting depth", limits.depth, "levels"))
        if ALIAS.search(raw):
            docs = _load_counting_aliases(text, limits)
            if isinstance(docs, Problem):
                return Parsed(problem=docs)
        else:
            fast = _fast(raw, scan) if len(raw) >= FAST_FROM_BYTES else None
            if fast is None and not pyyaml:
                return None
            docs = fast if fast is not None else list(yaml.load_all(text, Loader=SAFE_LOADER))
    except yaml.YAMLError as e:
        if NESTING_REFUSED in str(e):
            return Parsed(problem=over("nesting depth", limits.depth, "levels"))
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        return Parsed(problem=Problem("YAML-MALFORMED", f"not valid YAML{where}: {problem}",
                                      "fix the indentation or quoting at that line"))  # fmt: skip
    except RecursionError:
        return Parsed(problem=over("nesting depth", limits.depth, "levels"))
    lines = scan().lines if scan is not None else document_lines(raw)
    if len(lines) != len(docs):  # a construct the marker scan does not model: take libyaml's own marks
        lines = [n.start_mark.line + 1 for n in yaml.compose_all(text, Loader=SAFE_LOADER)]
        lines += [1] * (len(docs) - len(lines))
    return Parsed([Document(d, line) for d, line in zip(docs, lines, strict=False)])


def _fast(raw: bytes, scan: Callable[[], Prescan] | None) -> list[Any] | None:
    """The fast reader's documents, or None; with a scan under way elsewhere, rapidyaml reads meanwhile and its
    answer is kept only when the scan finds the file decidable."""
    if scan is None:
        return fastyaml.load(raw)
    docs = fastyaml.read(raw)
    return docs if docs is not None and scan().decidable else None


PARALLEL_FROM_BYTES = 4 * 1024 * 1024  # smaller files parse faster in one process than the fork costs
FAST_FROM_BYTES = 256 * 1024  # below, PyYAML alone (a small folder's start-up stays without rapidyaml)


def _chunks(raw: bytes, parts: int) -> list[tuple[int, bytes]]:
    """``raw`` cut at document markers into about ``parts`` pieces: (line offset, bytes) each. YAML anchors do not
    cross documents, so each piece parses alone as it would in the whole."""
    cuts = [0]
    for i in range(1, parts):
        m = DOC_MARKER.search(raw, max(len(raw) * i // parts, cuts[-1] + 1))
        if m is None:
            break
        cuts.append(m.start())
    cuts.append(len(raw))
    out, line = [], 0
    for a, b in itertools.pairwise(cuts):
        out.append((line, raw[a:b]))
        line += raw.count(b"\n", a, b)
    return out


def _parse_piece(args: tuple[int, bytes, Limits]) -> tuple[list[Any], list[int], bool]:
    """(objects, lines, whether a problem stopped it): plain lists cross the process boundary ten times faster
    than dataclasses."""
    offset, piece, limits = args
    parsed = parse(piece, limits)
    return [d.obj for d in parsed.documents], [d.line + offset for d in parsed.documents], parsed.problem is not None


def parse_file(raw: bytes, limits: Limits = LIMITS, scan: Callable[[], Prescan] | None = None) -> Parsed:
    """:func:`parse`, in several processes for a large file (each piece a run of whole documents) unless the
    fast reader takes it whole; any problem in a piece is reported as the whole file's serial parse reports it."""
    workers = min(os.cpu_count() or 1, 4)
    if len(raw) < PARALLEL_FROM_BYTES or workers < 2 or b"\x00" in raw:
        return parse(raw, limits, scan)
    if not ALIAS.search(raw) and (fast := _parse(raw, limits, scan, pyyaml=False)) is not None:
        return fast  # the fast reader took it whole: faster than forks
    pieces = _chunks(raw, workers)
    if len(pieces) < 2:
        return parse(raw, limits)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        with ProcessPoolExecutor(len(pieces), mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_parse_piece, [(o, p, limits) for o, p in pieces]))
    except (OSError, RuntimeError):  # no fork here (a sandbox): one process
        return parse(raw, limits)
    if any(problem for _objs, _lines, problem in results):
        return parse(raw, limits)
    return Parsed([Document(o, n) for objs, lines, _p in results for o, n in zip(objs, lines, strict=True)])


def _load_counting_aliases(text: str, limits: Limits) -> list[Any] | Problem:
    out: list[Any] = []
    constructor = yaml.constructor.SafeConstructor()
    for node in yaml.compose_all(text, Loader=SAFE_LOADER):
        if node is None:
            out.append(None)
            continue
        decoded, via_alias = expansion(node)
        if decoded > limits.objects * 100 or (
            via_alias > 100 and decoded > 1000 and via_alias / decoded > alias_ratio_allowed(decoded)
        ):
            return Problem(
                "INPUT-LIMIT",
                f"over the alias expansion bound: its aliases expand to {decoded:,} nodes, {via_alias:,} of them "
                'copies (go-yaml, which kubectl uses, refuses it: "document contains excessive aliasing"): not read',
                "write the values out instead of repeating anchors (*alias) inside each other",
            )
        out.append(constructor.construct_document(node))
    return out
