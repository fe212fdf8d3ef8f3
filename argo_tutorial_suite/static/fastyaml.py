"""A fast reader for large YAML files, exact where it answers: rapidyaml (C++) parses the stream and emits each
document as JSON, which Python's C JSON decoder reads, about five times faster than PyYAML's constructor.

It answers only where both readings agree. YAML 1.1 (PyYAML's SafeLoader, and go-yaml v2/v3 as kubectl decodes)
types plain scalars by its implicit resolvers (``yaml/resolver.py``: bool ``yes|no|on|off`` and their cases, ints
in octal, hex, binary, with ``_`` or sexagesimal, floats such as ``.inf``, null ``~``, timestamps, ``<<``, ``=``),
while rapidyaml's JSON emitter types only JSON's own forms and keeps every key a string. So a file is read here
only when a bounded scan of its bytes finds no plain scalar, in any position, whose type could differ: no such
word or number-like token other than JSON's plain decimals, no number-like or ``true|false|null`` key, no tag,
anchor, alias, directive, complex key, tab, unbalanced flow bracket or character PyYAML refuses.
Everything else, and every file rapidyaml refuses, goes to PyYAML (:func:`None` here), which also words the error.
``tests/test_fastyaml.py`` compares the two readers on generated documents and on mutated ones.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

# where a plain scalar can begin: after a line break (past indentation and block sequence dashes), after a key's
# colon, inside a flow collection; each alternative of the scan starts at one of those characters, so the regex
# engine skips to them in C (a scan of 10 MB takes milliseconds)
# (a colon only as a key's: followed by a blank; the character class first, for the engine's fast skip)
_START = rb"[\n:\[{,](?:(?<=:)(?=[ \t])|(?<!:))"
_VALUE_END = rb"(?=[ \t]*(?:#|,|\]|\}|\n|\Z))"
_KEY_END = rb"(?=[ \t]*:(?:[ \t]|\n|\Z))"
# words YAML 1.1 types and JSON does not (resolver.py's bool, null, float specials, merge, value)
_WORDS = (
    rb"(?:yes|Yes|YES|no|No|NO|True|TRUE|False|FALSE|on|On|ON|off|Off|OFF|Null|NULL|~|=|<<"
    rb"|[-+]?\.?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN]))"
)
_PLAIN_DECIMAL = rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"  # typed the same by both: int, or float with a dot
_MARKER = rb"(?!(?:---|\.\.\.)(?:[ \t]|\n|\Z))"  # document markers are no scalars
# a digit in its first three characters: every number form of PyYAML's resolvers and of rapidyaml's JSON
_NUMBER_LIKE = _MARKER + rb"[-+]?\.?[0-9][^\s,\[\]{}#]*"
_RISKY = re.compile(
    _START
    + rb"(?:[ \t]*(?:-[ \t]+)*"
    # a quick look at the token's first character (most tokens are names: no alternative is tried on them)
    + rb"(?=[yYnNtTfFoOiI~=<+\-.0-9!&*@`%?:'\"|>])(?:"
    + rb"|".join(
        [
            _WORDS + rb"(?:" + _VALUE_END + rb"|" + _KEY_END + rb")",
            rb"(?:true|false|null)?" + _KEY_END,  # typed keys; JSON's keys are strings
            rb"(?!" + _PLAIN_DECIMAL + _VALUE_END + rb")" + _NUMBER_LIKE + _VALUE_END,
            _MARKER + rb"[-+]?\.?[0-9](?:[^\s,\[\]{}#:]|:(?=\S))*" + _KEY_END,  # "1:20: v" too
            # the same words quoted: rapidyaml 0.15's JSON emitter rewrites a quoted key "-inf" as "-.inf"
            rb"['\"]" + _WORDS + rb"['\"]",
            # a timestamp with its time after spaces (resolver.py: a date alone is number-like above)
            rb"[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:",
            rb"[!&*@`%?]",  # tags, anchors, aliases, reserved indicators, directives, complex keys
            rb":(?=\S)",  # a plain scalar starting with ":" (libyaml refuses it in a flow collection)
            # a block scalar's header with anything after it, a comment too (rapidyaml 0.15 then drops the
            # scalar's last line break)
            rb"[|>](?![-+0-9]*[ \t]*(?:\n|\Z))",
            # a quoted scalar not closed on its line (libyaml holds its continuation lines to rules rapidyaml does
            # not)
            rb'"(?:[^"\\\n]|\\.)*(?:\n|\Z)',
            rb"'(?:[^'\n]|'')*(?:\n|\Z)",
        ]
    )
    + rb"))"
)
# a key YAML 1.1 types (JSON's keys are all strings), found in rapidyaml's JSON, where every key, also a flow
# mapping's implicit one ("{a: 1, 7.5}", which has no colon for the scan of the bytes to see), is a string right
# after "{" or "," and before ":"
_TYPED_KEY = re.compile(
    r'[{,]\s*"(?=[-+.0-9yYnNtTfFoOiI~=<])(?:' + _WORDS.decode() + r'|true|false|null|[-+]?\.?[0-9][^"\\]*)"\s*:'
)
# a flow closer where a block value starts (rapidyaml takes "x: ]" as a scalar; libyaml refuses it)
_CLOSERS = re.compile(rb"[\]}]")
# a colon right before a flow indicator or "?" inside a plain scalar: libyaml's scanner refuses it inside a flow
# collection ("found unexpected ':'", scanner.c "Check for 'x:x' in the flow context"), rapidyaml and PyYAML's
# pure reader take it (after a quoted key, as in JSON's '{"a":[1]}', the colon is an indicator: no check)
_COLON_BEFORE_FLOW = re.compile(rb":(?<![\"']:)[,?\[\]{}]")  # the literal first: the engine skips to each ":"


def _colon_in_flow(raw: bytes) -> bool:
    """A colon of :data:`_COLON_BEFORE_FLOW` that may lie inside a flow collection: brackets opened and not closed
    since its document's start, or an opening bracket earlier on its line (a bracket in a string or comment counts
    too). One pass: the counts move from one match to the next."""
    depth = 0
    doc = line = seen = 0  # where the current document and line start; the end of what has been counted
    opener_on_line = False
    for m in _COLON_BEFORE_FLOW.finditer(raw):
        pos = m.start()
        marker = raw.rfind(b"\n---", seen, pos)
        if marker >= 0:  # a new document since the last match: count from it
            doc, seen, depth = marker + 1, marker + 1, 0
        depth += raw.count(b"[", seen, pos) + raw.count(b"{", seen, pos)
        depth -= raw.count(b"]", seen, pos) + raw.count(b"}", seen, pos)
        newline = raw.rfind(b"\n", max(seen, doc), pos)
        if newline >= 0:
            line, opener_on_line = newline + 1, False
        start = max(line, seen)
        opener_on_line = opener_on_line or raw.find(b"[", start, pos) >= 0 or raw.find(b"{", start, pos) >= 0
        seen = pos
        if depth != 0 or opener_on_line:
            return True
    return False


def _closer_opens_a_value(raw: bytes) -> bool:
    """A "]" or "}" after only indentation and dashes on its line, or after a colon (each closer looked at: a
    regex anchored at every line break costs more than the few closers a large block-style file holds). Linear:
    the look back stops at the first other character, and runs of blanks and dashes end at one closer each."""
    for m in _CLOSERS.finditer(raw):
        i = m.start() - 1
        while i >= 0 and raw[i] in b" \t-":
            i -= 1
        if i < 0 or raw[i] in b"\n:":
            return True
    return False


# characters PyYAML's reader refuses: C0 controls but tab and line breaks, DEL; beyond ASCII, C1 controls but
# NEL, and U+FFFE/U+FFFF
_REFUSED_ASCII = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_REFUSED_UTF8 = re.compile(rb"\xc2[\x80-\x84\x86-\x9f]|\xef\xbf[\xbe\xbf]")


def decidable(raw: bytes) -> bool:
    """Whether every plain scalar of ``raw`` reads the same in YAML 1.1 and in rapidyaml's JSON (a linear scan)."""
    if raw.count(b"[") != raw.count(b"]") or raw.count(b"{") != raw.count(b"}") or b"\t" in raw:
        return False  # unbalanced flow collections; tabs, which libyaml refuses in places rapidyaml takes
    if _REFUSED_ASCII.search(raw) or (not raw.isascii() and _REFUSED_UTF8.search(raw)):
        return False
    lines = b"\n" + raw
    if _colon_in_flow(raw):
        return False
    return _RISKY.search(lines) is None and not _closer_opens_a_value(raw)


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # JSON's NaN/Infinity: never what YAML 1.1 reads


