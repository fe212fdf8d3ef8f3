"""The node's cgroup v1 preparation (argo_offline_images/nodeimage.py): run against a fake /sys/fs/cgroup."""

from __future__ import annotations

import subprocess
from pathlib import Path

from argo_offline_images.nodefiles import CGROUP_V1_SCRIPT, SHARED_CONTROLLERS


def test_the_script_is_valid_sh_and_unmounts_each_shared_controller() -> None:
    assert subprocess.run(["sh", "-n"], input=CGROUP_V1_SCRIPT, text=True, check=False).returncode == 0
    for c in SHARED_CONTROLLERS:
        assert f"umount /sys/fs/cgroup/{c} " in CGROUP_V1_SCRIPT
    assert "perf_event" in SHARED_CONTROLLERS and "cpu" not in SHARED_CONTROLLERS and "memory" not in SHARED_CONTROLLERS


def test_kubelet_roots_are_made_in_the_hierarchies_left(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    for c in ("cpu", "memory", "perf_event"):
        (root / c).mkdir(parents=True)
        (root / c / "cgroup.procs").write_text("")
    script = CGROUP_V1_SCRIPT.replace("/sys/fs/cgroup", str(root)).replace("mountpoint -q", "false")
    assert subprocess.run(["sh", "-c", script], check=False).returncode == 0
    for c in ("cpu", "memory", "perf_event"):
        assert (root / c / "kubelet.slice").is_dir() and (root / c / "kubelet").is_dir()
