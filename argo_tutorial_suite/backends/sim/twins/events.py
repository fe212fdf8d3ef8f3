"""Argo Events: EventBus, the webhook EventSource on a real local port, and the Sensor's k8s trigger.

Rules (``argoproj/argo-events@v1.7.5``; v1.9.11 where it differs; research ``events-workflows.md`` 1-2):

* EventBus: native NATS -> StatefulSet ``eventbus-<name>-stan`` (replicas forced to >= 3), JetStream ->
  ``eventbus-<name>-js``; a JetStream ``version`` the controller's ``controller-config.yaml`` does not list
  is ``InvalidSpec``; conditions ``Configured`` and ``Deployed`` (``NATS is deployed``);
* EventSource/Sensor: ``Deployed=False EventBusNotReady`` until the bus is ready; a Deployment
  ``<es>-eventsource-xxxxx`` / ``<sensor>-sensor-xxxxx`` labelled ``eventsource-name`` / ``sensor-name``,
  ``controller``, ``owner-name``; ``spec.service`` also makes Service ``<es>-eventsource-svc``;
* the webhook port exists only once the pod runs and the bus is connected (connection refused before);
  ``POST <endpoint>`` with JSON -> 200 ``success``; wrong method -> 400 ``http method does not match``;
  other path -> 404; ``GET /health`` -> 200 ``OK``; a body that is not JSON -> 400; form-encoded bodies
  become ``{"payload": [...]}``; the event data is ``{"header": <canonical names, list values>, "body": ...}``;
* the controller hands its pod the object: ``SENSOR_OBJECT`` / ``EVENTSOURCE_OBJECT`` (base64 JSON of name,
  namespace and spec) in the pod's env (``controllers/sensor/resource.go``), so a changed spec is a new pod
  template and the Deployment rolls; until the old pod is gone it stays subscribed;
* each Sensor pod subscribes when it runs (log ``Subscribed to subject ...``), with the spec it was started
  with; an event goes to one subscribed pod of the Sensor (a queue group: the one subscribed longest here),
  which triggers with its own spec; events published before any subscription are never delivered (STAN
  ``StartAt NewOnly``, JetStream ``DeliverNew``); an EventSource's webhook routes are those of the spec its
  newest ready pod runs;
* data filters: the gjson path must exist; type ``string`` matches each value as an unanchored regexp
  against the result's string form (``sensors/dependencies/filter.go``);
* the k8s trigger renders each parameter (``dataTemplate`` with Go text/template over ``{"Input": data}``,
  empty or ``<no value>`` is an error; then ``dataKey``, then ``value``), sets it with sjson at ``dest``,
  labels the object ``events.argoproj.io/sensor``, ``/trigger``, ``/action-timestamp`` and creates it; a
  failure is logged ``Failed to execute a trigger`` and nothing is created (no retry, no status change).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import yaml

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends.sim.api_semantics import ApiError
from argo_tutorial_suite.backends.sim.store import now
from argo_tutorial_suite.backends.sim.twins.apps import CREATED, RUNTIME, WORKLOAD, suffix
from argo_tutorial_suite.backends.sim.world import Endpoint, World
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes import predicates
from argo_tutorial_suite.tutorial import gotemplate, images
from argo_tutorial_suite.tutorial.payloads import canonical_header


def gjson_get(data: Any, path: str) -> tuple[bool, Any]:
    """The gjson subset the tutorial uses: dotted keys, numeric array indexes, ``\\.`` escapes."""
    cur = data
    for part in re.split(r"(?<!\\)\.", path):
        part = part.replace("\\.", ".")
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return False, None
    return True, cur


def gjson_string(v: Any) -> str:
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"))


def sjson_set(obj: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    cur = obj
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, list):
            idx = len(cur) if part == "-1" else int(part)
            while len(cur) <= idx:
                cur.append({} if not last else None)
            if last:
                cur[idx] = value
            else:
                if not isinstance(cur[idx], (dict, list)):
                    cur[idx] = [] if parts[i + 1].isdigit() else {}
                cur = cur[idx]
        else:
            if last:
                cur[part] = value
            else:
                if not isinstance(cur.get(part), (dict, list)):
                    cur[part] = [] if parts[i + 1].isdigit() else {}
                cur = cur[part]


def filters_pass(dep: Obj, data: Obj) -> tuple[bool, str]:
    for f in (dep.get("filters") or {}).get("data") or []:
        ok, v = gjson_get(data, f["path"])
        if not ok:
            return False, f"path '{f['path']}' does not exist"
        if f.get("type", "string") == "string":
            s = gjson_string(v)
            if not any(re.search(val, s) for val in f.get("value") or []):
                return False, f"data filter {f['path']} did not match"
    return True, ""


def resolve_param(src: Obj, data: Obj) -> str:
    err = ""
    if src.get("dataTemplate"):
        try:
            out = gotemplate.render(src["dataTemplate"], {"Input": data})
            if out in ("", "<no value>"):
                raise gotemplate.TemplateError(f"template evaluated to empty string or no value: {src['dataTemplate']}")
            return out
        except gotemplate.TemplateError as e:
            err = str(e)
    if src.get("dataKey"):
        ok, v = gjson_get(data, src["dataKey"])
        if ok:
            return gjson_string(v)
    if src.get("value") is not None:
        return str(src["value"])
    raise gotemplate.TemplateError(f"unable to resolve '{src.get('dependencyName')}' parameter value. err: {err}")


class Webhook(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, twin: Events, world: World, es: Obj, event_name: str, spec: Obj):
        super().__init__(("127.0.0.1", 0), WebhookHandler)
        self.twin, self.world, self.es, self.event_name, self.spec = twin, world, es, event_name, spec

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class WebhookHandler(BaseHTTPRequestHandler):
    server: Webhook
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _any(self) -> None:
        srv = self.server
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        path = self.path.split("?")[0]
        if path == "/health":
            return self._reply(200, "OK")
        if path != srv.spec.get("endpoint", "/"):
            return self._reply(404, "404 page not found\n")
        if self.command != srv.spec.get("method", "POST"):
            return self._reply(400, "http method does not match")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "application/x-www-form-urlencoded":
            body: Any = parse_qs(raw.decode())
        else:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._reply(400, "failed to marshal the event data, rejecting the event")
        header: dict[str, list[str]] = {}
        for k, v in self.headers.items():
            ck = canonical_header(k)
            header.setdefault(ck, []).append("*** Masked Auth Secret ***" if ck == "Authorization" else v)
        data = {"header": header, "body": body}
        ok = srv.twin.publish(srv.world, srv.es, srv.event_name, data)
        if not ok and srv.twin.version_tuple >= (1, 9, 6):
            return self._reply(500, "failed to record event")
        return self._reply(200, "success")

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _any


def object_env(obj: Obj) -> str:
    """What the controller puts in ``SENSOR_OBJECT``/``EVENTSOURCE_OBJECT``: base64 JSON of the name, namespace
    and spec only (``controllers/sensor/resource.go``)."""
    meta = obj["metadata"]
    copy_ = {"metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "spec": obj.get("spec") or {}}
    return base64.b64encode(json.dumps(copy_, sort_keys=True).encode()).decode()


class Events:
    def __init__(self, world: World, install_objects: list[Obj], version: str):
        self.controller_config = images.controller_config(install_objects)
        self.version = version
        self.version_tuple = tuple(int(x) for x in version.lstrip("v").split(".")[:3])
        self.servers: dict[str, list[Webhook]] = {}  # eventsource uid -> servers
        self.serving: dict[str, str] = {}  # eventsource uid -> uid of the pod whose spec its servers serve
        self.subscribed: dict[str, float] = {}  # Sensor pod uid -> monotonic time of its subscription
        self.lock = threading.Lock()

    # -- reconcile -------------------------------------------------------------------------------------------
    def reconcile(self, world: World) -> None:
        for bus in world.list(ARGOPROJ, "EventBus"):
            self.eventbus(world, bus)
        for es in world.list(ARGOPROJ, "EventSource"):
            self.eventsource(world, es)
        for s in world.list(ARGOPROJ, "Sensor"):
            self.sensor(world, s)
        live = {es["metadata"]["uid"] for es in world.list(ARGOPROJ, "EventSource")}
        for uid in list(self.servers):
            if uid not in live:
                self._stop(uid)

    def _stop(self, uid: str) -> None:
        for srv in self.servers.pop(uid, []):
            srv.shutdown()
            srv.server_close()
        self.serving.pop(uid, None)

    def close(self, world: World) -> None:
        for servers in self.servers.values():
            for srv in servers:
                srv.shutdown()
                srv.server_close()
        self.servers.clear()

    def bus_ready(self, world: World, ns: str, name: str = "default") -> tuple[bool, str]:
        bus = world.get(ARGOPROJ, "EventBus", name, ns)
        if bus is None:
            return False, f'eventbus "{name}" not found'
        conds = {c["type"]: c for c in (bus.get("status") or {}).get("conditions") or []}
        if conds.get("Deployed", {}).get("status") != "True":
            return False, "EventBus not ready"
        sts = world.get("apps/v1", "StatefulSet", self.bus_sts_name(bus), ns)
        if sts is None or int((sts.get("status") or {}).get("readyReplicas", 0)) < int(sts["spec"]["replicas"]):
            return False, "EventBus not ready"
        return True, ""

    def bus_sts_name(self, bus: Obj) -> str:
        return f"eventbus-{bus['metadata']['name']}-{'js' if 'jetstream' in bus.get('spec', {}) else 'stan'}"

    def eventbus(self, world: World, bus: Obj) -> None:
        ns, name, spec = bus["metadata"]["namespace"], bus["metadata"]["name"], bus.get("spec") or {}
        try:
            imgs = images.eventbus_images(self.controller_config, bus)
        except (ValueError, KeyError) as e:
            world.patch_status(
                bus,
                {
                    "conditions": [
                        {"type": "Configured", "status": "False", "reason": "InvalidSpec", "message": str(e)},
                        {"type": "Deployed", "status": "False", "reason": "InvalidSpec", "message": str(e)},
                    ]
                },
            )
            return
        native = (spec.get("nats") or {}).get("native") or {}
        js = spec.get("jetstream") or {}
        replicas = max(3, int(native.get("replicas", 3))) if "nats" in spec else int(js.get("replicas", 3))
        sts_name = self.bus_sts_name(bus)
        if world.get("apps/v1", "StatefulSet", sts_name, ns) is None:
            labels = {"controller": "eventbus-controller", "eventbus-name": name, "owner-name": name}
            world.create(
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "metadata": {
                        "name": sts_name,
                        "namespace": ns,
                        "labels": labels,
                        "annotations": {WORKLOAD: sts_name},
                        "ownerReferences": [world.owner_ref(bus)],
                    },
                    "spec": {
                        "replicas": replicas,
                        "serviceName": f"{sts_name}-svc",
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels, "annotations": {RUNTIME: "twin"}},
                            "spec": {"containers": [{"name": "main", "image": imgs[0]}]},
                        },
                    },
                }
            )
        msg = "NATS is deployed" if "nats" in spec else "JetStream is deployed"
        world.patch_status(
            bus,
            {
                "conditions": [
                    {"type": "Configured", "status": "True"},
                    {"type": "Deployed", "status": "True", "reason": "Succeeded", "message": msg},
                ]
            },
        )

    def _deployment(self, world: World, owner: Obj, kind: str, labels: dict[str, str], sa: str | None) -> Obj:
        ns, name = owner["metadata"]["namespace"], owner["metadata"]["name"]
        env = [{"name": predicates.SPEC_ENV[owner["kind"]], "value": object_env(owner)}]
        found = [d for d in world.list("apps/v1", "Deployment", ns) if world.owned_by(d, owner)]
        if found:
            d = found[0]
            containers = d["spec"]["template"]["spec"]["containers"]
            if containers[0].get("env") != env:  # the spec changed: a new pod template (the Deployment rolls)
                body = {"spec": {"template": {"spec": {"containers": [{**containers[0], "env": env}]}}}}
                return world.patch(d, body) or d
            return d
        image = f"quay.io/argoproj/argo-events:{self.version}"
        spec: Obj = {"containers": [{"name": "main", "image": image, "args": [f"{kind}-service"], "env": env}]}
        if sa:
            spec["serviceAccountName"] = sa
        return world.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "generateName": f"{name}-{kind}-",
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {WORKLOAD: name},
                    "ownerReferences": [world.owner_ref(owner)],
                },
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {
                            "labels": labels,
                            "annotations": {RUNTIME: "twin", CREATED: str(time.monotonic())},
                        },
                        "spec": spec,
                    },
                },
            }
        )

    def _ready_pod(self, world: World, ns: str, labels: dict[str, str]) -> Obj | None:
        return next(iter(self._ready_pods(world, ns, labels)), None)

    @staticmethod
    def _ready_pods(world: World, ns: str, labels: dict[str, str]) -> list[Obj]:
        sel = ",".join(f"{k}={v}" for k, v in labels.items())
        return [
            p
            for p in world.list("v1", "Pod", ns, sel)
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        ]

    def eventsource(self, world: World, es: Obj) -> None:
        ns, name = es["metadata"]["namespace"], es["metadata"]["name"]
        ready, why = self.bus_ready(world, ns, (es.get("spec") or {}).get("eventBusName", "default"))
        if not ready:
            world.patch_status(
                es,
                {
                    "conditions": [
                        {"type": "SourcesProvided", "status": "True"},
                        {"type": "Deployed", "status": "False", "reason": "EventBusNotReady", "message": why},
                    ]
                },
            )
            return
        labels = {"controller": "eventsource-controller", "eventsource-name": name, "owner-name": name}
        self._deployment(world, es, "eventsource", labels, None)
        svc_spec = (es.get("spec") or {}).get("service")
        if svc_spec and world.get("v1", "Service", f"{name}-eventsource-svc", ns) is None:
            world.create(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": f"{name}-eventsource-svc",
                        "namespace": ns,
                        "ownerReferences": [world.owner_ref(es)],
                    },
                    "spec": {"ports": svc_spec.get("ports") or [], "selector": labels},
                }
            )
        world.patch_status(
            es, {"conditions": [{"type": "SourcesProvided", "status": "True"}, {"type": "Deployed", "status": "True"}]}
        )
        # the newest ready pod serves: after a spec change the Deployment rolls (the spec is in the pod's env), and
        # the new pod's routes are the new spec's
        newest = sorted(self._ready_pods(world, ns, labels), key=lambda p: -world.elapsed(p))
        pod = newest[-1] if newest else None
        uid = es["metadata"]["uid"]
        if pod is None or self.serving.get(uid) == pod["metadata"]["uid"]:
            return
        if (
            world.faults.webhook_late
            and world.elapsed(pod) < world.settings.pod_ready_delay + world.faults.webhook_late
        ):
            return
        self._stop(uid)
        servers = []
        ports: dict[int, Endpoint] = {}
        running = predicates.spec_in_pod(pod, "EventSource") or es.get("spec") or {}
        for event_name, spec in (running.get("webhook") or {}).items():
            srv = Webhook(self, world, es, event_name, spec)
            threading.Thread(target=srv.serve_forever, daemon=True, name=f"sim-webhook-{name}").start()
            servers.append(srv)
            ports[int(spec.get("port", 12000))] = Endpoint("tcp", f"127.0.0.1:{srv.port}")
            world.store.log(
                ns,
                pod["metadata"]["name"],
                "main",
                json.dumps(
                    {"level": "info", "msg": "route is activated", "eventSourceName": name, "eventName": event_name}
                ),
            )
        self.servers[uid] = servers
        self.serving[uid] = pod["metadata"]["uid"]
        with world.lock:
            world.endpoints[(ns, pod["metadata"]["name"])] = ports
        world.store.log(
            ns, pod["metadata"]["name"], "main", json.dumps({"level": "info", "msg": "Eventing server started."})
        )

    def sensor(self, world: World, s: Obj) -> None:
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        spec = s.get("spec") or {}
        ready, why = self.bus_ready(world, ns, spec.get("eventBusName", "default"))
        if not ready:
            world.patch_status(
                s,
                {
                    "conditions": [
                        {"type": "DependenciesProvided", "status": "True"},
                        {"type": "TriggersProvided", "status": "True"},
                        {"type": "Deployed", "status": "False", "reason": "EventBusNotReady", "message": why},
                    ]
                },
            )
            return
        labels = {"controller": "sensor-controller", "sensor-name": name, "owner-name": name}
        self._deployment(world, s, "sensor", labels, (spec.get("template") or {}).get("serviceAccountName"))
        world.patch_status(
            s,
            {
                "conditions": [
                    {"type": "DependenciesProvided", "status": "True"},
                    {"type": "TriggersProvided", "status": "True"},
                    {"type": "Deployed", "status": "True"},
                ]
            },
        )
        for pod in self._ready_pods(world, ns, labels):
            if pod["metadata"]["uid"] not in self.subscribed:
                self._subscribe(world, pod, name, predicates.spec_in_pod(pod, "Sensor") or spec)

    def _subscribe(self, world: World, pod: Obj, name: str, spec: Obj) -> None:
        ns, pname = pod["metadata"]["namespace"], pod["metadata"]["name"]
        world.store.log(ns, pname, "main", json.dumps({"level": "info", "msg": "Sensor started.", "sensorName": name}))
        for t in spec.get("triggers") or []:
            tname = (t.get("template") or {}).get("name", "")
            world.store.log(
                ns,
                pname,
                "main",
                json.dumps(
                    {"level": "info", "msg": f"started subscribing to events for trigger {tname}", "sensorName": name}
                ),
            )
            world.store.log(
                ns,
                pname,
                "main",
                json.dumps(
                    {
                        "level": "info",
                        "msg": f"Subscribed to subject eventbus-{ns} using durable name {name}-{tname}",
                        "sensorName": name,
                    }
                ),
            )
        with self.lock:
            self.subscribed[pod["metadata"]["uid"]] = time.monotonic()

    # -- events ----------------------------------------------------------------------------------------------
    def publish(self, world: World, es: Obj, event_name: str, data: Obj) -> bool:
        ns = es["metadata"]["namespace"]
        ready, _ = self.bus_ready(world, ns, (es.get("spec") or {}).get("eventBusName", "default"))
        pods = world.list("v1", "Pod", ns, f"eventsource-name={es['metadata']['name']}")
        pname = pods[0]["metadata"]["name"] if pods else "eventsource"
        if not ready:
            world.store.log(
                ns,
                pname,
                "main",
                json.dumps({"level": "error", "msg": "failed to send event", "error": "eventbus not connected"}),
            )
            return False
        world.store.log(
            ns,
            pname,
            "main",
            json.dumps(
                {
                    "level": "info",
                    "msg": "Succeeded to publish an event",
                    "eventSourceName": es["metadata"]["name"],
                    "eventName": event_name,
                }
            ),
        )
        for s in world.list(ARGOPROJ, "Sensor", ns):
            pods = [
                p
                for p in world.list("v1", "Pod", ns, f"sensor-name={s['metadata']['name']}")
                if p["metadata"]["uid"] in self.subscribed
            ]
            if not pods:
                continue  # not subscribed yet: the event is not delivered (DeliverNew / StartAt NewOnly)
            pod = min(pods, key=lambda p: self.subscribed[p["metadata"]["uid"]])
            running = {**s, "spec": predicates.spec_in_pod(pod, "Sensor") or s.get("spec") or {}}
            for dep in running["spec"].get("dependencies") or []:
                if dep.get("eventSourceName") == es["metadata"]["name"] and dep.get("eventName") == event_name:
                    threading.Thread(
                        target=self.trigger,
                        args=(world, running, dep, copy.deepcopy(data), pod["metadata"]["name"]),
                        daemon=True,
                    ).start()
        return True

    def trigger(self, world: World, s: Obj, dep: Obj, data: Obj, pname: str) -> None:
        """The trigger run by Sensor pod ``pname``, with the spec it runs (``s``)."""
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]

        def log(level: str, msg: str, **kw: Any) -> None:
            world.store.log(
                ns,
                pname,
                "main",
                json.dumps(
                    {
                        "level": level,
                        "ts": time.time(),
                        "logger": "argo-events.sensor",
                        "msg": msg,
                        "sensorName": name,
                        **kw,
                    }
                ),
            )

        ok, why = filters_pass(dep, data)
        if not ok:
            log("info", "Event discarded due to filtering", dependencyName=dep.get("name"), reason=why)
            return
        for t in (s.get("spec") or {}).get("triggers") or []:
            tmpl = t.get("template") or {}
            tname = tmpl.get("name", "")
            k8s = tmpl.get("k8s") or {}
            try:
                obj = copy.deepcopy(((k8s.get("source") or {}).get("resource")) or {})
                for p in k8s.get("parameters") or []:
                    sjson_set(obj, p["dest"], resolve_param(p.get("src") or {}, data))
                meta = obj.setdefault("metadata", {})
                meta.setdefault("labels", {}).update(
                    {
                        "events.argoproj.io/sensor": name,
                        "events.argoproj.io/trigger": tname,
                        "events.argoproj.io/action-timestamp": str(int(time.time() * 1000)),
                    }
                )
                meta.setdefault("namespace", ns)
                if k8s.get("operation", "create") != "create":
                    raise ApiError(400, "BadRequest", f"operation {k8s.get('operation')} is not modelled (create only)")
                created = world.create(obj)
                log(
                    "info",
                    f"Successfully processed trigger '{tname}'",
                    triggerName=tname,
                    triggeredBy=[dep.get("name")],
                    createdObject=created["metadata"]["name"],
                )
            except (gotemplate.TemplateError, ApiError, ValueError, KeyError, IndexError, TypeError) as e:
                msg = e.message if isinstance(e, ApiError) else str(e)
                log(
                    "error",
                    "Failed to execute a trigger",
                    error=f"failed to execute trigger: {msg}",
                    triggerName=tname,
                    triggeredBy=[dep.get("name")],
                )


def install_objects_yaml(text: str) -> list[Obj]:
    return [o for o in yaml.safe_load_all(text) if isinstance(o, dict)]


__all__ = ["Events", "filters_pass", "gjson_get", "now", "resolve_param", "sjson_set", "suffix"]
