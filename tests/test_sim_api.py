"""The simulated API server, through the official ``kubernetes`` client (the suite's own code, unchanged)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError

from argo_tutorial_suite.backends.sim.api_semantics import (
    ApiError,
    json_patch,
    label_match,
    merge_patch,
    strategic_merge_patch,
)
from argo_tutorial_suite.backends.sim.apiserver import ApiHTTPServer, kubeconfig, make_store
from argo_tutorial_suite.kube import Kube, api_client
from argo_tutorial_suite.upstream import Upstream

RO = "argoproj.io/v1alpha1"


@pytest.fixture
def kube(tmp_path: Path, upstream: Upstream) -> Iterator[Kube]:
    srv = ApiHTTPServer(make_store()).start()
    kc = tmp_path / "kubeconfig"
    kc.write_text(kubeconfig(srv.url))
    k = Kube(api_client(kc))
    k.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    for o in upstream.load_all("argo-rollouts", "v1.9.1", "manifests/crds/rollout-crd.yaml"):
        k.apply(o)
    yield k
    srv.stop()


def rollout(name: str = "r", labels: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "apiVersion": RO,
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": "demo", "labels": labels or {}},
        "spec": {"replicas": 1},
    }


def test_crd_registered_from_the_real_manifest_is_discovered(kube: Kube) -> None:
    res = kube.resource(RO, "Rollout")
    assert res.namespaced and res.name == "rollouts"
    listing = httpx.get(kube.api.configuration.host + "/apis/argoproj.io/v1alpha1").json()
    assert {"rollouts", "rollouts/status"} <= {r["name"] for r in listing["resources"]}


def test_create_sets_server_fields_and_conflicts(kube: Kube) -> None:
    r = kube.create(rollout())
    meta = r["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1 and int(meta["resourceVersion"]) > 0
    with pytest.raises(ConflictError):
        kube.create(rollout())
    gen = kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "ci-", "namespace": "demo"}}
    )
    assert gen["metadata"]["name"].startswith("ci-") and len(gen["metadata"]["name"]) == 8


def test_status_subresource_and_generation(kube: Kube) -> None:
    kube.create(rollout())
    after = kube.patch(RO, "Rollout", "r", {"status": {"phase": "Paused"}}, "demo", status=True)
    assert after["status"] == {"phase": "Paused"} and after["metadata"]["generation"] == 1
    main = kube.patch(RO, "Rollout", "r", {"spec": {"replicas": 2}, "status": {"phase": "X"}}, "demo")
    assert main["status"] == {"phase": "Paused"}, "a write to the main resource must keep the stored status"
    assert main["metadata"]["generation"] == 2
    cleared = kube.patch(RO, "Rollout", "r", {"status": {"phase": None}}, "demo", status=True)
    assert "phase" not in cleared.get("status", {})


def test_update_with_stale_resource_version_is_409(kube: Kube) -> None:
    r = kube.create(rollout())
    kube.patch(RO, "Rollout", "r", {"spec": {"replicas": 3}}, "demo")
    api = client.CustomObjectsApi(kube.api)
    with pytest.raises(ApiException) as e:
        api.replace_namespaced_custom_object("argoproj.io", "v1alpha1", "demo", "rollouts", "r", r)
    assert e.value.status == 409 and "the object has been modified" in str(e.value.body)


def test_not_found_and_missing_namespace(kube: Kube) -> None:
    assert kube.get(RO, "Rollout", "nope", "demo") is None
    with pytest.raises(NotFoundError):
        kube.resource(RO, "Rollout").get(name="nope", namespace="demo")
    with pytest.raises(NotFoundError) as e:
        kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "absent"}})
    assert 'namespaces \\"absent\\" not found' in str(e.value) or 'namespaces "absent" not found' in str(e.value)


def test_selectors(kube: Kube) -> None:
    kube.create(rollout("a", {"app": "x", "tier": "web"}))
    kube.create(rollout("b", {"app": "y"}))

    def names(sel: str) -> list[str]:
        return [o["metadata"]["name"] for o in kube.list(RO, "Rollout", "demo", label_selector=sel)]

    assert names("app=x") == ["a"]
    assert names("app in (x,y)") == ["a", "b"]
    assert names("app!=x") == ["b"]
    assert names("tier") == ["a"] and names("!tier") == ["b"]
    assert [o["metadata"]["name"] for o in kube.list(RO, "Rollout", "demo", field_selector="metadata.name=b")] == ["b"]


def test_watch_replays_from_a_resource_version(kube: Kube) -> None:
    kube.create(rollout())
    seen: list[str] = []
    t = threading.Thread(
        target=lambda: seen.extend(
            o["metadata"]["resourceVersion"] for o in kube.watch(RO, "Rollout", "demo", "r", timeout=2)
        )
    )
    t.start()
    time.sleep(0.3)
    kube.patch(RO, "Rollout", "r", {"metadata": {"labels": {"x": "1"}}}, "demo")
    t.join()
    assert len(seen) == 2 and int(seen[1]) > int(seen[0])


def test_namespace_deletion_collects_its_objects(kube: Kube) -> None:
    kube.create(rollout())
    kube.delete("v1", "Namespace", "demo")
    assert kube.list(RO, "Rollout") == []


def test_patch_semantics() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}
    doc = {"spec": {"containers": [{"name": "m", "image": "x"}]}}
    assert (
        json_patch(doc, [{"op": "replace", "path": "/spec/containers/0/image", "value": "y"}])["spec"]["containers"][0][
            "image"
        ]
        == "y"
    )
    assert json_patch(doc, [{"op": "add", "path": "/spec/containers/-", "value": {"name": "s"}}])["spec"]["containers"][
        1
    ] == {"name": "s"}
    with pytest.raises(ApiError) as e:
        json_patch(doc, [{"op": "remove", "path": "/spec/nope"}])
    assert e.value.code == 422
    smp = strategic_merge_patch(
        doc, {"spec": {"containers": [{"name": "m", "imagePullPolicy": "Never"}, {"name": "side"}]}}
    )
    assert smp["spec"]["containers"] == [{"name": "m", "image": "x", "imagePullPolicy": "Never"}, {"name": "side"}]
    assert label_match({"a": "1"}, "a=1,b notin (2)")


def test_unsupported_patch_type_is_415(kube: Kube) -> None:
    kube.create(rollout())
    r = httpx.patch(
        kube.api.configuration.host + "/apis/argoproj.io/v1alpha1/namespaces/demo/rollouts/r",
        content=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415 and r.json()["kind"] == "Status" and r.json()["reason"] == "UnsupportedMediaType"
