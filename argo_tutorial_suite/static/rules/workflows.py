"""Pure helpers: Workflows embedded in Sensor triggers, their containers, and controller-made Services."""

from __future__ import annotations

from argo_tutorial_suite.objects import Obj, dig, kind, name, namespace, of_kind, pod_template_containers


def sensor_workflows(sensor: Obj) -> list[Obj]:
    """Workflow objects a Sensor's k8s triggers create (``spec.triggers[].template.k8s.source.resource``)."""
    out = []
    for t in dig(sensor, "spec", "triggers", default=[]) or []:
        res = dig(t, "template", "k8s", "source", "resource")
        if isinstance(res, dict) and res.get("kind") == "Workflow":
            out.append(res)
    return out


def sensor_templates(objs: list[Obj]) -> list[tuple[Obj, Obj]]:
    """(Sensor, Workflow template) for every template of every Workflow a Sensor creates."""
    return [
        (s, t)
        for s in of_kind(objs, "Sensor")
        for wf in sensor_workflows(s)
        for t in dig(wf, "spec", "templates", default=[]) or []
    ]


def workflow_containers(objs: list[Obj]) -> list[tuple[Obj, str, Obj]]:
    """(owner object, 'where' text, container) for pod templates and Workflow templates in Sensors."""
    out: list[tuple[Obj, str, Obj]] = []
    for o in objs:
        for c in pod_template_containers(o):
            out.append((o, f"container {c.get('name')}", c))
        wfs = sensor_workflows(o) if kind(o) == "Sensor" else ([o] if kind(o) == "Workflow" else [])
        for wf in wfs:
            for t in dig(wf, "spec", "templates", default=[]) or []:
                if isinstance(t.get("container"), dict):
                    out.append((o, f"Workflow template {t.get('name')}", t["container"]))
    return out


def generated_services(objs: list[Obj]) -> list[Obj]:
    """Services the Argo Events controller makes: ``<eventsource>-eventsource-svc`` when ``spec.service`` is set
    (argo-events v1.7.5 ``controllers/eventsource/resource.go``)."""
    out = []
    for es in of_kind(objs, "EventSource"):
        if dig(es, "spec", "service"):
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": f"{name(es)}-eventsource-svc", "namespace": namespace(es)},
                    "spec": {
                        "ports": dig(es, "spec", "service", "ports", default=[]),
                        "selector": {"eventsource-name": name(es)},
                    },
                }
            )
    return out
