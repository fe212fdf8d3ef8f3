"""Upstream status for the drift job, on recorded GitHub API answers (written here in the shape GitHub's REST API
documents for ``GET /repos/{owner}/{repo}`` and ``GET /repos/{owner}/{repo}/releases/latest``): no network."""

from __future__ import annotations

import json
from datetime import date

import httpx

from argo_tutorial_suite.tutorial import lifecycle

TODAY = date(2026, 12, 5)
ANSWERS = {
    "/repos/kubernetes/ingress-nginx": {"full_name": "kubernetes/ingress-nginx", "archived": True,
                                         "pushed_at": "2026-03-24T10:00:00Z"},
    "/repos/kubernetes/ingress-nginx/releases/latest": {"tag_name": "controller-v1.15.1",
                                                         "published_at": "2026-03-19T12:00:00Z"},
    "/repos/argoproj/argo-cd": {"full_name": "argoproj/argo-cd", "archived": False, "pushed_at": "2026-12-04T08:00:00Z"},
    "/repos/argoproj/argo-cd/releases/latest": {"tag_name": "v3.5.1", "published_at": "2026-11-20T09:00:00Z"},
    "/repos/cert-manager/cert-manager": {"archived": False, "pushed_at": "2026-12-01T00:00:00Z"},
    "/repos/cert-manager/cert-manager/releases/latest": {"tag_name": "v1.14.0", "published_at": "2024-01-01T00:00:00Z"},
}  # fmt: skip


def recorded(answers: dict[str, object]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        body = answers.get(request.url.path)
        if body is None:
            return httpx.Response(404, json={"message": "Not Found"})
        return httpx.Response(200, content=json.dumps(body))

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_an_archived_retired_component_is_a_finding_with_its_source() -> None:
    [s] = lifecycle.status(["ingress-nginx"], recorded(ANSWERS))
    assert s.archived is True and s.latest == "controller-v1.15.1"
    problems = s.findings(TODAY)
    assert any("ingress-nginx is retired (announced 2025-11-11" in p and "kubernetes.io/blog" in p for p in problems)
    assert any("kubernetes/ingress-nginx is archived" in p for p in problems)
    assert "FINDING" in s.line(TODAY)


def test_a_maintained_component_has_no_finding() -> None:
    [s] = lifecycle.status(["argo-cd"], recorded(ANSWERS))
    assert s.findings(TODAY) == [] and s.line(TODAY) == (
        "argo-cd (argoproj/argo-cd): active, last release v3.5.1 on 2026-11-20"
    )


def test_an_archived_repository_alone_is_a_finding() -> None:
    answers = {**ANSWERS, "/repos/argoproj/argo-cd": {"archived": True}}
    [s] = lifecycle.status(["argo-cd"], recorded(answers))
    assert s.findings(TODAY) == ["argoproj/argo-cd is archived on GitHub: no release or security fix will come from it"]


def test_a_release_over_a_year_old_is_said() -> None:
    [s] = lifecycle.status(["cert-manager"], recorded(ANSWERS))
    assert "days ago: over a year" in s.line(TODAY) and s.findings(TODAY) == []


def test_an_api_error_is_not_a_verdict() -> None:
    [s] = lifecycle.status(["argo-events"], recorded({}))
    assert s.error.startswith("GitHub API:") and "not verified here" in s.line(TODAY)


def test_a_retirement_counts_from_its_announcement() -> None:
    assert lifecycle.retirement("ingress-nginx", date(2025, 11, 11)) is not None
    assert lifecycle.retirement("ingress-nginx", date(2023, 2, 27)) is None  # the tutorial's own date
    assert lifecycle.retirement("argo-cd", TODAY) is None


def test_drift_md_shows_the_retirement() -> None:
    md = lifecycle.markdown(lifecycle.status(["argo-cd", "ingress-nginx"], recorded(ANSWERS)), TODAY)
    assert "## Upstream status" in md and "ingress-nginx (kubernetes/ingress-nginx): archived" in md
    assert "- ingress-nginx: retired, announced 2025-11-11" in md