def load(raw: bytes) -> list[Any] | None:
    """The documents of ``raw`` as PyYAML's SafeLoader reads them, or None where this reader cannot be sure
    (then read it with PyYAML)."""
    return read(raw) if decidable(raw) else None


def read(raw: bytes) -> list[Any] | None:
    """rapidyaml's reading of ``raw`` (None where it refuses it); it equals PyYAML's only where :func:`decidable`."""
    try:
        import ryml
    except ImportError:
        return None
    tree = _parse_quietly(ryml, raw)
    if tree is None:
        return None
    root = tree.root_id()
    try:
        if not (tree.is_stream(root) or tree.num_children(root) or tree.has_val(root)):
            return []
        stream = tree.is_stream(root)
        text = ryml.emit_json_malloc(tree, root)
        del tree  # its memory goes before the objects are made (a large file's peak: text and objects only)
        if b"{" in raw and _TYPED_KEY.search(text):  # block keys: the scan of the bytes saw them already
            return None
        docs = json.loads(text, parse_constant=_no_constant)
        del text
        if stream:  # its JSON is the list of its documents
            return docs if isinstance(docs, list) else None
        return [docs]
    except (ValueError, RuntimeError):
        return None


def _parse_quietly(ryml: Any, raw: bytes) -> Any:
    """rapidyaml's parse; its error handler writes to the process's stderr, so that is closed meanwhile (a
    refused file is read again by PyYAML, which words the error)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        return ryml.parse_in_arena(raw)
    except Exception:
        return None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
