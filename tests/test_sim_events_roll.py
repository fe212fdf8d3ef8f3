"""The events twin's Sensor roll-out, by itself: a changed Sensor is a new pod template (argo-events hands the pod
its spec in ``SENSOR_OBJECT``, ``controllers/sensor/resource.go``); until the old pod is gone it stays subscribed
and an event is triggered with the spec that pod runs (seen on kind: a Workflow from the spec before a change).

The store, the Deployment/ReplicaSet controllers, the kubelet's twin pods and the events twin run in-process; no
processes, no ports (no EventSource here)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from argo_tutorial_suite.apis import ARGOPROJ as API
from argo_tutorial_suite.backends.sim.apiserver import make_store
from argo_tutorial_suite.backends.sim.twins.apps import Controllers, Kubelet
from argo_tutorial_suite.backends.sim.twins.events import Events
from argo_tutorial_suite.backends.sim.world import Faults, Settings, World
from argo_tutorial_suite.paths import UPSTREAM
from argo_tutorial_suite.probes import predicates
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts.waits import State

EVENTS = "v1.7.5"
NS = "ci"


def sensor(value: str) -> dict[str, Any]:
    """A Sensor whose k8s trigger creates a ConfigMap saying which spec made it (``value``) and the event's ref."""
    return {
        "apiVersion": API,
        "kind": "Sensor",
        "metadata": {"name": "webhook", "namespace": NS},
        "spec": {
            "dependencies": [{"name": "push", "eventSourceName": "webhook", "eventName": "push"}],
            "triggers": [
                {
                    "template": {
                        "name": "make-cm",
                        "k8s": {
                            "operation": "create",
                            "source": {
                                "resource": {
                                    "apiVersion": "v1",
                                    "kind": "ConfigMap",
                                    "metadata": {"generateName": "made-"},
                                    "data": {"spec": value},
                                }
                            },
                            "parameters": [
                                {"src": {"dependencyName": "push", "dataKey": "body.ref"}, "dest": "data.ref"}
                            ],
                        },
                    }
                }
            ],
        },
    }


class Cluster:
    """A world with the argo-events CRDs and the twins that run a Sensor; ``step`` is one reconcile round."""

    def __init__(self, upstream: Upstream):
        store = make_store()
        crds = store.res("apiextensions.k8s.io", "customresourcedefinitions")
        install = upstream.load_all("argo-events", EVENTS, "manifests/install.yaml")
        for o in install:
            if o.get("kind") == "CustomResourceDefinition":
                store.patch(crds, None, o["metadata"]["name"], o, "apply")
        store.patch(
            store.res("", "namespaces"), None, NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, "apply"
        )  # fmt: skip
        procs = SimpleNamespace(stop=lambda p: None)
        self.world = World(
            store, cast(Any, procs), cast(Any, None), cast(Any, None), Settings(pod_ready_delay=0.0), Faults()
        )
        self.controllers, self.kubelet = Controllers(), Kubelet([])
        self.events = Events(self.world, install, EVENTS)
        self.world.create({"apiVersion": API, "kind": "EventBus", "metadata": {"name": "default", "namespace": NS},
                           "spec": {"nats": {"native": {}}}})  # fmt: skip

    def step(self, kubelet: bool = True) -> None:
        self.events.reconcile(self.world)
        self.controllers.reconcile(self.world)
        if kubelet:
            self.kubelet.reconcile(self.world)

    def settle(self, what: str, done: Any, rounds: int = 40) -> None:
        """Reconcile until ``done()``; at most ``rounds`` rounds (each is deterministic, no clock involved)."""
        for _ in range(rounds):
            if done():
                return
            self.step()
        raise AssertionError(f"not settled after {rounds} rounds: {what}")

    def pods(self) -> list[dict[str, Any]]:
        return self.world.list("v1", "Pod", NS, "sensor-name=webhook")

    def subscribed(self) -> list[str]:
        return sorted(p["metadata"]["name"] for p in self.pods() if p["metadata"]["uid"] in self.events.subscribed)

    def sensor(self) -> dict[str, Any]:
        s = self.world.get(API, "Sensor", "webhook", NS)
        assert s is not None
        return s

    def push(self, ref: str) -> dict[str, Any]:
        """Publish one push event; the ConfigMap its trigger made (a bounded wait: the trigger runs in a thread)."""
        before = {c["metadata"]["name"] for c in self.world.list("v1", "ConfigMap", NS)}
        es = {"metadata": {"name": "webhook", "namespace": NS}, "spec": {}}
        assert self.events.publish(self.world, es, "push", {"header": {}, "body": {"ref": ref}})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            made = [c for c in self.world.list("v1", "ConfigMap", NS) if c["metadata"]["name"] not in before]
            if made:
                return made[0]
            time.sleep(0.01)
        logs = {
            p["metadata"]["name"]: self.world.store.logs(NS, p["metadata"]["name"], "main", None) for p in self.pods()
        }
        raise AssertionError(f"no ConfigMap from the trigger for {ref} within 10 s; Sensor pod logs: {logs}")


