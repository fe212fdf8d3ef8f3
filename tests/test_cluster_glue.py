"""Tools, preflight, images, readiness, port-forward, redaction, install runner, inventory, waits (offline)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from argo_tutorial_suite import tools
from argo_tutorial_suite.backends import host as preflight
from argo_tutorial_suite.backends.install import explain, resolve_floating, run_plan
from argo_tutorial_suite.backends.pool import Pool
from argo_tutorial_suite.backends.portforward import PortForwardError, parse_forwarding, pick_pod, port_forward
from argo_tutorial_suite.live import inventory as inventory
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.proc import CommandFailed, Runner
from argo_tutorial_suite.redact import MASK, Redactor
from argo_tutorial_suite.static.rules.install import ANNOTATION_LIMIT, required_anti_affinity_replicas
from argo_tutorial_suite.tutorial import images
from argo_tutorial_suite.tutorial.installplan import InstallPlan
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts.waits import Seen, State, WaitFailed, expect, expect_consistently
from tests.standins import calls, recorder, script


# -- tools ------------------------------------------------------------------------------------------
def test_resolve_prefers_option_then_env_then_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = script(tmp_path / "a" / "kind", "echo a")
    b = script(tmp_path / "b" / "kind", "echo b")
    monkeypatch.setenv("PATH", str(tmp_path / "b"))
    monkeypatch.setenv("KIND", str(a))
    assert tools.resolve("kind", None, "--kind-bin", "KIND").origin == "$KIND"
    assert tools.resolve("kind", str(b), "--kind-bin", "KIND").path == str(b)
    monkeypatch.delenv("KIND")
    assert tools.resolve("kind", None, "--kind-bin", "KIND").origin == "PATH"


def test_missing_tool_names_the_download_for_this_arch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("KIND", raising=False)
    monkeypatch.setattr("platform.machine", lambda: "aarch64")
    monkeypatch.setattr("platform.system", lambda: "Linux")
    with pytest.raises(tools.ToolError) as e:
        tools.resolve("kind", None, "--kind-bin", "KIND", version="v0.30.0")
    assert "https://kind.sigs.k8s.io/dl/v0.30.0/kind-linux-arm64" in str(e.value)
    assert "dl.k8s.io/release/v1.34.1/bin/darwin/amd64/kubectl" in tools.download_hint(
        "kubectl", "v1.34.1", "Darwin", "x86_64"
    )
    with pytest.raises(tools.ToolError, match="architecture"):
        tools.host_platform("Linux", "s390x")


def test_bad_option_path_is_named() -> None:
    with pytest.raises(tools.ToolError, match="--kind-bin=/no/such/kind is not an executable"):
        tools.resolve("kind", "/no/such/kind", "--kind-bin", "KIND")


def test_version_parsing_and_checks() -> None:
    assert tools.parse_kind_version("kind v0.30.0 go1.24.6 linux/amd64") == "v0.30.0"
    assert tools.parse_kubectl_version('{"clientVersion": {"gitVersion": "v1.34.1"}}') == "v1.34.1"
    with pytest.raises(tools.ToolError):
        tools.parse_kind_version("garbage")
    assert tools.check_kind_version("v0.17.0", "v0.30.0") is not None
    assert tools.check_kind_version("v0.30.0", "v0.30.0") is None
    assert tools.check_kubectl_skew("v1.32.0", "1.34") is not None
    assert tools.check_kubectl_skew("v1.33.2", "1.34") is None
    for name in ("tutorial-2023", "current"):
        pins = Pins.load(name)
        assert tools.check_kubectl_skew(pins.data["kubectl"]["version"], pins.kubernetes) is None


# -- preflight --------------------------------------------------------------------------------------
GOOD = preflight.HostFacts(
    docker_ok=True,
    docker_error="",
    inotify_watches=524288,
    inotify_instances=512,
    mem_available_bytes=16 * preflight.GIB,
    disk_free_bytes=50 * preflight.GIB,
    machine="x86_64",
)


def test_preflight_passes_a_good_host() -> None:
    assert preflight.check(GOOD, preflight.Needs.for_nodes(4)) == []


def test_preflight_names_each_problem_and_its_fix() -> None:
    bad = preflight.HostFacts(
        docker_ok=False,
        docker_error="Cannot connect to the Docker daemon at unix:///var/run/docker.sock",
        inotify_watches=8192,
        inotify_instances=128,
        mem_available_bytes=2 * preflight.GIB,
        disk_free_bytes=3 * preflight.GIB,
        machine="s390x",
        ports_in_use=[8080],
        missing_binaries={"kind": "curl -fsSLo /usr/local/bin/kind ..."},
        apparmor_restrict_userns=1,
    )
    problems = {p.check: p for p in preflight.check(bad, preflight.Needs.for_nodes(4))}
    assert set(problems) == {"binary", "docker", "arch", "inotify", "memory", "disk", "port", "userns"}
    assert problems["userns"].fix == "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
    assert "Cannot connect to the Docker daemon" in problems["docker"].what
    assert "--backend=sim" in problems["docker"].fix
    text = "\n".join(str(p) for p in preflight.check(bad, preflight.Needs.for_nodes(4)))
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in text
    assert "sudo sysctl fs.inotify.max_user_instances=512" in text
    assert "ss -ltnp 'sport = :8080'" in text


def test_docker_status_reports_the_daemon_error(tmp_path: Path) -> None:
    docker = script(
        tmp_path / "docker", "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1"
    )
    ok, err = preflight.docker_status(str(docker))
    assert not ok and "Cannot connect to the Docker daemon" in err
    assert preflight.docker_status(None) == (False, "docker: command not found")


def test_ports() -> None:
    port = preflight.free_port()
    assert not preflight.port_in_use(port)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert preflight.port_in_use(s.getsockname()[1])


def test_meminfo_parse() -> None:
    assert preflight.mem_available("MemTotal: 10 kB\nMemAvailable:   2048 kB\n") == 2048 * 1024


# -- images from the real manifests ----------------------------------------------------------------
TUTORIAL_BUS: Obj = {"kind": "EventBus", "spec": {"nats": {"native": {}}}}
CORRECTED_BUS: Obj = {"kind": "EventBus", "spec": {"jetstream": {"version": "latest"}}}


@pytest.mark.parametrize(
    ("pins", "expected"),
    [
        (
            "tutorial-2023",
            {
                "quay.io/argoproj/argocd:v2.6.3",
                "quay.io/argoproj/argo-rollouts:v1.4.1",
                "quay.io/argoproj/workflow-controller:v3.4.4",
                "quay.io/argoproj/argocli:v3.4.4",
                "quay.io/argoproj/argoexec:v3.4.4",
                "quay.io/argoproj/argo-events:v1.7.5",
                "nats-streaming:0.22.1",
                "nats:2.9.1",
                "quay.io/jetstack/cert-manager-webhook:v1.11.0",
            },
        ),
        (
            "current",
            {
                "quay.io/argoproj/argocd:v3.5.1",
                "quay.io/argoproj/argo-rollouts:v1.9.1",
                "quay.io/argoproj/argoexec:v4.1.2",
                "quay.io/argoproj/argo-events:v1.9.11",
                "nats:2.10.29",
                "quay.io/jetstack/cert-manager-controller:v1.21.1",
            },
        ),
    ],
)
def test_image_list_from_the_install_manifests(upstream: Upstream, pins: str, expected: set[str]) -> None:
    p = Pins.load(pins)
    versions = {c: p.pinned(c) for c in [*images.INSTALL_FILES, "cert-manager"]}
    found = images.stack_images(upstream, versions, [TUTORIAL_BUS, CORRECTED_BUS])
    flat = set(images.flatten(found))
    assert expected <= flat
    assert not [i for i in flat if i.endswith(":latest")], "every image must be pinned"
    assert any("haproxy" in i for i in found["argo-cd"]) and any("redis" in i for i in found["argo-cd"])
    assert all("ingress-nginx" in i for i in found["ingress-nginx"])


def test_unknown_eventbus_version_is_a_clear_error(upstream: Upstream) -> None:
    cfg = images.controller_config(upstream.load_all("argo-events", "v1.7.5", "manifests/install.yaml"))
    with pytest.raises(ValueError, match="not offered"):
        images.eventbus_images(cfg, {"spec": {"jetstream": {"version": "9.9.9"}}})


def test_preload_commands_use_image_archives() -> None:
    cmds = list(images.preload_commands("nats:2.9.1", "linux/arm64", "/cache", "c"))
    assert cmds[1] == [
        "docker",
        "image",
        "save",
        "--platform",
        "linux/arm64",
        "-o",
        "/cache/nats_2.9.1.tar",
        "nats:2.9.1",
    ]
    assert cmds[2] == ["kind", "load", "image-archive", "/cache/nats_2.9.1.tar", "--name", "c"]
    # Docker 26 (Engine API 1.45) has no `save --platform` (measured on our engine): leave it out there
    older = list(images.preload_commands("nats:2.9.1", "linux/amd64", "/cache", "c", api_version="1.45"))
    assert older[1] == ["docker", "image", "save", "-o", "/cache/nats_2.9.1.tar", "nats:2.9.1"]
    assert not images.api_at_least("garbage", (1, 48))


# -- the HA node rule and the annotation-size rule on the real manifests -----------------------------
@pytest.mark.parametrize("tag", ["v2.6.3", "v3.5.1"])
def test_ha_anti_affinity_fits_the_corrected_cluster_only(upstream: Upstream, tag: str) -> None:
    objs = upstream.load_all("argo-cd", tag, "manifests/ha/install.yaml")
    need = max(r for _, r in required_anti_affinity_replicas(objs))
    assert need == 3
    assert Profile.load("corrected").schedulable_nodes() >= need > Profile.load("as-written").schedulable_nodes()


@pytest.mark.parametrize(("tag", "over"), [("v2.6.3", False), ("v3.5.1", True)])
def test_applicationset_crd_size_against_the_annotation_limit(upstream: Upstream, tag: str, over: bool) -> None:
    import json

    objs = upstream.load_all("argo-cd", tag, "manifests/ha/install.yaml")
    crd = next(
        o
        for o in objs
        if o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"].startswith("applicationsets")
    )
    assert ANNOTATION_LIMIT == 262144
    assert (len(json.dumps(crd, separators=(",", ":"))) > ANNOTATION_LIMIT) is over


# -- readiness --------------------------------------------------------------------------------------
def deploy(want: int, available: int, gen: int = 1, observed: int = 1) -> Obj:
    return {
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "n", "generation": gen},
        "spec": {"replicas": want},
        "status": {
            "observedGeneration": observed,
            "replicas": want,
            "updatedReplicas": available,
            "availableReplicas": available,
        },
    }


def test_deployment_readiness() -> None:
    assert readiness.deployment(deploy(2, 2)).state is State.OK
    assert readiness.deployment(deploy(2, 1)).state is State.PENDING
    assert readiness.deployment(deploy(2, 2, gen=2, observed=1)).state is State.PENDING
    stuck = deploy(1, 0)
    stuck["status"]["conditions"] = [
        {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "timed out"}
    ]
    assert readiness.deployment(stuck).state is State.FAILED


def test_pod_problems_are_terminal() -> None:
    pod = {
        "metadata": {"name": "p"},
        "status": {
            "containerStatuses": [
                {
                    "name": "c",
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
                }
            ]
        },
    }
    seen = readiness.all_of("argo-cd", [readiness.deployment(deploy(1, 0))], [pod])
    assert seen.state is State.FAILED and "ImagePullBackOff" in seen.detail
    # a pull error on a young pod may heal (429, 5xx, a tag pushed a moment later): not terminal yet
    pod["metadata"]["creationTimestamp"] = "2026-12-01T10:00:00Z"  # type: ignore[index]
    created = 1796119200.0  # 2026-12-01T10:00:00Z
    assert readiness.pod_problem(pod, now=created + 30) is None
    assert "ImagePullBackOff" in (readiness.pod_problem(pod, now=created + readiness.IMAGE_PULL_GRACE + 1) or "")
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] = "CrashLoopBackOff"  # type: ignore[index]
    assert readiness.pod_problem(pod) is None  # first restarts may heal
    pod["status"]["containerStatuses"][0]["restartCount"] = 3  # type: ignore[index]
    assert readiness.pod_problem(pod) is not None


def test_component_readiness_needs_the_webhook_ca() -> None:
    # the admission Jobs are deleted once done (ttlSecondsAfterFinished: 0 in controller-v1.15.1's kind
    # deploy.yaml): readiness is their results, the Secret and the caBundle, never the Jobs themselves
    jobs = [{"kind": "Secret", "metadata": {"name": "ingress-nginx-admission", "namespace": "ingress-nginx"}}]
    ctrl = deploy(1, 1)
    ctrl["metadata"] = {"name": "ingress-nginx-controller", "namespace": "ingress-nginx", "generation": 1}
    hook: Obj = {
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "ingress-nginx-admission"},
        "webhooks": [{"name": "v", "clientConfig": {}}],
    }
    assert readiness.component("ingress-nginx", [*jobs, ctrl, hook]).state is State.PENDING
    hook["webhooks"][0]["clientConfig"]["caBundle"] = "Q0E="
    assert readiness.component("ingress-nginx", [*jobs, ctrl, hook]).state is State.OK
    assert readiness.component("ingress-nginx", [ctrl, hook]).state is State.PENDING  # no Secret yet


def test_ingress_controller_must_run_on_the_ingress_ready_node() -> None:
    nodes = [
        {"metadata": {"name": "cp", "labels": {"ingress-ready": "true"}}},
        {"metadata": {"name": "w1", "labels": {}}},
    ]
    pod: Obj = {"metadata": {"name": "ingress-nginx-controller-abc"}, "spec": {"nodeName": "w1"}}
    seen = readiness.on_ingress_ready_node([pod], nodes)
    assert seen.state is State.FAILED and "w1" in seen.detail and "cp" in seen.detail
    pod["spec"]["nodeName"] = "cp"
    assert readiness.on_ingress_ready_node([pod], nodes).state is State.OK
    assert readiness.on_ingress_ready_node([], nodes).state is State.PENDING


def test_eventbus_readiness() -> None:
    assert readiness.eventbus({"status": {"conditions": [{"type": "Deployed", "status": "True"}]}}).state is State.OK
    assert readiness.eventbus({"status": {}}).state is State.PENDING
    bad = {"status": {"conditions": [{"type": "Deployed", "status": "False", "reason": "InvalidSpec", "message": "x"}]}}
    assert readiness.eventbus(bad).state is State.FAILED


# -- port-forward -----------------------------------------------------------------------------------
def test_parse_forwarding() -> None:
    assert parse_forwarding("Forwarding from 127.0.0.1:43521 -> 8080") == 43521
    assert parse_forwarding("Forwarding from [::1]:43521 -> 8080") == 43521
    assert parse_forwarding("Handling connection for 43521") is None


def pod(name: str, ready: bool, created: str, deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = created
    return {"metadata": meta, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_pick_pod_skips_unready_and_terminating() -> None:
    pods = [
        pod("old", True, "2026-01-01", deleting=True),
        pod("new", True, "2026-01-02"),
        pod("unready", False, "2026-01-03"),
    ]
    assert pick_pod(pods) == "new"
    with pytest.raises(PortForwardError, match="no ready pod"):
        pick_pod([pod("x", False, "2026")])


def test_port_forward_yields_the_bound_port_and_kills_the_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    kubectl = script(
        tmp_path / "kubectl", f'echo $$ > {pidfile}\necho "Forwarding from 127.0.0.1:45678 -> 8080"\nexec sleep 60\n'
    )
    start = time.monotonic()
    with port_forward(str(kubectl), "argocd", "pod/argocd-server-1", 8080) as port:
        assert port == 45678
    assert time.monotonic() - start < 10
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)


def test_port_forward_failure_carries_stderr(tmp_path: Path) -> None:
    kubectl = script(
        tmp_path / "kubectl", 'echo "error: unable to forward port because pod is not running" >&2; exit 1\n'
    )
    with pytest.raises(PortForwardError, match="pod is not running"):
        with port_forward(str(kubectl), "argocd", "pod/x", 8080):
            pass


# -- redaction --------------------------------------------------------------------------------------
def test_redaction_of_values_shapes_and_secrets() -> None:
    r = Redactor()
    r.register("s3cr3t-pass")
    b64 = base64.b64encode(b"s3cr3t-pass").decode()
    text = (
        f"PASSWORD: s3cr3t-pass and {b64}; Authorization: Bearer abc.def; "
        '{"token":"eyJhbGciOi.eyJzdWIiOiJh.c2lnbmF0dXJl"}'
    )
    out = r.text(text)
    assert "s3cr3t-pass" not in out and b64 not in out and "abc.def" not in out and "eyJhbGciOi" not in out
    assert out.count(MASK) >= 4
    secret = {"kind": "Secret", "data": {"password": b64}, "metadata": {"name": "argocd-initial-admin-secret"}}
    assert r.obj(secret)["data"] == {"password": MASK}
    assert r.text('"password":"x12345"') == f'"password":"{MASK}"'


def test_command_failure_message_is_redacted() -> None:
    from argo_tutorial_suite.redact import REDACTOR

    REDACTOR.register("hunter2-token")
    with pytest.raises(CommandFailed) as e:
        Runner().run(["sh", "-c", "echo 'login hunter2-token refused' >&2; exit 3"])
    assert "hunter2-token" not in str(e.value) and "exited 3" in str(e.value)


# -- the install runner on the tutorial's plan -----------------------------------------------------
def test_as_written_install_outcomes_match_the_static_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    password = base64.b64encode(b"admin-pw-123").decode()
    recorder(
        bin_dir,
        "kubectl",
        {
            # kubectl <= 1.24 (rollout_status.go): a collection is refused at once
            "rollout status deployment -n *": "echo 'error: rollout status is only supported on individual "
            "resources and resource collections - 7 resources were found' >&2; exit 1",
            "-n argocd get secret argocd-initial-admin-secret*": f"printf {password}",
        },
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    profile = Profile.load("as-written", "tutorial-2023")
    outcomes = run_plan(
        profile.install_plan(), Runner(), tmp_path / "kubeconfig", profile.pins.resolve, concurrent=False, timeout=30
    )
    predicted = {
        "install:Install start argo-events#2": ["D1"],
        "install:Install start argo-cd#2": ["D4"],
        "install:Install start argo-rollouts#2": ["D4"],
        "install:Install start argo-workflows#2": ["D4"],
        "install:Install start argo-events#3": ["D4"],
        "install:Install start cert-manager#1": ["D4"],
    }
    verdicts = {c.object: v for c, v, _ in explain(outcomes, predicted)}
    assert verdicts["install:Install start argo-events#2"] == "known defect D1"  # ubectl: command not found
    assert verdicts["install:Install start argo-cd#2"] == "known defect D4"
    assert verdicts["install:Show the admin password and port-forward the UIs#2"] == "not verified here"
    assert verdicts["install:Install start argo-cd#1"] == "ok"
    by_obj = {c.object: c for s in outcomes for c in s.commands}
    assert by_obj["install:Install start argo-events#2"].returncode == 127
    # floating refs resolved with the pins and recorded
    assert by_obj["install:Install start argo-cd#1"].resolved == {"argo-cd@stable": "v2.6.3"}
    applied = [c for c in calls(bin_dir, "kubectl") if c.startswith("apply")]
    assert any("argo-cd/v2.6.3/manifests/ha/install.yaml" in c for c in applied)
    assert any("releases/download/v1.4.1/install.yaml" in c for c in applied)
    # the PASSWORD assignment carries into the echo of the same step
    echo = by_obj["install:Show the admin password and port-forward the UIs#1"]
    assert "PASSWORD: admin-pw-123" in echo.output


def test_resolve_floating_keeps_pinned_refs() -> None:
    pins = Pins.load("current")
    run = "kubectl apply -n argo -f https://github.com/argoproj/argo-workflows/releases/download/v3.4.4/install.yaml"
    assert resolve_floating(run, pins.resolve) == (run, {})


def test_corrected_plan_runs_components_concurrently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    recorder(bin_dir, "kubectl", {"*wait*": "sleep 0.5"})
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    plan = Profile.load("corrected", "current").install_plan()
    start = time.monotonic()
    outcomes = run_plan(plan, Runner(), tmp_path / "kc", Pins.load("current").resolve, concurrent=True, timeout=30)
    elapsed = time.monotonic() - start
    waits = sum(1 for c in plan.commands() if " wait " in c.run)
    assert waits >= 6 and elapsed < waits * 0.5  # in parallel, not one after the other
    assert all(c.status in ("ok", "not-run") for s in outcomes for c in s.commands)
    assert [s.title for s in outcomes][-1].startswith("Show the admin password")


def test_plan_with_set_e_preamble() -> None:
    plan = InstallPlan.from_data(
        {"preamble": ["set -euo pipefail  # D8"], "steps": [{"title": "t", "commands": [{"run": "false"}]}]}
    )
    outcomes = run_plan(plan, Runner(), Path("/nonexistent"), lambda c, r: None, concurrent=False)
    assert outcomes[0].status == "failed"


# -- inventory (existing-cluster mode) -------------------------------------------------------------
def test_inventory_reads_versions_and_health() -> None:
    d = deploy(1, 1)
    d["metadata"] = {"name": "argo-rollouts", "namespace": "argo-rollouts", "generation": 1}
    d["spec"]["template"] = {"spec": {"containers": [{"image": "quay.io/argoproj/argo-rollouts:v1.4.1"}]}}
    st = inventory.component_state("argo-rollouts", [d], [])
    assert st.installed and st.version == "v1.4.1" and st.verdict == "healthy"
    assert inventory.component_state("argo-events", [d], []).verdict == "missing"
    assert (
        inventory.image_version(
            "registry.k8s.io/ingress-nginx/controller:v1.5.1@sha256:abc", "ingress-nginx/controller"
        )
        == "v1.5.1"
    )
    assert inventory.version_drift("v1.4.1", "v1.9.1") is not None


# -- waits ------------------------------------------------------------------------------------------
def test_expect_stops_at_once_on_failure() -> None:
    n = [0]

    def probe() -> Seen:
        n[0] += 1
        return Seen.pending("building") if n[0] < 3 else Seen.failed("Workflow Failed", status={"phase": "Failed"})

    start = time.monotonic()
    with pytest.raises(WaitFailed) as e:
        expect(probe, "workflow succeeded", timeout=30)
    assert time.monotonic() - start < 5 and not e.value.timed_out
    assert e.value.evidence == {"status": {"phase": "Failed"}}
    assert "workflow succeeded: failed" in str(e.value)


def test_expect_times_out_with_the_last_observation() -> None:
    with pytest.raises(WaitFailed) as e:
        expect(lambda: Seen.pending("phase Running"), "workflow succeeded", timeout=0.5, interval=0.05)
    assert e.value.timed_out and "last seen: phase Running" in str(e.value)


def test_expect_returns_ok_and_reports_progress() -> None:
    seen: list[str] = []
    n = [0]

    def probe() -> Seen:
        n[0] += 1
        return Seen.ok("done") if n[0] > 2 else Seen.pending(f"try {n[0]}")

    assert expect(probe, "x", 5, interval=0.01, progress=lambda w, s, left: seen.append(s.detail)).detail == "done"
    assert seen == ["try 1", "try 2"]


def test_expect_consistently_fails_on_the_first_bad_sample() -> None:
    vals = iter([Seen.ok("v1"), Seen.ok("v1"), Seen.failed("v2 answered")])
    with pytest.raises(WaitFailed, match="sample 3"):
        expect_consistently(lambda: next(vals), "active serves v1", duration=10, every=0.01)
    assert len(expect_consistently(lambda: Seen.ok("v1"), "x", duration=0.05, every=0.01)) >= 2


def test_subprocess_timeout_is_reported() -> None:
    ran = Runner().run(["sleep", "5"], timeout=0.2, check=False)
    assert ran.returncode == -9 and "timed out" in ran.stderr


def test_pool_keeps_one_backend_at_a_time() -> None:

    closed: list[str] = []

    class B:
        def __init__(self, pid: str):
            self.pid = pid

        def close(self, failed: bool) -> str:
            closed.append(f"{self.pid}:{failed}")
            return "closed"

    pool = Pool(lambda p, stage: B(p.id), one_at_a_time=True)
    a, b = Profile.load("as-written", "current"), Profile.load("corrected", "current")
    first = pool.get(a)
    assert pool.get(a) is first and closed == []
    pool.failed = True
    pool.get(b)
    assert closed == ["as-written@current:True"] and list(pool.backends) == ["corrected@current"]
    assert pool.closed == ["as-written@current: closed"]


@pytest.mark.parametrize("pins", ["tutorial-2023", "current"])
def test_on_top_plan_uses_the_versions_the_tutorial_installed(pins: str) -> None:
    profile = Profile.load("as-written", pins)
    plan = profile.on_top_plan()
    assert plan is not None and Profile.load("corrected", pins).on_top_plan() is None
    text = "\n".join(c.run for c in plan.commands())
    assert "{" not in text, "every version placeholder is filled"
    assert f"argo-cd/{profile.versions()['argo-cd']}/manifests/install.yaml" in text
    assert f"ingress-nginx/{profile.versions()['ingress-nginx']}/deploy/static/provider/kind/deploy.yaml" in text
    assert all(c.fixes for c in plan.commands()), "every workaround names the defect it works around"


def test_pool_keeps_simulated_worlds_side_by_side() -> None:
    class W:
        def __init__(self, key: str) -> None:
            self.key = key

        def close(self, failed: bool) -> str:
            return "closed"

    pool = Pool(lambda p, stage: W(p.id))
    a, b = Profile.load("as-written", "current"), Profile.load("corrected", "current")
    assert pool.get(a).key == "as-written@current" and pool.get(b).key == "corrected@current"
    assert set(pool.backends) == {"as-written@current", "corrected@current"} and pool.closed == []


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "x", "namespace": "argo"},
    "spec": {
        "selector": {"matchLabels": {"app": "x"}},
        "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "i", "args": ["server"]}]},
        },
    },
}


@pytest.mark.parametrize("pins", ["tutorial-2023", "current"])
def test_corrected_patches_survive_the_shell_and_apply(pins: str, tmp_path: Path) -> None:
    """Each corrected ``kubectl patch`` is split as bash splits it (the plan runs through ``bash -c``); its
    patch must be one JSON argument that ``kubectl patch --local`` applies (kubectl on PATH, no cluster)."""
    import shlex

    patches = [c.run for c in Profile.load("corrected", pins).install_plan().commands() if " patch " in f" {c.run} "]
    assert len(patches) == 2
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "traefik-ingress-nginx-controller"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"},
               "subjects": [{"kind": "ServiceAccount", "name": "traefik-ingress-nginx-controller", "namespace": "default"}]}  # fmt: skip
    for run in patches:
        argv = shlex.split(run)
        target = binding if argv[2] == "clusterrolebinding" else DEPLOYMENT
        manifest = tmp_path / "target.json"
        manifest.write_text(json.dumps(target))
        value = next(a.split("=", 1)[1] for a in argv if a.startswith("-p="))
        json.loads(value)  # one JSON argument, not split by the shell
        kind = next(a.split("=", 1)[1] for a in argv if a.startswith("--type="))
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            continue
        cp = subprocess.run(
            [kubectl, "patch", "--local", "-f", str(manifest), f"--type={kind}", f"-p={value}", "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert cp.returncode == 0, f"{run}: {cp.stderr}"
        if target is binding:  # Traefik's documented binding names the default namespace; it runs in traefik (D37)
            assert json.loads(cp.stdout)["subjects"][0]["namespace"] == "traefik"
            continue
        spec = json.loads(cp.stdout)["spec"]["template"]["spec"]
        assert spec.get("nodeSelector") == {"ingress-ready": "true"} or spec["containers"][0]["args"] == [
            "server",
            "--auth-mode=server",
        ]


def test_argo_workflows_v4_is_applied_server_side() -> None:
    """From v4.0 the release's CRDs must be applied server-side (argo-workflows docs/installation.md)."""
    plan = Profile.load("corrected", "current").install_plan()
    applies = [c.run for c in plan.commands() if "argo-workflows" in c.run and " apply " in f" {c.run} "]
    assert applies and all("--server-side" in a for a in applies)


