"""Evidence on failure: a compact summary for the pytest report and an artifacts directory.

The shape follows Argo Rollouts' e2e ``AfterTest`` (object tree, YAML and events), kubetest's report
section and Chainsaw's global ``catch``: the YAML of the objects involved without ``managedFields``,
events grouped by ``involvedObject.uid``, controller and workload logs, Argo CD application
conditions and Workflow node phases. Everything passes through the :class:`~argo_tutorial_suite.redact.Redactor`.
The functions here are pure; :class:`Collector` (the I/O) reads through any backend's API client.
"""

from __future__ import annotations

import copy
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import yaml

from argo_tutorial_suite.apis import ARGOPROJ, CERT_MANAGER
from argo_tutorial_suite.kube import Kube
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import Redactor
from argo_tutorial_suite.tutorial.stack import CONTROLLERS

# The six controllers whose logs explain most failures: (namespace, label selector).


def clean(obj: Obj) -> Obj:
    """A copy without ``managedFields`` and the last-applied annotation (noise in every diff)."""
    o = copy.deepcopy(obj)
    meta = o.get("metadata", {})
    meta.pop("managedFields", None)
    ann = meta.get("annotations") or {}
    ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if not ann:
        meta.pop("annotations", None)
    return o


def events_by_uid(events: Iterable[Obj]) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = defaultdict(list)
    for e in events:
        uid = (e.get("involvedObject") or e.get("regarding") or {}).get("uid")
        if uid:
            out[uid].append(e)
    for evs in out.values():
        evs.sort(
            key=lambda e: str(
                e.get("lastTimestamp") or e.get("eventTime") or e.get("metadata", {}).get("creationTimestamp") or ""
            )
        )
    return dict(out)


def event_line(e: Obj) -> str:
    count = e.get("count") or 1
    return f"{e.get('type', '')} {e.get('reason', '')} (x{count}): {e.get('message', '').strip()}"


def summary_line(o: Obj) -> str:
    """One line per object with what matters for its kind."""
    kind, meta, st = o.get("kind", "?"), o.get("metadata", {}), o.get("status") or {}
    name = f"{kind} {meta.get('namespace', '-')}/{meta.get('name', '?')}"
    if kind == "Application":
        sync, health = st.get("sync", {}), st.get("health", {})
        op = st.get("operationState", {})
        conds = "; ".join(f"{c.get('type')}: {c.get('message')}" for c in st.get("conditions", []))
        return (
            f"{name}: sync={sync.get('status')} rev={str(sync.get('revision', ''))[:8]} health={health.get('status')} "
            f"op={op.get('phase')} {op.get('message', '')} {conds}"
        ).strip()
    if kind == "Rollout":
        bg = st.get("blueGreen", {})
        pauses = ",".join(p.get("reason", "") for p in st.get("pauseConditions") or [])
        return (
            f"{name}: phase={st.get('phase')} message={st.get('message', '')!r} active={bg.get('activeSelector')} "
            f"preview={bg.get('previewSelector')} pause=[{pauses}] currentPodHash={st.get('currentPodHash')}"
        )
    if kind == "Workflow":
        nodes = st.get("nodes") or {}
        parts = [
            f"{n.get('displayName')}={n.get('phase')}" + (f"({n.get('message')})" if n.get("message") else "")
            for n in nodes.values()
        ]
        return f"{name}: phase={st.get('phase')} {st.get('message', '')} nodes: {', '.join(parts)}".strip()
    if kind in ("Certificate", "Order", "Challenge", "CertificateRequest"):
        conds = "; ".join(f"{c.get('type')}={c.get('status')} {c.get('reason', '')}" for c in st.get("conditions", []))
        return f"{name}: state={st.get('state', '')} {st.get('reason', '')} {conds}".strip()
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        return f"{name}: ready={st.get('readyReplicas', 0)}/{o.get('spec', {}).get('replicas', '?')}"
    if kind == "Pod":
        waits = [
            f"{c.get('name')}:{(c.get('state') or {}).get('waiting', {}).get('reason')}"
            for c in st.get("containerStatuses") or []
            if (c.get("state") or {}).get("waiting")
        ]
        return f"{name}: phase={st.get('phase')} {' '.join(waits)}".strip()
    conds = "; ".join(f"{c.get('type')}={c.get('status')}" for c in st.get("conditions", []) if isinstance(c, dict))
    return f"{name}: {conds}".strip(": ").strip()


