"""Argo CD's diff of a resource (fixtures/argocd_diff.py), the client call, and the field names against the
pinned swagger.json."""

from __future__ import annotations

import json

import httpx
import pytest

from fixtures import argocd_diff
from fixtures.argocd_api import ArgoCD
from fixtures.objects import Obj
from fixtures.upstream import Upstream

LIVE: Obj = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {
        "name": "my-awesome-app",
        "namespace": "my-awesome-app",
        "resourceVersion": "123",
        "uid": "u",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
    },
    "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "r/hello:abc"}]}}},
    "status": {"phase": "Healthy"},
}


def item(live: Obj, target: Obj, modified: bool) -> Obj:
    return {
        "kind": "Rollout",
        "namespace": "my-awesome-app",
        "name": "my-awesome-app",
        "targetState": json.dumps(target),
        "liveState": json.dumps(live),
        "normalizedLiveState": json.dumps(live),
        "predictedLiveState": "",
        "modified": modified,
    }


def test_a_changed_field_shows_in_the_diff_and_server_noise_does_not() -> None:
    target = json.loads(json.dumps(LIVE))
    target["spec"]["template"]["spec"]["containers"][0]["image"] = "r/hello:def"
    for noisy in ("resourceVersion", "uid", "annotations"):
        target["metadata"].pop(noisy)
    diffs = argocd_diff.modified_diffs([item(LIVE, target, True)])
    diff = diffs["Rollout my-awesome-app/my-awesome-app"]
    assert "-      - image: r/hello:abc" in diff and "+      - image: r/hello:def" in diff
    assert "resourceVersion" not in diff and "last-applied" not in diff and "Healthy" not in diff


def test_agreeing_states_give_no_diff() -> None:
    assert argocd_diff.modified_diffs([item(LIVE, LIVE, False)]) == {}


def test_a_resource_marked_modified_with_equal_states_is_still_named() -> None:
    diffs = argocd_diff.modified_diffs([item(LIVE, LIVE, True)])
    assert "do not differ" in diffs["Rollout my-awesome-app/my-awesome-app"]


def test_a_missing_live_object_diffs_against_nothing() -> None:
    it = item(LIVE, LIVE, True)
    it["liveState"] = it["normalizedLiveState"] = "null"
    diff = argocd_diff.resource_diff(it)
    assert diff.count("\n+") > 3 and "\n-" not in diff.replace("--- live", "")


def test_the_client_reads_the_items() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"items": [item(LIVE, LIVE, False)]})

    api = ArgoCD("https://argocd", httpx.Client(transport=httpx.MockTransport(handler)), "t", "v2.6.3")
    assert api.managed_resources("my-awesome-app")[0]["kind"] == "Rollout"
    assert seen == ["/api/v1/applications/my-awesome-app/managed-resources"]


def test_a_refused_listing_says_so() -> None:
    api = ArgoCD(
        "https://argocd", httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(403))), "t", "v2.6.3"
    )
    with pytest.raises(AssertionError, match="managed-resources answered 403"):
        api.managed_resources("my-awesome-app")


@pytest.mark.parametrize("tag", ["v2.6.3", "v3.5.1"])
def test_the_fields_read_are_argocds_own(upstream: Upstream, tag: str) -> None:
    swagger = json.loads(upstream.read_bytes("argo-cd", tag, "assets/swagger.json"))
    assert "/api/v1/applications/{applicationName}/managed-resources" in swagger["paths"]
    props = swagger["definitions"]["v1alpha1ResourceDiff"]["properties"]
    for name in (*argocd_diff.STATE_FIELDS, "modified", "kind", "name", "namespace"):
        assert name in props, f"{name} not in v1alpha1ResourceDiff at {tag}"
    for name in argocd_diff.STATE_FIELDS:
        assert props[name]["type"] == "string"  # JSON strings: decoded by the reader
