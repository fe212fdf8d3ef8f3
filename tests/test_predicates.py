"""The pure predicates the flow's waits use, on objects shaped as the controllers write them."""

from __future__ import annotations

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes import predicates
from argo_tutorial_suite.verdicts.waits import State


def _app(sync: str, phase: str, rev: str, resources: list[Obj] | None = None) -> Obj:
    return {
        "status": {
            "sync": {"status": sync, "revision": rev},
            "health": {"status": "Healthy"},
            "operationState": {"phase": phase, "syncResult": {"revision": rev}},
            "resources": resources or [],
        }
    }


def test_app_synced_at_the_revision() -> None:
    assert predicates.app_synced(_app("Synced", "Succeeded", "abc123"), "abc123").state is State.OK


def test_app_synced_waits_for_the_pushed_revision() -> None:
    assert predicates.app_synced(_app("Synced", "Succeeded", "old"), "new").state is State.PENDING


def test_app_synced_names_the_resources_that_stay_out_of_sync() -> None:
    res = [
        {"kind": "Rollout", "namespace": "my-awesome-app", "name": "my-awesome-app", "status": "OutOfSync"},
        {"kind": "Service", "namespace": "my-awesome-app", "name": "my-awesome-app", "status": "Synced"},
    ]
    seen = predicates.app_synced(_app("OutOfSync", "Succeeded", "abc"), "abc")
    assert seen.state is State.PENDING
    seen = predicates.app_synced(_app("OutOfSync", "Succeeded", "abc", res), "abc")
    assert seen.state is State.PENDING
    assert "out of sync: Rollout my-awesome-app/my-awesome-app" in seen.detail
    assert "Service" not in seen.detail


def test_app_synced_fails_at_once_on_a_failed_operation() -> None:
    seen = predicates.app_synced(_app("OutOfSync", "Failed", "abc"), "abc")
    assert seen.state is State.FAILED


def test_trigger_failures_reads_only_failed_trigger_lines() -> None:
    log = "a\nFailed to execute a trigger: x\nb"
    assert predicates.trigger_failures(log) == ["Failed to execute a trigger: x"]


def test_a_comparison_with_an_older_head_is_told_apart() -> None:
    app = _app("OutOfSync", "Succeeded", "new")
    app["status"]["sync"]["revision"] = "old"
    assert predicates.compared_with_an_older_head(app, "new") == "old"
    assert predicates.compared_with_an_older_head(_app("Synced", "Succeeded", "new"), "new") is None
    # an operation at another revision is not this case: the sync itself is behind
    assert predicates.compared_with_an_older_head(app, "newer") is None
    assert predicates.compared_with_an_older_head(None, "new") is None


def _sensor() -> Obj:
    import yaml

    from argo_tutorial_suite.paths import ROOT

    docs = yaml.safe_load_all((ROOT / "manifests/tutorial/ci/ci.yaml").read_text())
    return next(d for d in docs if d and d.get("kind") == "Sensor")


def _pod(name: str, env_value: str) -> Obj:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "env": [{"name": "SENSOR_OBJECT", "value": env_value}]}]},
    }


def test_a_sensor_pod_on_the_current_spec_is_told_from_an_earlier_one() -> None:
    import copy

    from argo_tutorial_suite.backends.sim.twins.events import object_env

    sensor = _sensor()
    old = _pod("ci-sensor-old", object_env(sensor))
    assert predicates.pods_on_current_spec(sensor, [old]).state is State.OK
    changed = copy.deepcopy(sensor)
    changed["spec"]["triggers"][0]["template"]["name"] = "renamed"
    new = _pod("ci-sensor-new", object_env(changed))
    seen = predicates.pods_on_current_spec(changed, [old, new])
    assert seen.state is State.PENDING and "ci-sensor-old" in seen.detail and "ci-sensor-new" not in seen.detail
    assert predicates.pods_on_current_spec(changed, [new]).state is State.OK
    assert predicates.pods_on_current_spec(changed, []).state is State.PENDING


def test_go_omitempty_marshalling_is_the_same_spec() -> None:
    import base64
    import json

    sensor = _sensor()
    spelled_out = {
        "metadata": {"name": "ci"},
        "spec": {**sensor["spec"], "errorOnFailedRound": False, "replicas": None},
    }
    pod = _pod("ci-sensor-x", base64.b64encode(json.dumps(spelled_out).encode()).decode())
    assert predicates.pods_on_current_spec(sensor, [pod]).state is State.OK
    assert predicates.spec_in_pod(_pod("bad", "not base64 json"), "Sensor") is None


def test_refused_calls_are_told_from_numbers_in_a_log() -> None:
    progress = '  % Total    % Received\n100   415  100   415    0     0   4150      0 --:--:--\n{"metadata":{"resourceVersion":"403"}}'
    assert predicates.refused_api_calls(progress) == []
    assert predicates.refused_api_calls("Invalid content type") == ["Invalid content type"]
    assert predicates.refused_api_calls("HTTP/1.1 403 Forbidden\n") == ["HTTP/1.1 403 Forbidden"]
    denied = '{"error":"permission denied","code":7,"message":"permission denied"}'
    assert predicates.refused_api_calls(denied)
