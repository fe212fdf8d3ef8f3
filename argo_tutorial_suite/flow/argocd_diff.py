"""Argo CD's own diff of an Application's resources, as its UI's DIFF tab shows it, for a failed sync wait.

``GET /api/v1/applications/{name}/managed-resources`` answers ``items`` of ``v1alpha1ResourceDiff``
(``assets/swagger.json``): ``targetState``, ``liveState``, ``normalizedLiveState`` and ``predictedLiveState``
are JSON strings, ``modified`` says whether the resource differs. The UI diffs ``normalizedLiveState`` against
``predictedLiveState`` when there is one, else against ``targetState`` (``ui/src/app/applications/components/
application-resources-diff``). Pure: the client call lives in :mod:`argo_tutorial_suite.flow.argocd_api`.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml

from argo_tutorial_suite.objects import Obj

STATE_FIELDS = ("targetState", "liveState", "normalizedLiveState", "predictedLiveState")


def _state(item: Obj, key: str) -> Any:
    raw = item.get(key)
    if not raw or raw == "null":
        return None
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None


def _lines(obj: Any) -> list[str]:
    if obj is None:
        return []
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "status"}
        meta = dict(obj.get("metadata") or {})
        for noisy in ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp"):
            meta.pop(noisy, None)
        ann = {
            k: v
            for k, v in (meta.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"
        }
        if ann:
            meta["annotations"] = ann
        else:
            meta.pop("annotations", None)
        obj["metadata"] = meta
    return yaml.safe_dump(obj, sort_keys=True).splitlines()


def resource_diff(item: Obj) -> str:
    """The unified diff, live (normalized) to desired (predicted, else target), without status and server-set
    metadata; empty when they agree."""
    live = _state(item, "normalizedLiveState") or _state(item, "liveState")
    want = _state(item, "predictedLiveState") or _state(item, "targetState")
    name = f"{item.get('kind')} {item.get('namespace') or '-'}/{item.get('name')}"
    return "\n".join(
        difflib.unified_diff(_lines(live), _lines(want), f"live {name}", f"desired {name}", lineterm="", n=2)
    )


def modified_diffs(items: list[Obj], limit: int = 4000) -> dict[str, str]:
    """``Kind namespace/name`` -> diff of each resource Argo CD marks ``modified`` (or whose states differ),
    each cut at ``limit`` characters."""
    out: dict[str, str] = {}
    for item in items:
        diff = resource_diff(item)
        if item.get("modified") or diff:
            key = f"{item.get('kind')} {item.get('namespace') or '-'}/{item.get('name')}"
            out[key] = (diff or "(Argo CD marks it modified; the states it sent do not differ)")[:limit]
    return out
