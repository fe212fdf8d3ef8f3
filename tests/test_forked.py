"""Work beside the main process: a forked child's value, the caller's own when the child dies, and the folder
check's findings on a large folder equal to those of one process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from argo_tutorial_suite.static import engine, forked
from argo_tutorial_suite.tutorial.profiles import Pins


def test_a_child_computes_the_value() -> None:
    parent = os.getpid()
    child = forked.start(lambda: os.getpid())
    if child is None:
        pytest.skip("this system cannot fork, or has one core: the callers compute in-process")
    assert child.result() != parent  # computed in another process
    assert child.result() == child.result()  # received once, kept


def test_a_dead_child_leaves_the_value_to_the_caller() -> None:
    parent = os.getpid()
    child = forked.start(lambda: "here" if os.getpid() == parent else os._exit(3))
    if child is None:
        pytest.skip("this system cannot fork, or has one core")
    assert child.result() == "here"


def folder(tmp_path: Path, n: int) -> Path:
    docs = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: default\ndata:\n  k: v{i}\n"
            for i in range(n)]  # fmt: skip
    docs[0] = docs[0].replace("\ndata:", "\ndataa:")  # a schema error in each process's share
    docs[1] = docs[1].replace("\ndata:", "\ndat:")
    docs[2] = docs[2].replace("namespace: default", "namespace: nowhere")  # a light rule's finding
    (tmp_path / "big.yaml").write_text("---\n".join(docs))
    return tmp_path


def test_a_large_folder_finds_in_two_processes_what_one_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = engine.PARALLEL_RULES_FROM + 10
    pins = Pins.load("current")
    shared = engine.run(engine.directory_bundle(folder(tmp_path, n), pins, None, None))
    monkeypatch.setattr(engine, "PARALLEL_RULES_FROM", 10**9)
    alone = engine.run(engine.directory_bundle(tmp_path, pins, None, None))
    assert shared == alone
    ids = {(f.rule, f.obj) for f in shared}
    assert {("SCHEMA-INVALID", "ConfigMap/default/cm-0"), ("SCHEMA-INVALID", "ConfigMap/default/cm-1")} <= ids
    assert ("NAMESPACE-MISSING", "Namespace/nowhere") in ids