def report_section(objects: Iterable[Obj], events: Iterable[Obj], redactor: Redactor, max_events: int = 5) -> str:
    """The text added to a failing test's report: one line per object, then its last events."""
    by_uid = events_by_uid(events)
    lines: list[str] = []
    for o in objects:
        lines.append(summary_line(o))
        for e in by_uid.get(o.get("metadata", {}).get("uid", ""), [])[-max_events:]:
            lines.append("    " + event_line(e))
    return redactor.text("\n".join(lines))


class ObjectSource(Protocol):
    """What diagnostics need from a backend: list objects, events and pod logs."""

    def list_objects(self, namespaces: Iterable[str]) -> list[Obj]: ...

    def list_events(self, namespaces: Iterable[str]) -> list[Obj]: ...

    def pod_logs(self, namespace: str, selector: str, tail: int) -> dict[str, str]: ...


def write_artifacts(
    dest: Path,
    source: ObjectSource,
    namespaces: Iterable[str],
    redactor: Redactor,
    tail: int = 200,
) -> tuple[Path, str]:
    """Write objects, events and logs under ``dest``; return (dir, report section)."""
    ns = sorted(set(namespaces))
    if dest.exists():
        shutil.rmtree(dest)  # one run's evidence per test, never mixed with an earlier run's
    dest.mkdir(parents=True, exist_ok=True)
    objs = [clean(o) for o in source.list_objects(ns)]
    events = source.list_events(ns)
    for o in objs:
        meta = o.get("metadata", {})
        path = dest / "objects" / (meta.get("namespace") or "_cluster") / f"{o.get('kind')}.{meta.get('name')}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(redactor.obj(o), sort_keys=False))
    (dest / "events.txt").write_text(
        redactor.text(
            "\n".join(
                f"{e.get('involvedObject', {}).get('kind')}/{e.get('involvedObject', {}).get('name')}: {event_line(e)}"
                for e in events
            )
        )
    )
    logs_dir = dest / "logs"
    for namespace, selector in [*CONTROLLERS, *((n, "") for n in ns)]:
        try:
            logs = source.pod_logs(namespace, selector, tail)
        except Exception as e:
            logs = {"_error": f"could not read logs: {e}"}
        for pod, text in logs.items():
            p = logs_dir / namespace / f"{pod}.log"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(redactor.text(text))
    interesting = [
        o
        for o in objs
        if o.get("kind")
        in ("Application", "Rollout", "Workflow", "Certificate", "Order", "Challenge", "Pod", "Deployment")
    ]
    return dest, report_section(interesting, events, redactor)


# what a cluster's diagnostics list in each namespace
DIAGNOSED_KINDS = (
    (ARGOPROJ, "Application"),
    (ARGOPROJ, "Rollout"),
    (ARGOPROJ, "Workflow"),
    (ARGOPROJ, "Sensor"),
    (ARGOPROJ, "EventSource"),
    (ARGOPROJ, "EventBus"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    (CERT_MANAGER, "Certificate"),
)


def objects_in(kube: Kube, namespaces: Iterable[str]) -> list[Obj]:
    """Every object of :data:`DIAGNOSED_KINDS` in ``namespaces`` (a kind the cluster does not serve is skipped)."""
    out: list[Obj] = []
    for ns in namespaces:
        for api_version, kind in DIAGNOSED_KINDS:
            try:
                out += kube.list(api_version, kind, ns)
            except Exception:  # not served (its CRD not installed): nothing of it to list
                continue
    return out


def events_in(kube: Kube, namespaces: Iterable[str]) -> list[Obj]:
    return [e for ns in namespaces for e in kube.list("v1", "Event", ns)]


def logs_of(kube: Kube, namespace: str, selector: str, tail: int) -> dict[str, str]:
    """``pod.container`` -> its last ``tail`` lines, for the pods ``selector`` picks."""
    out: dict[str, str] = {}
    for p in kube.list("v1", "Pod", namespace, label_selector=selector):
        for c in p.get("spec", {}).get("containers", []):
            key = f"{p['metadata']['name']}.{c['name']}"
            try:
                out[key] = kube.logs(namespace, p["metadata"]["name"], c["name"], tail)
            except Exception as e:  # a container that never started has no log
                out[key] = f"(no logs: {e})"
    return out