@pytest.fixture
def events_world() -> Cluster:
    upstream = Upstream(UPSTREAM if UPSTREAM.is_dir() else None)
    if not upstream.has("argo-events", EVENTS, "manifests/install.yaml"):
        pytest.skip(f"argo-events {EVENTS} install.yaml absent (../shared/upstream not here)")
    c = Cluster(upstream)
    c.world.create(sensor("v1"))
    c.settle("the Sensor's first pod subscribed", lambda: len(c.subscribed()) == 1)
    return c


def test_a_subscribed_pod_triggers_with_the_spec_it_runs(events_world: Cluster) -> None:
    cm = events_world.push("refs/heads/main")
    assert cm["data"] == {"spec": "v1", "ref": "refs/heads/main"}
    assert cm["metadata"]["labels"]["events.argoproj.io/sensor"] == "webhook"
    assert predicates.pods_on_current_spec(events_world.sensor(), events_world.pods()).state is State.OK


def test_a_changed_sensor_rolls_and_the_old_pod_triggers_until_it_is_gone(events_world: Cluster) -> None:
    old = events_world.subscribed()
    events_world.world.patch(events_world.sensor(), {"spec": sensor("v2")["spec"]})
    for _ in range(3):  # the controller writes the new template; the new pod is created but not yet Ready
        events_world.step(kubelet=False)
    assert len(events_world.pods()) == 2, "a changed spec is a new pod template: the Deployment rolls"
    seen = predicates.pods_on_current_spec(events_world.sensor(), events_world.pods())
    assert seen.state is State.PENDING and old[0] in seen.detail
    assert events_world.push("refs/heads/one")["data"]["spec"] == "v1"  # the old pod is still the subscriber

    events_world.settle("the old Sensor pod gone, the new one subscribed",
                   lambda: len(events_world.pods()) == 1 and events_world.subscribed() and events_world.subscribed() != old)  # fmt: skip
    assert predicates.pods_on_current_spec(events_world.sensor(), events_world.pods()).state is State.OK
    assert events_world.push("refs/heads/two")["data"] == {"spec": "v2", "ref": "refs/heads/two"}


def test_an_unchanged_sensor_keeps_its_pod(events_world: Cluster) -> None:
    pods = [p["metadata"]["uid"] for p in events_world.pods()]
    events_world.world.patch(events_world.sensor(), {"metadata": {"labels": {"touched": "yes"}}})
    for _ in range(5):
        events_world.step()
    assert [p["metadata"]["uid"] for p in events_world.pods()] == pods


def test_no_event_reaches_a_sensor_before_it_subscribes(events_world: Cluster) -> None:
    """STAN ``StartAt NewOnly`` / JetStream ``DeliverNew``: an event before any subscription is never delivered,
    not even once the pod subscribes."""
    subscribed = dict(events_world.events.subscribed)
    events_world.events.subscribed.clear()
    es = {"metadata": {"name": "webhook", "namespace": NS}, "spec": {}}
    assert events_world.events.publish(events_world.world, es, "push", {"header": {}, "body": {"ref": "early"}})
    events_world.events.subscribed.update(subscribed)
    assert events_world.push("refs/heads/later")["data"]["ref"] == "refs/heads/later"
    assert [c["data"]["ref"] for c in events_world.world.list("v1", "ConfigMap", NS)] == ["refs/heads/later"]


def eventsource(endpoint: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "EventSource",
        "metadata": {"name": "webhook", "namespace": NS},
        "spec": {"webhook": {"push": {"port": "12000", "endpoint": endpoint, "method": "POST"}}},
    }


def test_a_changed_eventsource_serves_the_new_routes_from_its_new_pod(events_world: Cluster) -> None:
    w = events_world.world
    w.create(eventsource("/push"))

    def served() -> tuple[str, int] | None:
        """(pod, local port of its webhook) of the pod the twin serves the EventSource from."""
        es_uid = w.list(API, "EventSource", NS)[0]["metadata"]["uid"]
        for p in w.list("v1", "Pod", NS, "eventsource-name=webhook"):
            ports = w.endpoints.get((NS, p["metadata"]["name"])) or {}
            if events_world.events.serving.get(es_uid) == p["metadata"]["uid"] and 12000 in ports:
                return p["metadata"]["name"], int(ports[12000].address.rsplit(":", 1)[1])
        return None

    events_world.settle("the EventSource's pod serves", lambda: served() is not None)
    first, port = served() or ("", 0)
    assert httpx.post(f"http://127.0.0.1:{port}/push", json={}).text == "success"

    w.patch(w.list(API, "EventSource", NS)[0], {"spec": eventsource("/v2/push")["spec"]})
    events_world.settle("the new pod serves the new route", lambda: (served() or (first,))[0] != first)
    _, new_port = served() or ("", 0)
    assert httpx.post(f"http://127.0.0.1:{new_port}/v2/push", json={}).text == "success"
    assert httpx.post(f"http://127.0.0.1:{new_port}/push", json={}).status_code == 404
    with pytest.raises(httpx.ConnectError):  # the first pod's servers are closed
        httpx.post(f"http://127.0.0.1:{port}/push", json={}, timeout=2)
