"""A participant's folder can hold anything: every input gives findings, within bounds, never a traceback or a hang.

Each case is written here from what breaks a reader (links, special files, YAML's aliases and nesting), not from
any folder seen in the wild.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from argo_tutorial_suite.static import reading
from argo_tutorial_suite.static.engine import directory_bundle, run
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.tutorial.profiles import Pins

NS = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n"


def check(folder: Path, limits: reading.Limits = reading.LIMITS) -> list[Finding]:
    return run(directory_bundle(folder, Pins.load("current"), None, limits=limits))


def by_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_a_symlink_loop_is_a_finding_and_the_rest_is_checked(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    (tmp_path / "ok.yaml").write_text(NS + "bogus: 1\n")
    found = check(tmp_path)
    loops = by_rule(found, "FILE-UNREADABLE")
    assert {f.obj for f in loops} == {"a.yaml", "b.yaml"} and all("symlink loop" in f.message for f in loops)
    assert any(f.rule == "SCHEMA-INVALID" and f.file == "ok.yaml" for f in found), "the other file was not checked"


def test_a_directory_loop_and_a_link_out_of_the_folder_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ns.yaml").write_text(NS)
    (tmp_path / "sub" / "again").symlink_to("..")  # a loop through a directory
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    outside.write_text(NS)
    (tmp_path / "out.yaml").symlink_to(outside)
    found = check(tmp_path)
    assert [f.obj for f in by_rule(found, "FILE-UNREADABLE")] == ["out.yaml"]
    assert "out of the folder" in by_rule(found, "FILE-UNREADABLE")[0].message


def test_a_dangling_link_a_socket_and_a_fifo_are_findings_never_opened(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to("nowhere.yaml")
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it to read would block for ever
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.yaml"))
    try:
        start = time.monotonic()
        found = by_rule(check(tmp_path), "FILE-UNREADABLE")
        assert time.monotonic() - start < 10
    finally:
        sock.close()
    assert {f.obj: f.message for f in found} == {
        "gone.yaml": "not read: a link to nothing",
        "pipe.yaml": "not read: a FIFO, not a file (not opened)",
        "s.yaml": "not read: a socket, not a file (not opened)",
    }


def test_an_unreadable_file_is_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text(NS)
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "a.yaml":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    [f] = by_rule(check(tmp_path), "FILE-UNREADABLE")
    assert f.message == "not read: cannot be read (Permission denied)"


def test_each_bound_is_named_when_crossed(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text(NS + "# " + "x" * 2000 + "\n")
    (tmp_path / "many.yaml").write_text("---\n".join(["{kind: A}\n"] * 30))
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 40 + "]" * 40 + "\n")
    limits = reading.Limits(file_bytes=1000, objects=20, depth=30)
    found = {f.obj: f.message for f in by_rule(check(tmp_path, limits), "INPUT-LIMIT")}
    assert "file size bound of 1,000 bytes" in found["big.yaml"]
    assert "object count bound of 20 objects" in found["many.yaml"]
    assert "nesting depth bound of 30 levels" in found["deep.yaml"]


def test_the_memory_bounds_are_checked_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nodes (the folder's and one document's) and documents are counted on the bytes: what crosses a bound is
    never parsed (the parser, broken here on purpose, is never called for it)."""
    (tmp_path / "nodes.yaml").write_text("items:\n" + "- a\n" * 400)
    (tmp_path / "docs.yaml").write_text("---\na: 1\n" * 50)
    (tmp_path / "one.yaml").write_text("items: [" + ",".join(["{}"] * 100) + "]\n")

    def no_parse(*_a: object, **_k: object) -> reading.Parsed:
        raise AssertionError("parsed a file past a bound")

    monkeypatch.setattr(reading, "parse_file", no_parse)
    for name, limits, bound in (
        ("nodes.yaml", reading.Limits(nodes=500), "YAML node bound of 500 nodes"),
        ("docs.yaml", reading.Limits(objects=20), "object count bound of 20 objects"),
        ("one.yaml", reading.Limits(document_nodes=150), "document node bound of 150 nodes"),
    ):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).write_bytes((tmp_path / name).read_bytes())
        [f] = by_rule(check(folder, limits), "INPUT-LIMIT")
        assert bound in f.message, f.message


