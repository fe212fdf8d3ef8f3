"""Kind clusters side by side: one worker per cluster, the cluster read from a test's parameters, and wait
bounds scaled to the cores the clusters share."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from argo_tutorial_suite.backends.side_by_side import cluster_scope, timeout_factor
from argo_tutorial_suite.tutorial.profiles import PINS, PROFILES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        ("scenarios/test_install.py::test_install[as-written-tutorial-2023]", "kind-cluster:tutorial-2023/as-written"),
        ("scenarios/test_tutorial.py::test_tutorial[corrected-current]", "kind-cluster:current/corrected"),
        ("scenarios/test_x.py::test_y[current-corrected]", "kind-cluster:current/corrected"),  # either order
        ("scenarios/test_smoke.py::test_smoke[tutorial-2023]", "kind-cluster:tutorial-2023/smoke"),
        ("scenarios/test_static.py::test_drift", "scenarios/test_static.py::test_drift"),  # its own scope
        ("scenarios/test_static.py::test_rule[D12]", "scenarios/test_static.py::test_rule[D12]"),
    ],
)
def test_the_cluster_is_read_from_the_parameters(nodeid: str, scope: str) -> None:
    assert cluster_scope(nodeid, PROFILES, PINS) == scope


def test_profiles_of_one_pins_set_are_two_clusters_and_pins_sets_are_not_mixed() -> None:
    ids = [f"t.py::t[{p}-{q}]" for p in PROFILES for q in PINS]
    assert len({cluster_scope(i, PROFILES, PINS) for i in ids}) == len(PROFILES) * len(PINS)


@pytest.mark.parametrize(
    ("workers", "cores", "asked", "factor"),
    [
        (1, 2, None, None),
        (2, 2, None, 2.0),
        (2, 4, None, None),
        (4, 2, None, 4.0),
        (3, 4, None, 1.5),
        (2, 2, "3", None),
    ],
)
def test_wait_bounds_scale_with_the_clusters_on_each_core(
    workers: int, cores: int, asked: str | None, factor: float | None
) -> None:
    assert timeout_factor(workers, cores, asked) == factor


def test_under_xdist_each_cluster_runs_on_one_worker_and_both_workers_run(tmp_path: Path) -> None:
    """The real scheduling: a kind and a docker that cannot start (``/bin/false``) fail every cluster test at
    once, and ``-v`` says which worker ran each."""
    pytest.importorskip("xdist")
    # no kind and no docker: nothing of this machine's clusters, registry or mirrors is touched
    env = {**os.environ, "ARGO_SUITE_TIMEOUT_FACTOR": "", "DOCKER": "/bin/false"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "scenarios",
            "--backend=kind",
            "--kind-bin",
            "/bin/false",
            "--docker-bin",
            "/bin/false",
            "-n",
            "2",
            "-v",
            "-p",
            "no:cacheprovider",
            "-m",
            "not static and not smoke",
            "--artifacts",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] \w+ (\S+)", out)
    assert len(ran) >= 2 * len(PROFILES), out[-3000:]
    by_cluster: dict[str, set[str]] = {}
    for worker, nodeid in ran:
        by_cluster.setdefault(cluster_scope(nodeid, PROFILES, PINS), set()).add(worker)
    assert all(len(w) == 1 for w in by_cluster.values()), by_cluster
    assert len({w for ws in by_cluster.values() for w in ws}) == 2, by_cluster
    assert "clusters side by side" in out
