"""The kind config, lifecycle decisions and registry wiring (offline; stand-in binaries where a command runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from argo_tutorial_suite.backends.gitserver import GIT_NODE_PORT, SERVICE, manifests
from argo_tutorial_suite.backends.kind.cluster import KindCreateFailed, KindLifecycle, keep_after, nodes_ready
from argo_tutorial_suite.backends.kind.config import (
    CONTAINERD_CERTS_D_PATCH,
    HASH_LABEL,
    ClusterSpec,
    HostPorts,
    hash_of,
    ports_of,
    render,
    reuse_decision,
)
from argo_tutorial_suite.backends.kind.registry import LocalRegistry, is_connected
from argo_tutorial_suite.proc import Runner
from argo_tutorial_suite.tools import Tool
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.verdicts.waits import State
from tests.standins import calls, recorder

IMAGE = "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
PORTS = HostPorts(http=18080, https=18443, git=19080)
KUBECONFIG = """apiVersion: v1
kind: Config
current-context: kind-t
clusters: [{name: kind-t, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: kind-t, context: {cluster: kind-t, user: kind-t}}]
users: [{name: kind-t, user: {token: x}}]
"""
# What kind does on create: write the kubeconfig it was given (pytest-kind then reads it with pykube).
WRITE_KUBECONFIG = (
    'for a in "$@"; do case "$a" in --kubeconfig=*) cat > "${a#--kubeconfig=}" <<\'EOF\'\n'
    + KUBECONFIG
    + "EOF\n;; esac; done"
)


def spec_for(profile: str, pins: str) -> ClusterSpec:
    p = Profile.load(profile, pins)
    shape = p.cluster_nodes()
    return ClusterSpec("argo-suite-t", p.pins.data["kind"]["node_image"], shape["control-plane"], shape["worker"])


@pytest.mark.parametrize("pins", ["tutorial-2023", "current"])
def test_corrected_cluster_has_three_workers_and_the_ingress_node(pins: str) -> None:
    cfg = render(spec_for("corrected", pins), PORTS)
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles == ["control-plane", "worker", "worker", "worker"]
    first = cfg["nodes"][0]
    assert first["labels"]["ingress-ready"] == "true"
    maps = {m["containerPort"]: m for m in first["extraPortMappings"]}
    assert {80, 443, GIT_NODE_PORT} == set(maps)
    assert all(m["listenAddress"] == "127.0.0.1" for m in maps.values())
    assert maps[80]["hostPort"] == 18080 and maps[443]["hostPort"] == 18443
    assert 'config_path = "/etc/containerd/certs.d"' in cfg["containerdConfigPatches"][0]
    assert cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert all("@sha256:" in n["image"] for n in cfg["nodes"])


def test_as_written_cluster_is_one_node() -> None:
    cfg = render(spec_for("as-written", "tutorial-2023"), PORTS)
    assert [n["role"] for n in cfg["nodes"]] == ["control-plane"]


def test_hash_ignores_ports_but_not_shape_or_image() -> None:
    a = ClusterSpec("c", IMAGE, workers=3)
    assert hash_of(render(a, PORTS)) == hash_of(render(a, HostPorts(1, 2, 3))) == a.config_hash()
    assert ClusterSpec("c", IMAGE, workers=2).config_hash() != a.config_hash()
    other = IMAGE.replace("v1.34.0", "v1.33.0")
    assert ClusterSpec("c", other, workers=3).config_hash() != a.config_hash()
    assert ports_of(render(a, PORTS)) == PORTS


def test_spec_rejects_unpinned_image_and_bad_names() -> None:
    with pytest.raises(ValueError, match="pinned by digest"):
        ClusterSpec("c", "kindest/node:v1.34.0")
    with pytest.raises(ValueError, match="lower-case"):
        ClusterSpec("Bad_Name", IMAGE)


def test_reuse_decision() -> None:
    assert reuse_decision([], "c", None, "h") == "create"
    assert reuse_decision(["c"], "c", "h", "h") == "reuse"
    assert reuse_decision(["c"], "c", "old", "h") == "recreate"
    assert reuse_decision(["c"], "c", None, "h") == "recreate"  # empty kubeconfig / unlabelled: never trust it


def test_keep_after() -> None:
    assert keep_after(True, False, False)
    assert keep_after(False, True, True)
    assert not keep_after(False, True, False)
    assert not keep_after(False, False, True)


def test_nodes_ready_counts_ready_nodes() -> None:
    def node(name: str, ready: str) -> dict[str, object]:
        return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}

    assert nodes_ready([node("a", "True")], 2).state is State.PENDING
    assert nodes_ready([node("a", "True"), node("b", "False")], 2).state is State.PENDING
    assert nodes_ready([node("a", "True"), node("b", "True")], 2).state is State.OK


def _lifecycle(tmp_path: Path, kind_cases: dict[str, str], kubectl_cases: dict[str, str]) -> tuple[KindLifecycle, Path]:
    bin_dir = tmp_path / "bin"
    kind = recorder(bin_dir, "kind", kind_cases)
    kubectl = recorder(bin_dir, "kubectl", kubectl_cases)
    spec = ClusterSpec("argo-suite-t", IMAGE, workers=3)
    lc = KindLifecycle(
        spec, Tool("kind", str(kind), "test"), Tool("kubectl", str(kubectl), "test"), tmp_path / "work", Runner()
    )
    return lc, bin_dir


def test_lifecycle_creates_with_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lc, bin_dir = _lifecycle(
        tmp_path, {"get clusters": "echo 'No kind clusters found.'", "create cluster*": WRITE_KUBECONFIG}, {}
    )
    access = lc.up(lambda: PORTS)
    assert access.decision == "create"
    created = [c for c in calls(bin_dir, "kind") if c.startswith("create cluster")]
    assert len(created) == 1
    assert f"--config {lc.config_file}" in created[0] and f"--image={IMAGE}" in created[0]
    assert "--retain" in created[0]
    assert ports_of(yaml.safe_load(lc.config_file.read_text())) == PORTS


def test_a_failed_create_keeps_its_output_and_logs_and_deletes_the_nodes(tmp_path: Path) -> None:
    lc, bin_dir = _lifecycle(
        tmp_path,
        {
            "get clusters": "echo 'No kind clusters found.'",
            "create cluster*": "echo 'ERROR: failed to create cluster: failed to init node with kubeadm' >&2; exit 1",
        },
        {},
    )
    with pytest.raises(KindCreateFailed, match="failed to init node with kubeadm") as e:
        lc.up(lambda: PORTS)
    assert str(lc.workdir / "create-logs") in str(e.value)
    verbs = [c.split()[0] for c in calls(bin_dir, "kind") if c.split()[0] in ("create", "export", "delete")]
    assert verbs == ["create", "export", "delete"]


def test_lifecycle_reuses_only_a_cluster_with_the_same_hash(tmp_path: Path) -> None:
    spec = ClusterSpec("argo-suite-t", IMAGE, workers=3)
    node = yaml.safe_dump({"metadata": {"labels": {HASH_LABEL: spec.config_hash()}}})
    lc, bin_dir = _lifecycle(
        tmp_path, {"get clusters": "echo argo-suite-t"}, {"*get node*": f"cat <<'EOF'\n{node}EOF\n"}
    )
    lc.workdir.mkdir(parents=True)
    lc.config_file.write_text(yaml.safe_dump(render(spec, PORTS)))
    access = lc.up(lambda: HostPorts(1, 2, 3))
    assert access.decision == "reuse" and access.ports == PORTS
    kind_calls = calls(bin_dir, "kind")
    assert any(c.startswith("export kubeconfig --name=argo-suite-t") for c in kind_calls)  # before reading it
    assert not any(c.startswith(("create", "delete")) for c in kind_calls)


def test_lifecycle_recreates_a_stale_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    node = yaml.safe_dump({"metadata": {"labels": {HASH_LABEL: "0000000000000000"}}})
    state = tmp_path / "deleted"
    lc, bin_dir = _lifecycle(
        tmp_path,
        {
            "get clusters": f"[ -e {state} ] && echo 'No kind clusters found.' || echo argo-suite-t",
            "delete cluster*": f"touch {state}",
            "create cluster*": WRITE_KUBECONFIG,
        },
        {"*get node*": f"cat <<'EOF'\n{node}EOF\n"},
    )
    access = lc.up(lambda: PORTS)
    assert access.decision == "recreate"
    kind_calls = calls(bin_dir, "kind")
    assert [c.split()[0] for c in kind_calls if c.split()[0] in ("delete", "create")] == ["delete", "create"]


def test_lifecycle_down_keeps_or_deletes(tmp_path: Path) -> None:
    lc, bin_dir = _lifecycle(tmp_path, {}, {})
    msg = lc.down(keep=False, keep_on_failure=True, failed=True)
    assert "kept" in msg and "kind delete cluster --name=argo-suite-t" in msg
    assert not calls(bin_dir, "kind")
    assert "deleted" in lc.down(keep=False, keep_on_failure=True, failed=False)
    assert calls(bin_dir, "kind")[-1].startswith("delete cluster --name=argo-suite-t")


def test_local_registry_follows_the_kind_recipe() -> None:
    reg = LocalRegistry(5001)
    assert reg.run_command() == [
        "docker", "run", "-d", "--restart=always", "-p", "127.0.0.1:5001:5000",
        "--network", "bridge", "--name", "kind-registry", "registry:3.0.0",
    ]  # fmt: skip
    assert reg.connect_command() == ["docker", "network", "connect", "kind", "kind-registry"]
    (mk, _), (cp, stdin) = reg.node_commands("n1")
    assert mk[-1] == "/etc/containerd/certs.d/kind-registry:5000"
    assert cp[-1] == "/etc/containerd/certs.d/kind-registry:5000/hosts.toml"
    assert stdin is not None and '[host."http://kind-registry:5000"]' in stdin
    cm = reg.hosting_configmap()
    assert cm["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert 'host: "127.0.0.1:5001"' in cm["data"]["localRegistryHosting.v1"]
    assert is_connected([{"Containers": {"x": {"Name": "kind-registry"}}}])
    assert not is_connected([{"Containers": {}}])


def test_git_server_node_port_is_the_mapped_one() -> None:
    svc = next(m for m in manifests() if m["kind"] == "Service")
    assert svc["metadata"]["name"] == SERVICE
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["nodePort"] == GIT_NODE_PORT


def test_registry_host_port_only_for_a_running_container() -> None:
    from argo_tutorial_suite.backends.kind.registry import registry_host_port

    assert registry_host_port('true {"5000/tcp":[{"HostIp":"127.0.0.1","HostPort":"41234"}]}') == 41234
    assert registry_host_port('false {"5000/tcp":[{"HostIp":"127.0.0.1","HostPort":"41234"}]}') is None
    assert registry_host_port("true {}") is None  # running without the published port: replace it
    assert registry_host_port("true null") is None


def test_registry_patch_follows_kinds_recipe_at_each_version() -> None:
    from argo_tutorial_suite.backends.kind.config import registry_patch

    old = registry_patch("v0.17.0", "kind-registry:5000")
    assert 'registry.mirrors."kind-registry:5000"' in old and 'endpoint = ["http://kind-registry:5000"]' in old
    assert "config_path" not in old  # beside kind v0.17's own mirrors entry, containerd refuses config_path
    assert 'config_path = "/etc/containerd/certs.d"' in registry_patch("v0.30.0", "kind-registry:5000")
    spec = ClusterSpec("argo-suite-t", IMAGE, kind_version="v0.17.0", restrict_oom_score_adj=True)
    patches = render(spec, PORTS)["containerdConfigPatches"]
    assert patches[0] == old and "restrict_oom_score_adj = true" in patches[1]
    assert (
        spec.config_hash()
        != ClusterSpec("argo-suite-t", IMAGE, kind_version="v0.30.0", restrict_oom_score_adj=True).config_hash()
    )


def test_create_error_lines_drop_the_go_stack() -> None:
    from argo_tutorial_suite.backends.kind.cluster import create_error_lines

    out = (
        "ERROR: failed to create cluster: failed to init node with kubeadm\n"
        "[kubelet-check] It seems like the kubelet isn't running or healthy.\n"
        "error execution phase wait-control-plane\n"
        "k8s.io/kubernetes/cmd/kubeadm/app/cmd/phases/workflow.(*Runner).Run.func1\n"
        "\tk8s.io/kubernetes/cmd/kubeadm/app/cmd/phases/workflow/runner.go:235\n"
        "runtime.goexit\n\truntime/asm_amd64.s:1594\n"
    )
    got = create_error_lines(out)
    assert got.splitlines()[0].startswith("ERROR: failed to create cluster")
    assert "kubelet isn't running" in got and "runner.go" not in got and "goexit" not in got


def test_mirror_mode_changes_the_patches_and_the_config_hash() -> None:
    plain = ClusterSpec(name="c", node_image=IMAGE, kind_version="v0.17.0")
    mirrored = ClusterSpec(name="c", node_image=IMAGE, kind_version="v0.17.0", mirror_hosts=("quay.io", "docker.io"))
    assert plain.config_hash() != mirrored.config_hash(), "a cluster made without mirrors is not reused with them"
    patches = "\n".join(mirrored.containerd_patches())
    assert 'mirrors."quay.io"' in patches and 'mirrors."docker.io"' in patches
    assert 'mirrors."kind-registry:5000"' in patches  # the suite's own registry stays wired
    newer = ClusterSpec(name="c", node_image=IMAGE, kind_version="v0.30.0", mirror_hosts=("quay.io",))
    assert newer.containerd_patches()[0] == CONTAINERD_CERTS_D_PATCH  # hosts.toml files instead
    assert len(newer.containerd_patches()) == 1 + int(newer.restrict_oom_score_adj)
