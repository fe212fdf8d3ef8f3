"""The suite's Argo CD client (argo_tutorial_suite/flow/argocd_api.py), against a mock argocd-server."""

from __future__ import annotations

import httpx
import pytest

from argo_tutorial_suite.flow.argocd_api import ArgoCD

ROLLOUT = {"namespace": "my-awesome-app", "resourceName": "my-awesome-app", "version": "v1alpha1",
           "group": "argoproj.io", "kind": "Rollout"}  # fmt: skip
CACHE_EOF = (
    '{"error":"error getting app live resource: error getting app resources: error getting cached app state: EOF"}'
)


def api(answers: list[httpx.Response], seen: list[httpx.Request]) -> ArgoCD:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return answers.pop(0) if len(answers) > 1 else answers[0]
        return httpx.Response(200, json={})

    return ArgoCD("https://argocd", httpx.Client(transport=httpx.MockTransport(handler)), "t", "v2.6.3")


def test_an_action_listing_is_asked_again_while_the_app_state_cache_is_unavailable() -> None:
    seen: list[httpx.Request] = []
    listing = httpx.Response(200, json={"actions": [{"name": "resume"}]})
    api([httpx.Response(500, text=CACHE_EOF), httpx.Response(500, text=CACHE_EOF), listing], seen).run_action(
        "my-awesome-app", "resume", ROLLOUT
    )
    assert [r.method for r in seen] == ["GET", "GET", "GET", "POST"]


def test_a_refused_action_listing_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(AssertionError, match=r"no enabled 'resume' action.*403"):
        api([httpx.Response(403, text="permission denied")], seen).run_action("my-awesome-app", "resume", ROLLOUT)
    assert [r.method for r in seen] == ["GET"]


def test_a_disabled_action_is_refused() -> None:
    seen: list[httpx.Request] = []
    listing = httpx.Response(200, json={"actions": [{"name": "resume", "disabled": True}]})
    with pytest.raises(AssertionError, match="no enabled 'resume'"):
        api([listing], seen).run_action("my-awesome-app", "resume", ROLLOUT)
