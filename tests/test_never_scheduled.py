"""A wait that cannot end is stopped when it cannot, not at its bound: the scheduler's word that a pod will never
be placed on a cluster whose nodes do not change, and the commands that wait on the cluster stopped then."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from argo_tutorial_suite.backends.install import Awaited, awaited, run_plan
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
    # Kubernetes >= 1.30 puts the dynamicresources plugin's note before the preemption part (seen on kind at
    # current pins: the wait ran to its bound until this was read)
    newer = ANTI.replace(". preemption:", ". no new claims to deallocate, preemption:")
    assert never_scheduled([pending(newer)], nodes=1) is not None


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
        "0/2 nodes are available: 2 node(s) had untolerated taint(s). no new claims to deallocate, preemption: "
        "0/2 nodes are available: 2 Preemption is not helpful for scheduling.",  # unnamed: may be a lifecycle taint
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are "
        "available: 1 No preemption victims found for incoming pod, 1 Insufficient cpu.",  # one node may help
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


def test_a_waiting_command_says_what_it_waits_on() -> None:
    deploys = frozenset({"ReplicaSet"})
    assert awaited("kubectl rollout status deployment -n argocd") == Awaited("argocd", deploys)
    assert awaited("kubectl -n x wait --for=condition=Available deployment --all") == Awaited("x")
    assert awaited("kubectl create ns a && /usr/local/bin/kubectl rollout status --namespace=a sts/b") == Awaited(
        "a", frozenset({"StatefulSet"})
    )
    assert awaited("kubectl rollout status deploy/web") == Awaited("default", deploys)  # the context's namespace
    assert awaited("kubectl -nargocd rollout status deployment") == Awaited("argocd", deploys)
    assert awaited("kubectl wait -A --for=delete pod/x") == Awaited(None)
    assert awaited("kubectl apply -f https://example/wait.yaml | grep status") is None
    assert awaited("kubectl rollout restart deployment -n wait") is None
    assert awaited("echo kubectl wait") is None


def test_only_the_awaited_namespace_and_kind_count() -> None:
    other_ns = pending(ANTI, ns="argocd")
    assert never_scheduled([other_ns], nodes=1) is not None
    # what rollout status -n argo-rollouts waits on is not in argocd (the run that stopped it there was wrong)
    assert never_scheduled([p for p in [other_ns] if p["metadata"]["namespace"] == "argo-rollouts"], nodes=1) is None
    sts_pod = pending(ANTI)
    sts_pod["metadata"]["ownerReferences"] = [{"kind": "StatefulSet", "name": "argocd-redis-ha-server"}]
    assert never_scheduled([sts_pod], nodes=1, owners={"ReplicaSet"}) is None  # rollout status deployment
    assert never_scheduled([sts_pod], nodes=1, owners={"StatefulSet"}) is not None


def test_only_commands_that_wait_on_the_cluster_are_stopped_and_are_asked_about_what_they_wait_on(
    tmp_path: Path,
) -> None:
    kubectl = script(tmp_path / "kubectl-stub", "sleep 30\n")
    plan = InstallPlan.from_data(
        {
            "steps": [
                {
                    "title": "t",
                    "commands": [
                        {"run": "kubectl rollout status deployment -n argocd"},
                        {"run": "kubectl rollout status deployment -n argo-rollouts"},
                    ],
                }
            ]
        }
    )
    asked: list[Awaited] = []

    def stop(on: Awaited) -> str | None:
        asked.append(on)
        return "argocd/x is never scheduled" if on.namespace == "argocd" else None

    start = time.monotonic()
    out = run_plan(
        plan, Runner(), tmp_path / "kc", lambda c, r: None, concurrent=False, timeout=8,
        kubectl=str(kubectl), stop_when=stop,
    )  # fmt: skip
    first, second = out[0].commands
    assert first.status == "failed" and "it cannot end: argocd/x is never scheduled" in first.output
    assert "timed out after 8s" in second.output  # the other namespace's wait ran to its bound
    assert {a.namespace for a in asked} == {"argocd", "argo-rollouts"}
    assert time.monotonic() - start < 25
