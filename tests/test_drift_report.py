"""The drift report's logic, with the GitHub API answered by a mock transport (no network)."""

from __future__ import annotations

import httpx

from argo_tutorial_suite.tutorial import drift
from argo_tutorial_suite.tutorial.profiles import Pins, Profile


def client(tags: dict[str, str], fail: bool = False) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if fail:
            return httpx.Response(403, json={"message": "API rate limit exceeded"})
        repo = request.url.path.split("/repos/")[1].rsplit("/releases/latest", 1)[0]
        return httpx.Response(200, json={"tag_name": tags[repo]})

    return httpx.Client(transport=httpx.MockTransport(handler))


def plan() -> object:
    return Profile.load("as-written", "current").install_plan()


def test_floating_refs_of_the_tutorial() -> None:
    assert drift.floating_refs(Profile.load("as-written").install_plan()) == [
        ("argo-cd", "stable"),
        ("argo-rollouts", "latest"),
    ]


def test_as_pinned_and_drifted() -> None:
    pins = Pins.load("current")
    same = drift.resolve(
        Profile.load("as-written").install_plan(),
        pins,
        client({"argoproj/argo-cd": "v3.5.1", "argoproj/argo-rollouts": "v1.9.1"}),
    )
    assert [f.drifted for f in same] == [False, False]
    moved = drift.resolve(
        Profile.load("as-written").install_plan(),
        pins,
        client({"argoproj/argo-cd": "v3.6.0", "argoproj/argo-rollouts": "v1.9.1"}),
    )
    assert moved[0].drifted and "DRIFT: today v3.6.0, update manifests/versions/current.yaml" in moved[0].line()


def test_api_failure_is_not_a_verdict() -> None:
    out = drift.resolve(Profile.load("as-written").install_plan(), Pins.load("current"), client({}, fail=True))
    assert all(f.today is None and "403" in f.error for f in out)
    assert "not resolved here" in out[0].line()


def test_defects_by_pins_from_the_catalog() -> None:
    by = drift.defects_by_pins()
    assert "D2" in by["only current"] and any(x.startswith("D24 (") for x in by["only current"])
    assert "D18" not in by["only current"] and "D18" not in by["only tutorial-2023"]
    md = drift.markdown(drift.resolve(Profile.load("as-written").install_plan(), Pins.load("current"), None))
    assert "argo-cd@stable: pins say v3.5.1; not resolved here (offline)" in md and "only current: " in md
