"""Argo Rollouts, blue-green only (the tutorial's strategy).

Rules, from ``argoproj/argo-rollouts@v1.4.1`` (unchanged in v1.9.1 where noted in research A.1-A.8):

* one ReplicaSet per pod template, ``<rollout>-<hash>``, pods labelled ``rollouts-pod-template-hash``
  (``rollout/replicaset.go``); ``status.currentPodHash`` is the newest hash;
* referenced Services must exist, else ``InvalidSpec`` and phase ``Degraded`` (``getReferencedService``);
* the preview Service, if named, is switched to the new hash right after the new ReplicaSet is created
  (``reconcilePreviewService``); without ``previewService`` nothing is switched and
  ``status.blueGreen.previewSelector`` stays absent (A.5);
* the active Service is switched once the new ReplicaSet is fully available and either the update is
  fast-tracked (the active Service has no hash yet: the first deploy is never paused, A.6), or the
  BlueGreen pause was completed (``pauseConditions`` cleared by a user: plugin ``promote`` or Argo CD's
  ``resume`` action), or ``status.promoteFull`` is set (``reconcileActiveService``);
* ``autoPromotionEnabled: false`` adds ``pauseConditions: [{reason: BlueGreenPause}]`` and
  ``controllerPause: true`` once the new ReplicaSet is available (``needsBlueGreenControllerPause``);
  the phase is computed by ``CalculateRolloutPhase`` (A.2): Paused/``BlueGreenPause`` while paused;
* a selector switch patches ``spec.selector`` plus the ``argo-rollouts.argoproj.io/managed-by-rollouts``
  annotation and emits ``SwitchService`` (``rollout/service.go``);
* the old ReplicaSet is scaled to 0 ``scaleDownDelaySeconds`` (default 30) after promotion, via the
  ``argo-rollouts.argoproj.io/scale-down-deadline`` annotation (``rollout/bluegreen.go``).
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from typing import Any

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends.sim.store import now
from argo_tutorial_suite.backends.sim.twins.apps import WORKLOAD, world_template
from argo_tutorial_suite.backends.sim.world import World, template_hash
from argo_tutorial_suite.objects import Obj

HASH = "rollouts-pod-template-hash"
MANAGED_BY = "argo-rollouts.argoproj.io/managed-by-rollouts"
DEADLINE = "argo-rollouts.argoproj.io/scale-down-deadline"


def calculate_phase(ro: Obj) -> tuple[str, str]:
    """``utils/rollout/rolloututil.go`` ``CalculateRolloutPhase`` for blue-green."""
    st, spec = ro.get("status") or {}, ro.get("spec") or {}
    for c in st.get("conditions") or []:
        if c.get("type") == "InvalidSpec":
            return "Degraded", f"InvalidSpec: {c.get('message', '')}"
        if c.get("reason") in ("RolloutAborted", "ProgressDeadlineExceeded"):
            return "Degraded", f"{c.get('reason')}: {c.get('message', '')}"
    if spec.get("paused"):
        return "Paused", "manually paused"
    for pc in st.get("pauseConditions") or []:
        return "Paused", str(pc.get("reason"))
    want = int(spec.get("replicas", 1))
    if int(st.get("updatedReplicas", 0)) < want:
        return "Progressing", "more replicas need to be updated"
    if int(st.get("availableReplicas", 0)) < int(st.get("updatedReplicas", 0)):
        return "Progressing", "updated replicas are still becoming available"
    bg = st.get("blueGreen") or {}
    if not bg.get("activeSelector") or bg.get("activeSelector") != st.get("currentPodHash"):
        return "Progressing", "active service cutover pending"
    if not st.get("stableRS") or st.get("stableRS") != st.get("currentPodHash"):
        return "Progressing", "waiting for post-promotion verification to complete"
    return "Healthy", ""


class Rollouts:
    def close(self, world: World) -> None:
        """Nothing of its own to stop (what it started, the kubelet twin stops)."""

    def reconcile(self, world: World) -> None:
        for ro in world.list(ARGOPROJ, "Rollout"):
            self.one(world, ro)

    def one(self, world: World, ro: Obj) -> None:
        ns, name = ro["metadata"]["namespace"], ro["metadata"]["name"]
        spec, st = ro.get("spec") or {}, dict(ro.get("status") or {})
        bgspec = (spec.get("strategy") or {}).get("blueGreen")
        if bgspec is None:
            world.patch_status(
                ro, {"phase": "Degraded", "message": "InvalidSpec: the simulated Argo Rollouts models blue-green only"}
            )
            return
        active_name, preview_name = bgspec.get("activeService"), bgspec.get("previewService")
        active = world.get("v1", "Service", active_name, ns) if active_name else None
        preview = world.get("v1", "Service", preview_name, ns) if preview_name else None
        missing = [n for n, s in ((active_name, active), (preview_name, preview)) if n and s is None]
        if missing:
            msg = f'The Rollout "{name}" is invalid: spec.strategy.blueGreen: Invalid value: "{missing[0]}": service "{missing[0]}" not found'
            cond = {
                "type": "InvalidSpec",
                "status": "True",
                "reason": "InvalidSpec",
                "message": msg,
                "lastUpdateTime": now(),
            }
            world.patch_status(
                ro,
                {
                    "conditions": [cond],
                    "phase": "Degraded",
                    "message": f"InvalidSpec: {msg}",
                    "observedGeneration": str(ro["metadata"]["generation"]),
                },
            )
            return
        want = int(spec.get("replicas", 1))
        h = template_hash(spec.get("template") or {})
        rss = [rs for rs in world.list("apps/v1", "ReplicaSet", ns) if world.owned_by(rs, ro)]
        new = next((rs for rs in rss if (rs["metadata"].get("labels") or {}).get(HASH) == h), None)
        if new is None:
            t = world_template(spec.get("template") or {}, {HASH: h})
            new = world.create(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{name}-{h}",
                        "namespace": ns,
                        "labels": t["metadata"]["labels"],
                        "annotations": {WORKLOAD: name, "rollout.argoproj.io/revision": str(len(rss) + 1)},
                        "ownerReferences": [world.owner_ref(ro)],
                    },
                    "spec": {
                        "replicas": want,
                        "selector": {
                            "matchLabels": {**((spec.get("selector") or {}).get("matchLabels") or {}), HASH: h}
                        },
                        "template": t,
                    },
                }
            )
            rss.append(new)
            world.event(
                ro,
                "NewReplicaSetCreated",
                f"Created ReplicaSet {new['metadata']['name']} (revision {len(rss)})",
                source="rollouts-controller",
            )
            if st.get("currentPodHash") and st.get("currentPodHash") != h:
                st["pauseConditions"] = None  # a new template resets the pause (resetRolloutStatus)
                st["controllerPause"] = None
        elif int(new["spec"].get("replicas", 0)) != want:
            world.patch(new, {"spec": {"replicas": want}})
        if preview is not None:
            self.switch(world, ro, preview, h)
        new_st = new.get("status") or {}
        available = int(new_st.get("availableReplicas", 0)) >= want and int(new_st.get("replicas", 0)) >= want
        active_hash = ((active or {}).get("spec", {}).get("selector") or {}).get(HASH)
        stable = st.get("stableRS") or None
        pause = list(st.get("pauseConditions") or [])
        controller_pause = bool(st.get("controllerPause"))
        if stable is None:
            stable = h  # shouldFullPromote: "Initial deploy"
        promote = False
        if available and active_hash != h:
            if not active_hash or st.get("promoteFull"):
                promote = True  # fast-tracked (first deploy) or promote-full
            elif bgspec.get("autoPromotionEnabled", True) is False:
                if controller_pause and not pause:
                    promote = True  # the user cleared the pause: promote or Argo CD resume
                elif not controller_pause:
                    pause = [{"reason": "BlueGreenPause", "startTime": now()}]
                    controller_pause = True
                    world.event(ro, "RolloutPaused", "Rollout is paused (BlueGreenPause)", source="rollouts-controller")
            else:
                promote = True
        if promote and active is not None:
            self.switch(world, ro, active, h)
            active_hash, stable, pause, controller_pause = h, h, [], False
            delay = (
                world.settings.scale_down_delay
                if world.settings.scale_down_delay is not None
                else float(bgspec.get("scaleDownDelaySeconds", 30))
            )
            deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for rs in rss:
                if rs["metadata"]["uid"] != new["metadata"]["uid"] and int(rs["spec"].get("replicas", 0)) > 0:
                    world.patch(
                        rs,
                        {
                            "metadata": {
                                "annotations": {
                                    DEADLINE: deadline,
                                    "sim.argo-suite.test/deadline-mono": str(time.monotonic() + delay),
                                }
                            }
                        },
                    )
            world.event(
                ro,
                "RolloutCompleted",
                f"Rollout completed update to revision {new['metadata']['annotations'].get('rollout.argoproj.io/revision')} ({h})",
                source="rollouts-controller",
            )
        for rs in rss:
            mono = (rs["metadata"].get("annotations") or {}).get("sim.argo-suite.test/deadline-mono")
            if (
                rs["metadata"]["uid"] != new["metadata"]["uid"]
                and mono
                and time.monotonic() >= float(mono)
                and int(rs["spec"].get("replicas", 0)) > 0
            ):
                world.patch(rs, {"spec": {"replicas": 0}})
                world.event(
                    ro,
                    "ScalingReplicaSet",
                    f"Scaled down ReplicaSet {rs['metadata']['name']} to 0",
                    source="rollouts-controller",
                )
        all_pods = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in rss)
        status: Obj = {
            "observedGeneration": str(ro["metadata"]["generation"]),
            "currentPodHash": h,
            "stableRS": stable,
            "replicas": all_pods,
            "updatedReplicas": int(new_st.get("replicas", 0)),
            "readyReplicas": int(new_st.get("readyReplicas", 0)),
            "availableReplicas": int(new_st.get("availableReplicas", 0)),
            "blueGreen": {"activeSelector": active_hash or None, "previewSelector": h if preview is not None else None},
            "pauseConditions": pause or None,
            "controllerPause": True if controller_pause else None,
            "promoteFull": None,
            "selector": ",".join(
                f"{k}={v}" for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items()
            ),
            "conditions": self.conditions(bool(pause), available),
        }
        probe = {**ro, "status": {**st, **status}}
        status["phase"], status["message"] = calculate_phase(probe)
        world.patch_status(ro, status)

    def conditions(self, paused: bool, available: bool) -> list[Obj]:
        t = now()
        out = [
            {
                "type": "Available",
                "status": "True" if available else "False",
                "reason": "AvailableReason",
                "message": "Rollout has minimum availability"
                if available
                else "Rollout does not have minimum availability",
                "lastUpdateTime": t,
            }
        ]
        out.append(
            {
                "type": "Paused",
                "status": "True" if paused else "False",
                "reason": "RolloutPaused",
                "message": "Rollout is paused",
                "lastUpdateTime": t,
            }
        )
        return out

    def switch(self, world: World, ro: Obj, svc: Obj, h: str) -> None:
        old = (svc["spec"].get("selector") or {}).get(HASH)
        if old == h:
            return
        world.patch(
            svc, {"metadata": {"annotations": {MANAGED_BY: ro["metadata"]["name"]}}, "spec": {"selector": {HASH: h}}}
        )
        world.event(
            ro,
            "SwitchService",
            f"Switched selector for service '{svc['metadata']['name']}' from '{old or ''}' to '{h}'",
            source="rollouts-controller",
        )


def _tonumber(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def argocd_health(ro: Obj) -> tuple[str, str]:
    """Argo CD's ``resource_customizations/argoproj.io/Rollout/health.lua`` (v2.6.3; v3.5.1 the same logic):
    ``isGenerationObserved`` and ``isWorkloadGenerationObserved`` first, then the phase (Paused -> Suspended).
    Rollouts older than v1.0 (no ``status.phase``) are not modelled."""
    st = ro.get("status")
    meta = ro.get("metadata") or {}
    waiting = ("Progressing", "Waiting for rollout spec update to be observed")
    if st is None:
        return waiting
    og, gen = _tonumber(st.get("observedGeneration")), meta.get("generation")
    observed = True if og is None or (gen is not None and og > gen) else og == gen
    if (ro.get("spec") or {}).get("workloadRef") is not None and meta.get("annotations") is not None:
        wg = _tonumber(meta["annotations"].get("rollout.argoproj.io/workload-generation"))
        observed = observed and wg == _tonumber(st.get("workloadObservedGeneration"))
    if not observed:
        return waiting
    if st.get("phase") is not None:
        return ("Suspended" if st["phase"] == "Paused" else str(st["phase"])), str(st.get("message") or "")
    return "Unknown", "legacy Rollout status (before v1.0) is not modelled by the simulation"


def resume_action(ro: Obj) -> Obj:
    """Argo CD's ``actions/resume/action.lua``: clear pauseConditions, unpause spec (byte-identical 2.6.3/3.5.1)."""

    out = copy.deepcopy(ro)
    st = out.get("status") or {}
    if st.get("pauseConditions"):
        st["pauseConditions"] = None
    if (out.get("spec") or {}).get("paused"):
        out["spec"]["paused"] = False
    return out
