"""The fast reader against PyYAML (the reference: YAML 1.1, as kubectl's go-yaml types scalars): wherever the
fast reader answers, its documents equal PyYAML's, on generated documents that use every scalar form PyYAML's
implicit resolvers know, and on valid manifests mutated at random (a mutant PyYAML refuses must not be read)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from argo_tutorial_suite.static import fastyaml, reading

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("ryml", reason="rapidyaml is a dependency of the package: install the project (pip install .)")

# plain scalars of every kind PyYAML's resolver.py types (bool, int in each base, float, null, timestamp, merge,
# value), JSON's own forms, and strings that only look close to them
PLAIN = [
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "n", "Y", "N",
    "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
    "0", "-0", "7", "-12", "+3", "0777", "0o17", "0x1F", "0b101", "1_000", "1:20", "190:20:30", "00", "012",
    "1.5", "-1.5", "1.", ".5", "-.5", "+.5", "1e3", "1E5", "1.0e+3", "1.0e3", "1e-3", "6.8523015e+5",
    ".inf", "-.inf", "+.Inf", ".nan", ".NaN", "inf", "nan", "Infinity", "NaN", "-inf",
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "<<", "=",
    "v1", "apps/v1", "ConfigMap", "hello world", "a:b", "http://x:80/y", "1.2.3", "10.0.0.1", "1e", "0b", "x-1",
    "-", "#", "é", "a#b", "1#", "@x", "`x", "!x", "&a", "*a", "%x", "?x", "|x", ">x",
]  # fmt: skip
WORDS = ["name", "kind", "data", "key", "spec", "a", "b", "on", "yes", "1", "true", "null", "2001-01-01", "<<"]


def quoted(s: str, rnd: random.Random) -> str:
    if rnd.random() < 0.5:
        return "'" + s.replace("'", "''") + "'"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# what a manifest mostly holds: names, JSON's own forms
COMMON = ["v1", "ConfigMap", "default", "nginx:1.25", "hello world", "0", "8080", "-1", "1.5", "true", "false", "null"]


def scalar(rnd: random.Random) -> str:
    r = rnd.random()
    if r < 0.5:
        return rnd.choice(COMMON)
    return quoted(rnd.choice(PLAIN), rnd) if r < 0.75 else rnd.choice(PLAIN)


def block(depth: int, indent: int, rnd: random.Random) -> list[str]:
    """A block mapping's lines: scalars, nested mappings, sequences (block and flow), block scalars."""
    pad = " " * indent
    out = []
    for _ in range(rnd.randint(1, 4)):
        key = rnd.choice(WORDS[:6]) if rnd.random() < 0.8 else scalar(rnd)
        r = rnd.random()
        if depth < 3 and r < 0.25:
            out.append(f"{pad}{key}:")
            out += block(depth + 1, indent + 2, rnd)
        elif r < 0.4:
            out.append(f"{pad}{key}:")
            out += [f"{pad}- {scalar(rnd)}" for _ in range(rnd.randint(1, 3))]
        elif r < 0.5:
            out.append(f"{pad}{key}: [{', '.join(scalar(rnd) for _ in range(rnd.randint(0, 3)))}]")
        elif r < 0.55:
            out.append(f"{pad}{key}: {{{rnd.choice(WORDS)}: {scalar(rnd)}}}")
        elif r < 0.62:
            out.append(f"{pad}{key}: {rnd.choice(['|', '|-', '>', '>-', '|+'])}")
            out += [f"{pad}  {rnd.choice(PLAIN)}" for _ in range(rnd.randint(1, 3))]
        else:
            out.append(f"{pad}{key}: {scalar(rnd)}" + (" # note" if rnd.random() < 0.1 else ""))
    return out


def stream(rnd: random.Random) -> bytes:
    docs = ["\n".join(block(0, 0, rnd)) for _ in range(rnd.randint(1, 3))]
    return ("\n---\n".join(docs) + "\n").encode()


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def pyyaml(raw: bytes) -> list[Any] | None:
    try:
        return list(yaml.load_all(raw.decode(), Loader=reading.SAFE_LOADER))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, TypeError):
        return None  # TypeError: an unhashable key; ValueError: a date out of range


def compare(raw: bytes) -> bool:
    """Whether the fast reader answered; fails when its answer differs from PyYAML's."""
    fast = fastyaml.load(raw)
    if fast is None:
        return False
    ref = pyyaml(raw)
    assert ref is not None, f"the fast reader read what PyYAML refuses:\n{raw.decode(errors='replace')}"
    assert same(fast, ref), f"fast {fast!r}\n != PyYAML {ref!r}\non:\n{raw.decode()}"
    return True