def test_node_estimate_is_never_below_the_nodes_parsed() -> None:
    """The estimate bounds what PyYAML builds: every node of a composed document is counted, on documents of
    each shape (block maps and lists, flow maps and lists, nested, scalars of every style)."""

    def count(n: yaml.Node) -> int:
        if isinstance(n, yaml.MappingNode):
            return 1 + sum(count(k) + count(v) for k, v in n.value)
        if isinstance(n, yaml.SequenceNode):
            return 1 + sum(count(x) for x in n.value)
        return 1

    samples = [
        "a: 1\nb:\n  c: [1, 2, {d: e}]\n  f:\n  - g\n  - h: i\n    j: k\n",
        "- [a, b, [c, d]]\n- {x: y, z: [1]}\n- - - deep\n",
        "k: |\n  text\n  more\nl: 'q'\nm: \"r\"\n",
        "[{a: 1}, {b: 2}, [], {}]\n",
        "a: 1\nb: 2",  # no line break at the end
        "{a: [1,2,3], b: {c: d}}\n",
        "- a: 1\n  b: 2\n- c\n",
    ]
    for text in samples:
        nodes = sum(count(d) for d in yaml.compose_all(text, Loader=reading.SAFE_LOADER) if d is not None)
        assert reading.node_estimate(text.encode()) >= nodes, text


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    script = "if [[ -f x ]]; then echo '" + "[" * 300 + "'; fi"
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  run.sh: |\n    " + script + "\n"
    )
    assert not by_rule(check(tmp_path), "INPUT-LIMIT")


BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=False)
)


def _child(code: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter: (seconds, peak MB, stdout)."""
    start = time.monotonic()
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert cp.returncode == 0, cp.stderr[-2000:]
    return took, peak, cp.stdout


def test_an_alias_bomb_is_refused_fast_and_small(tmp_path: Path) -> None:
    """A 400-byte file whose aliases expand to a billion nodes: refused in well under a second of parsing,
    under 500 MB (measured in a child process, so the figure is its own)."""
    (tmp_path / "bomb.yaml").write_text(BOMB)
    (tmp_path / "ns.yaml").write_text(NS)
    code = (
        "from pathlib import Path\nfrom argo_tutorial_suite.static.engine import directory_bundle, run\n"
        "from argo_tutorial_suite.tutorial.profiles import Pins\n"
        f"fs = run(directory_bundle(Path({str(tmp_path)!r}), Pins.load('current'), None))\n"
        "print('\\n'.join(f'{f.rule} {f.obj}' for f in fs))\n"
    )
    took, peak, out = _child(code)
    assert "INPUT-LIMIT bomb.yaml" in out.splitlines()
    assert took < 20 and peak < 500, (took, peak)


def test_deep_nesting_that_crashes_libyaml_is_refused(tmp_path: Path) -> None:
    """libyaml composes recursively in C: a few hundred thousand ``[`` end the process. Refused before that."""
    (tmp_path / "deep.yaml").write_text("[" * 300_000 + "]" * 300_000)
    found = by_rule(check(tmp_path), "INPUT-LIMIT")
    assert [f.obj for f in found] == ["deep.yaml"]


def test_a_small_alias_use_is_read_as_written(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: &l {app: x}\n  annotations: *l\n"
    )
    found = check(tmp_path)
    assert not by_rule(found, "INPUT-LIMIT")


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n",
        "---\na: 1\n",
        "# lead\n\n---\na: 1\n---\nb: 2\n",
        "a: 1\n---\n",
        "---\n---\na: 1\n",
        "a: 1\n...\n---\nb: 2\n...\n",
        "a: |\n  ---\n  x\n---\nb: 2\n",
        "%YAML 1.1\n---\na: 1\n",
        "---  \na: 1\n--- # c\nb: 2\n",
        "--- {a: 1}\n--- [b]\n",
    ],
)
def test_document_lines_agree_with_libyaml(text: str) -> None:
    """The fast marker scan gives each document the line libyaml starts it on (or the parser falls back)."""
    import yaml

    parsed = reading.parse(text.encode())
    marks = [n.start_mark.line + 1 for n in yaml.compose_all(text)]
    assert [d.line for d in parsed.documents] == marks


def test_objects_from_files_and_kustomize_builds_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "plain.yaml").write_text("# a comment\n" + NS + "---\napiVersion: v1\nkind: ConfigMap\n"
                                         "metadata:\n  name: c\n  namespace: demo\nbogus: 1\n")  # fmt: skip
    app = tmp_path / "app"
    (app / "base").mkdir(parents=True)
    (app / "base" / "cm.yaml").write_text(
        NS + "---\n# the map\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n  namespace: demo\nbogus: 2\n"
    )
    (app / "base" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (app / "kustomization.yaml").write_text("resources: [base]\nnamePrefix: p-\n")
    found = [f for f in check(tmp_path) if f.rule == "SCHEMA-INVALID"]
    where = {(f.file, f.line) for f in found}
    assert ("plain.yaml", 7) in where, where
    assert ("app/base/cm.yaml", 7) in where, where
    assert all("config.kubernetes.io/origin" not in f.message for f in found)
