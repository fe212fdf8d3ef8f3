"""A wait that cannot end is stopped when it cannot, not at its bound: the scheduler's word that a pod will never
be placed on a cluster whose nodes do not change, and the commands that wait on the cluster stopped then."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from argo_tutorial_suite.backends.install import run_plan, waits_on_cluster
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes.readiness import never_scheduled
from argo_tutorial_suite.proc import Runner
from argo_tutorial_suite.tutorial.installplan import InstallPlan
from tests.standins import script

ANTI = (
    "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules. preemption: 0/1 nodes are "
    "available: 1 No preemption victims found for incoming pod."
)


def pending(message: str, ns: str = "argocd", name: str = "argocd-redis-ha-server-1") -> Obj:
    cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
    return {"metadata": {"namespace": ns, "name": name}, "status": {"phase": "Pending", "conditions": [cond]}}


def test_a_replica_its_siblings_keep_off_the_only_node_is_never_scheduled() -> None:
    why = never_scheduled([pending(ANTI)], nodes=1)
    assert why is not None and why.startswith("argocd/argocd-redis-ha-server-1 is never scheduled: 0/1 nodes")


@pytest.mark.parametrize(
    "message",
    [
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption "
        "victims found for incoming pod.",  # resources free up when other pods end
        "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: "
        "0/1 nodes are available: 1 Preemption is not helpful for scheduling.",  # a lifecycle taint goes away
        "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules. preemption: 0/1 nodes are "
        "available: 1 Preemption is not helpful for scheduling.".replace("0/1", "0/3"),  # another node count
        "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.",  # preemption not ruled out
        "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 1 Insufficient memory. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    ],
)
def test_what_may_still_change_is_not_never(message: str) -> None:
    assert never_scheduled([pending(message)], nodes=1) is None


def test_a_pod_being_deleted_in_the_namespace_may_free_the_place() -> None:
    leaving: Obj = {"metadata": {"namespace": "argocd", "name": "old", "deletionTimestamp": "2026-12-05T10:00:00Z"}}
    assert never_scheduled([pending(ANTI), leaving], nodes=1) is None
    elsewhere: Obj = {"metadata": {"namespace": "other", "name": "old", "deletionTimestamp": "2026-12-05T10:00:00Z"}}
    assert never_scheduled([pending(ANTI), elsewhere], nodes=1) is not None


def test_a_taint_the_pod_does_not_tolerate_on_every_node_is_for_good() -> None:
    msg = (
        "0/2 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption "
        "is not helpful for scheduling."
    )
    assert never_scheduled([pending(msg)], nodes=2) is not None


def test_the_runner_stops_a_command_once_it_cannot_end_and_says_why() -> None:
    asked = [0]

    def stop() -> str | None:
        asked[0] += 1
        return "argocd/x is never scheduled" if asked[0] >= 2 else None

    start = time.monotonic()
    ran = Runner().run(["sleep", "30"], timeout=60, check=False, stop_when=stop, check_every=0.2)
    assert time.monotonic() - start < 5 and ran.returncode == -9
    assert ran.stderr.startswith("stopped after 0s: it cannot end: argocd/x is never scheduled")
    quick = Runner().run(["sh", "-c", "echo done"], stop_when=lambda: "never asked", check_every=0.2)
    assert quick.stdout.strip() == "done"  # a command that ends by itself is not stopped


def test_only_commands_that_wait_on_the_cluster_are_stopped(tmp_path: Path) -> None:
    assert waits_on_cluster("kubectl rollout status deployment -n argocd")
    assert waits_on_cluster("kubectl -n x wait --for=condition=Available deployment --all")
    assert waits_on_cluster("kubectl create ns a && /usr/local/bin/kubectl rollout status -n a deploy/b")
    assert not waits_on_cluster("kubectl apply -f https://example/wait.yaml | grep status")
    assert not waits_on_cluster("kubectl rollout restart deployment -n wait")
    assert not waits_on_cluster("echo kubectl wait")
    kubectl = script(tmp_path / "kubectl-stub", "sleep 30\n")
    plan = InstallPlan.from_data(
        {"steps": [{"title": "t", "commands": [{"run": "kubectl rollout status deployment -n argocd"}]}]}
    )
    start = time.monotonic()
    out = run_plan(
        plan, Runner(), tmp_path / "kc", lambda c, r: None, concurrent=False, timeout=60,
        kubectl=str(kubectl), stop_when=lambda: "argocd/x is never scheduled",
    )  # fmt: skip
    cmd = out[0].commands[0]
    assert cmd.status == "failed" and "it cannot end: argocd/x is never scheduled" in cmd.output
    assert time.monotonic() - start < 20