def test_generated_documents_read_as_pyyaml_reads_them() -> None:
    rnd = random.Random(20261205)
    answered = sum(compare(stream(rnd)) for _ in range(3000))
    # the scan must not refuse everything: then the fast reader would be dead code
    assert answered > 100, answered


def test_every_resolver_form_is_left_to_pyyaml() -> None:
    """Each plain scalar whose type could differ stops the fast reader, as a value, a key and a list item."""
    for s in PLAIN:
        for raw in (f"k: {s}\n", f"{s}: v\n", f"- {s}\n", f"k: [a, {s}]\n"):
            ref = pyyaml(raw.encode())
            fast = fastyaml.load(raw.encode())
            if fast is not None:
                assert ref is not None and same(fast, ref), (raw, fast, ref)


MUTATIONS = [":", " ", "-", "[", "]", "{", "}", ",", "'", '"', "#", "\t", "\n", "|", ">", "&", "*", "!", "?", "@"]


def test_mutated_manifests_never_read_differently() -> None:
    """Valid manifests with a character inserted, removed or replaced: a mutant PyYAML refuses is never taken
    by the fast reader, and one it reads is read the same."""
    files = sorted((ROOT / "manifests" / "tutorial").rglob("*.yaml"))
    assert files
    sources = [f.read_bytes() for f in files]
    rnd = random.Random(7)
    answered = 0
    for _ in range(4000):
        raw = bytearray(rnd.choice(sources))
        at = rnd.randrange(len(raw))
        op = rnd.random()
        if op < 0.4:
            raw[at:at] = rnd.choice(MUTATIONS).encode()
        elif op < 0.7:
            del raw[at]
        else:
            raw[at : at + 1] = rnd.choice(MUTATIONS).encode()
        answered += compare(bytes(raw))
    assert answered > 100, answered


def test_a_large_file_goes_the_fast_way_with_its_lines() -> None:
    docs = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  k: v{i}\n" for i in range(4000)]
    raw = ("---\n".join(docs)).encode()
    assert len(raw) >= reading.FAST_FROM_BYTES and fastyaml.load(raw) is not None
    parsed = reading.parse(raw)
    assert [d.obj for d in parsed.documents] == pyyaml(raw)
    assert [d.line for d in parsed.documents][:3] == [1, 8, 15]


def test_an_undecidable_large_file_is_read_by_pyyaml() -> None:
    docs = [f"kind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  enabled: yes\n" for i in range(4000)]
    raw = ("---\n".join(docs)).encode()
    assert len(raw) >= reading.FAST_FROM_BYTES and fastyaml.load(raw) is None
    parsed = reading.parse(raw)
    assert parsed.documents[0].obj["data"]["enabled"] is True  # YAML 1.1: yes is a bool (kubectl refuses it)


# inputs libyaml refuses and rapidyaml 0.15 reads (found by the mutation test): each is left to PyYAML
RAPIDYAML_TAKES = [
    "x: ]\n",
    "a:\n  - ]\n",
    "t: {kind:, Sensor}\n",
    "t: {pinned: :v1.11.0}\n",
    "k: > - name: a\n",
    "a: `x\n",
    "a: @x\n",
    "a: !!int x\n",
    "a:\n  - \tb\n",
    "r:\n  \"- host: a\n    http: b'\n",
]


@pytest.mark.parametrize("text", RAPIDYAML_TAKES)
def test_what_libyaml_refuses_is_left_to_it(text: str) -> None:
    assert pyyaml(text.encode()) is None
    assert not fastyaml.decidable(text.encode())


def test_a_block_scalar_header_with_a_comment_is_left_to_pyyaml() -> None:
    """rapidyaml 0.15 drops the last line break of a block scalar whose header carries a comment."""
    raw = b"images: | # a comment\n  -: a\n    b: c\nnext: 1\n"
    assert pyyaml(raw) == [{"images": "-: a\n  b: c\n", "next": 1}]
    assert fastyaml.load(raw) is None


@pytest.mark.parametrize(
    "text",
    [
        "items: [" + ",".join(["{}"] * 600_000) + "]\n",  # closers on one line: each looked back at once
        "v: x:{{y}}\n" * 300_000,  # colons before flow indicators in block scalars, one document
        "a: [" + "x:{y}, " * 300_000 + "]\n",  # the same inside one flow collection
    ],
)
def test_the_scan_is_linear(text: str) -> None:
    """Bytes of pathological shapes are decided in linear time (a scan per closer once took 560 s)."""
    import time

    raw = text.encode()
    start = time.monotonic()
    fastyaml.decidable(raw)
    assert time.monotonic() - start < 3.0, len(raw)