def test_pool_remembers_a_failed_start_and_does_not_retry() -> None:
    from argo_tutorial_suite.backends.pool import BackendFailed

    tries: list[str] = []

    def build(p: Profile, stage: str) -> Any:
        tries.append(p.id)
        raise RuntimeError("kind create cluster failed: boom")

    pool = Pool(build, one_at_a_time=True)
    prof = Profile.load("corrected", "current")
    with pytest.raises(RuntimeError, match="boom"):
        pool.get(prof)
    with pytest.raises(BackendFailed, match="boom"):
        pool.get(prof)
    assert tries == [prof.id]


def test_runner_cancel_kills_running_commands_at_once(tmp_path: Path) -> None:
    import threading

    from argo_tutorial_suite.proc import Cancelled

    runner = Runner()
    marker = tmp_path / "child-alive"
    errors: list[BaseException] = []

    def go() -> None:
        try:
            runner.run(["bash", "-c", f"(sleep 30; touch {marker}) & sleep 30"], timeout=60)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=go)
    t.start()
    deadline = time.monotonic() + 10
    while not runner._running and time.monotonic() < deadline:
        time.sleep(0.05)
    start = time.monotonic()
    runner.cancel()
    t.join(timeout=10)
    assert not t.is_alive() and time.monotonic() - start < 5
    assert errors and isinstance(errors[0], Cancelled)
    with pytest.raises(Cancelled, match="not started"):
        runner.run(["true"])


