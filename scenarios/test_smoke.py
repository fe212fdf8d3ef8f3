"""The suite's own cluster before anything of the tutorial is installed: is the ground sound?

Checks, on the suite's cluster for each pins set (kind: one control-plane and one worker, generated config):

* the nodes come up with the generated config: node count, the ``ingress-ready`` label and the config hash;
* every node's containerd reads ``/etc/containerd/certs.d`` and has the local registry's hosts.toml;
* the local registry serves an image the test pushed, to a pod (pulled by the node by the in-cluster name);
* that pod answers HTTP on 127.0.0.1 through the node's port mapping (hostPort 80 on the ingress-ready node);
* the in-cluster git server serves a clone of a commit the test pushed (through the git port mapping), to a
  pod on the other node.

Steps the backend cannot model are "not verified here", with its reason.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from argo_tutorial_suite.backends import gitserver
from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.backends.oci import Ref, build, push
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.verdicts.steps import Steps
from argo_tutorial_suite.verdicts.waits import Seen, expect, timeout_for

pytestmark = [pytest.mark.cluster, pytest.mark.smoke]

NS = "argo-suite-smoke"
APP_PORT = 8080  # the tutorial's app listens on :8080 (main.go)
SECTION = "the suite's cluster"


def _pod(name: str, image: str, node_selector: dict[str, str], **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": image, **spec.pop("container", {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app.kubernetes.io/part-of": "argo-suite-smoke"}},
        "spec": {
            "nodeSelector": node_selector,
            "tolerations": [{"operator": "Exists"}],  # the control-plane taint of a multi-node kind cluster
            "containers": [container],
            **spec,
        },
    }


def _clean_namespace(kube: Any) -> None:
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for p in kube.list("v1", "Pod", NS):
        kube.delete("v1", "Pod", p["metadata"]["name"], NS)
    expect(
        lambda: Seen.ok("no pods left") if not kube.list("v1", "Pod", NS) else Seen.pending("old pods terminating"),
        f"namespace {NS} empty",
        timeout_for("api") * 4,
    )


def test_smoke(cluster: Backend, cluster_steps: Steps, pins_name: str, tmp_path: Path) -> None:
    steps, kube = cluster_steps, cluster.kube
    nodes = kube.list("v1", "Node")
    names = [n["metadata"]["name"] for n in nodes]
    control, worker = names[0] if names else "", names[-1] if names else ""

    name = "the nodes come up with the suite's generated kind config (count, labels)"
    config = cluster.node_config()
    if cluster.cannot(Capability.NODE_CONFIG) or config is None:
        steps.not_verified(name, SECTION, cluster.cannot(Capability.NODE_CONFIG) or "the backend gave no kind config")
    else:
        with steps.step(name, SECTION):
            want = config["nodes"]
            assert len(nodes) == len(want), f"{len(nodes)} nodes registered, the config has {len(want)}: {names}"
            labels = want[0].get("labels", {})
            matching = [n for n in nodes if labels.items() <= n["metadata"].get("labels", {}).items()]
            assert len(matching) == 1, f"{len(matching)} nodes carry the first node's labels {labels}, want exactly 1"
            control = matching[0]["metadata"]["name"]
            worker = next((n for n in names if n != control), control)
        with steps.step("every node's containerd is configured for the local registry", SECTION):
            for node in names:
                toml = cluster.node_read(node, "/etc/containerd/config.toml")
                if f'registry.mirrors."{cluster.registry}"' in toml:  # kind < v0.20: a mirrors entry
                    assert f'"http://{cluster.registry}"' in toml, f"{node}: the mirror has no http endpoint"
                    continue
                assert 'config_path = "/etc/containerd/certs.d"' in toml, f"{node}: neither a mirror nor certs.d"
                hosts = cluster.node_read(node, f"/etc/containerd/certs.d/{cluster.registry}/hosts.toml")
                assert f"http://{cluster.registry}" in hosts, f"{node}: hosts.toml does not name {cluster.registry}"
    _clean_namespace(kube)

    tag = uuid.uuid4().hex[:10]
    host_port = cluster.cannot(Capability.HOST_PORT) is None
    with steps.step("the local registry serves an image the test pushed, to a pod", SECTION):
        code = Profile.load("corrected", pins_name).materialize("code", tmp_path / "code")
        layer, image_config = build(code, (code / "Dockerfile").read_text(), "go", [])
        push(Ref.parse(f"{cluster.registry_push}/argo-suite-smoke/hello:{tag}"), layer, image_config)
        ports = {"containerPort": APP_PORT, **({"hostPort": 80} if host_port else {})}
        pod = _pod(
            "hello",
            f"{cluster.registry}/argo-suite-smoke/hello:{tag}",
            {"kubernetes.io/hostname": control},
            container={"ports": [ports]},
        )
        kube.apply(pod)
        expect(
            lambda: readiness.pod_running(kube.get("v1", "Pod", "hello", NS), "pod hello"),
            "the pushed image runs in a pod",
            timeout_for("install"),
        )

    name = "the pod answers HTTP on 127.0.0.1 through the node's port mapping"
    if not host_port:
        steps.not_verified(name, SECTION, str(cluster.cannot(Capability.HOST_PORT)))
    else:
        with steps.step(name, SECTION):

            def answers() -> Seen:
                try:
                    r = cluster.http("smoke.argo-tutorial.test", "/")
                except Exception as e:
                    return Seen.pending(f"no answer yet: {e}")
                if r.status_code == 200 and "Hello" in r.text:
                    return Seen.ok(f"HTTP 200: {r.text.strip()[:60]}")
                return Seen.pending(f"HTTP {r.status_code}: {r.text.strip()[:60]}")

            expect(answers, "the app answers through 127.0.0.1", timeout_for("http"))

    name = "the in-cluster git server serves a clone to a pod on the other node"
    if cluster.cannot(Capability.POD_COMMAND):
        steps.not_verified(name, SECTION, str(cluster.cannot(Capability.POD_COMMAND)))
    else:
        with steps.step(name, SECTION):
            files = {"README.md": f"smoke {tag}\n".encode()}
            sha = gitserver.push(tmp_path / "push", cluster.git_remote("code"), files, f"smoke {tag}", fresh=True)
            script = f"git clone -q {cluster.git_url('code')} /tmp/c && git -C /tmp/c rev-parse HEAD"
            clone = _pod(
                "clone",
                gitserver.IMAGE,
                {"kubernetes.io/hostname": worker},
                restartPolicy="Never",
                container={"imagePullPolicy": "Never", "command": ["sh", "-c", script]},
            )
            kube.apply(clone)
            expect(
                lambda: readiness.pod_completed(kube.get("v1", "Pod", "clone", NS), "pod clone"),
                "a pod clones from the git server",
                timeout_for("install"),
            )
            out = kube.logs(NS, "clone", "main").strip()
            assert out == sha, f"the pod cloned {out!r}, the test pushed {sha}"
    kube.delete("v1", "Namespace", NS)
