"""Argo CD's diff of a resource (argo_tutorial_suite/flow/argocd_diff.py), the client call, and the field names against the
pinned swagger.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import httpx
import pytest

from argo_tutorial_suite.flow import argocd_diff
from argo_tutorial_suite.flow.argocd_api import ArgoCD
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.upstream import Upstream

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


class _Api:
    def __init__(self, items: list[dict[str, Any]]):
        self.items, self.calls = items, 0

    def managed_resources(self, app: str) -> list[dict[str, Any]]:
        self.calls += 1
        return self.items


class _Tutorial:
    def __init__(self, api: _Api):
        self.api = api

    @contextmanager
    def argocd(self) -> Iterator[_Api]:
        yield self.api


def test_a_failed_sync_wait_carries_the_diff_but_not_after_a_comparison_error() -> None:
    from argo_tutorial_suite.flow.then import with_argocd_diff
    from argo_tutorial_suite.probes.predicates import app_synced

    api = _Api([])
    t = cast(Any, _Tutorial(api))
    out_of_sync = app_synced({"status": {"sync": {"status": "OutOfSync"}, "operationState": {"phase": "Succeeded"}}})
    got = with_argocd_diff(t, out_of_sync)
    assert got is not None and got.evidence["argocd diff"] == "no resource differs" and api.calls == 1
    broken = app_synced({"status": {"conditions": [{"type": "ComparisonError", "message": "kustomize build failed"}]}})
    assert with_argocd_diff(t, broken) is broken and api.calls == 1  # not asked: nothing rendered to diff against