def test_cert_manager_startupapicheck_image_by_release() -> None:
    """cert-manager-startupapicheck is published from v1.14 on; v1.11 ran cert-manager-ctl (the pre-load must
    not ask for an image that does not exist)."""
    old, new = images.cert_manager_images("v1.11.0"), images.cert_manager_images("v1.21.1")
    assert "quay.io/jetstack/cert-manager-ctl:v1.11.0" in old
    assert not any("startupapicheck" in i for i in old)
    assert "quay.io/jetstack/cert-manager-startupapicheck:v1.21.1" in new
    assert "quay.io/jetstack/cert-manager-acmesolver:v1.21.1" in new  # the HTTP-01 solver pod's image


def test_install_commands_run_the_resolved_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kubectl` in the tutorial's lines is the binary the suite resolved (--kind-kubectl-bin, $KUBECTL, the
    offline build), not the one on PATH."""
    on_path = tmp_path / "path"
    recorder(on_path, "kubectl", {"*": "echo from-path"})
    (tmp_path / "pinned").mkdir()
    chosen = script(tmp_path / "pinned" / "kubectl-v1.25.3", 'echo "chosen $KUBECONFIG $*"\n')
    monkeypatch.setenv("PATH", f"{on_path}:/usr/bin:/bin")
    plan = InstallPlan.from_data({"steps": [{"title": "t", "commands": [{"run": "kubectl version --client"}]}]})
    out = run_plan(plan, Runner(), tmp_path / "kc", lambda c, r: None, concurrent=False, kubectl=str(chosen))
    cmd = out[0].commands[0]
    assert cmd.status == "ok" and cmd.output.startswith(f"chosen {tmp_path / 'kc'} version --client"), cmd.output


def test_install_outcomes_survive_a_kept_cluster() -> None:
    """A reused cluster gets its install's outcomes back from the marker instead of running the tutorial's
    script again (where `kubectl create namespace` fails with AlreadyExists)."""
    from argo_tutorial_suite.backends.install import CommandOutcome, StepOutcome, loads_outcomes, plan_hash
    from argo_tutorial_suite.backends.kind.install_phase import install_marker

    outcomes = [
        StepOutcome(
            "Install start argo-cd", [CommandOutcome("Install start argo-cd", 0, "kubectl x", "ok", 0, 1.5)], 2.0
        )
    ]
    cm = install_marker("abc", outcomes)
    assert cm["metadata"] == {"name": "argo-suite-install", "namespace": "kube-system"}
    assert loads_outcomes(cm["data"]["outcomes"]) == outcomes
    a = Profile.load("as-written", "current")
    b = Profile.load("corrected", "current")
    assert plan_hash(a.install_plan(), a.on_top_plan(), extra=a.pins.data) == plan_hash(
        a.install_plan(), a.on_top_plan(), extra=a.pins.data
    )
    assert plan_hash(a.install_plan(), None) != plan_hash(b.install_plan(), None)


def test_pod_running_and_completed() -> None:
    assert readiness.pod_running(None, "p").state is State.PENDING
    pod: Obj = {
        "metadata": {"name": "p"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert readiness.pod_running(pod, "p").state is State.OK
    assert readiness.pod_completed(pod, "p").state is State.PENDING
    pod["status"]["phase"] = "Succeeded"
    assert readiness.pod_running(pod, "p").state is State.FAILED and readiness.pod_completed(pod, "p").state is State.OK
    pod["status"]["phase"] = "Failed"
    assert readiness.pod_completed(pod, "p").state is State.FAILED


@pytest.mark.parametrize("pins", ["tutorial-2023", "current"])
def test_preload_list_is_what_the_profile_runs(upstream: Upstream, pins: str) -> None:
    """Computed from the profile's own rendered objects: the versions it installs (as written: the tutorial's
    refs), its EventBus images, its CI containers, the ACME solver; no digest-pinned image, nothing of the
    suite's own registry."""
    written = images.profile_images(Profile.load("as-written", pins), upstream, {}, "kind-registry:5000/")
    corrected = images.profile_images(Profile.load("corrected", pins), upstream, {}, "kind-registry:5000/")
    assert "moby/buildkit:v0.11.0-rootless" in written and "alpine:3.17" in written  # the tutorial's CI
    assert "nats-streaming:0.22.1" in written  # its EventBus: native NATS streaming
    assert "quay.io/jetstack/cert-manager-ctl:v1.11.0" in written  # the tutorial installs cert-manager v1.11.0
    assert "alpine/git:v2.47.2" in corrected and "curlimages/curl:8.11.1" in corrected
    assert "golang:1.20.1-alpine3.17" in written and "golang:1.26-alpine" in corrected  # the app's Dockerfile
    assert any(i.startswith("nats:") for i in corrected)  # its EventBus: JetStream
    cm = Pins.load(pins).pinned("cert-manager")
    assert f"quay.io/jetstack/cert-manager-acmesolver:{cm}" in corrected
    for imgs in (written, corrected):
        assert not [i for i in imgs if "@sha256:" in i or i.startswith("kind-registry:5000/")]


def test_dockerfile_bases_and_digest_pins() -> None:
    df = "FROM golang:1.20.1-alpine3.17 AS builder\nRUN x\nFROM --platform=linux/amd64 alpine:3.14\nFROM builder\nFROM scratch\n"
    assert images.dockerfile_bases(df) == ["golang:1.20.1-alpine3.17", "alpine:3.14"]
    assert images.digest_pinned("registry.k8s.io/ingress-nginx/controller:v1.5.1@sha256:" + "a" * 64)
    assert not images.digest_pinned("nats:2.9.1")


def test_a_sensor_log_is_read_only_once_its_container_has_started() -> None:
    from argo_tutorial_suite.flow.state import main_started

    creating = {
        "status": {"containerStatuses": [{"name": "main", "state": {"waiting": {"reason": "ContainerCreating"}}}]}
    }
    running = {"status": {"containerStatuses": [{"name": "main", "state": {"running": {}}}]}}
    assert not main_started(creating) and not main_started({"status": {}}) and main_started(running)


def test_shared_containers_stay_while_another_cluster_uses_them() -> None:
    from argo_tutorial_suite.backends.kind.backend import other_nodes

    shared = {"kind-registry", "argo-suite-mirror-docker-io"}
    net = {"a": {"Name": "kind-registry"}, "b": {"Name": "argo-suite-mirror-docker-io"}}
    assert other_nodes(net, shared) == []
    net["c"] = {"Name": "argo-suite-corrected-tutorial-2023-worker"}
    assert other_nodes(net, shared) == ["argo-suite-corrected-tutorial-2023-worker"]
