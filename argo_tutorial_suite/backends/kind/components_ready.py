"""Each installed component waited for until ready (:mod:`argo_tutorial_suite.probes.readiness`), a failed wait
carrying the last lines of every container that is not ready."""

from __future__ import annotations

from argo_tutorial_suite.kube import Kube
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.probes.changes import Changes
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tutorial import stack
from argo_tutorial_suite.verdicts.waits import Seen, State, WaitFailed, expect, timeout_for


def wait_components(kube: Kube, components: list[str] | None = None, timeout: float | None = None) -> None:
    for comp in components or list(stack.COMPONENT_NS):

        def probe(comp: str = comp) -> Seen:
            objs, pods = stack.component_objects(kube, comp)
            seen = readiness.component(comp, objs, pods)
            if comp == "ingress-nginx" and seen.state is State.OK:
                return readiness.on_ingress_ready_node(pods, kube.list("v1", "Node"))
            return seen

        try:
            # looked at again when a Pod, Deployment or StatefulSet of the component changes, not every second
            with Changes(kube.watch_kind, stack.COMPONENT_NS[comp]) as changes:
                expect(probe, f"{comp} ready", timeout or timeout_for("install"), sleep=changes.sleep)
        except WaitFailed as e:
            if e.last is not None:
                e.last.evidence.update(unready_logs(kube, stack.COMPONENT_NS[comp]))
            raise


def unready_logs(kube: Kube, namespace: str, tail: int = 30) -> dict[str, str]:
    """The last lines of every container that is not ready in ``namespace`` (its previous run's too, when it
    restarted): what a failed readiness wait carries as evidence."""
    out: dict[str, str] = {}
    for pod in kube.list("v1", "Pod", namespace):
        name = pod["metadata"]["name"]
        for st in (pod.get("status") or {}).get("containerStatuses") or []:
            if st.get("ready"):
                continue
            for previous in [False, True] if st.get("restartCount") else [False]:
                key = f"{name}/{st['name']}{' (previous run)' if previous else ''}"
                try:
                    out[key] = REDACTOR.text(kube.logs(namespace, name, st["name"], tail, previous))
                except Exception as e:  # a container that never started has no log
                    out[key] = f"(no log: {type(e).__name__})"
    return out
