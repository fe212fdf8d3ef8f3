"""The active probe (``--probe``, off by default): the tutorial's webhook delivery, posted to the participant's
EventSource through the API server's service proxy (no Ingress, DNS or kubectl needed), then what it starts,
followed for a bounded time. It writes nothing itself but the delivery: the Workflow it starts is the Sensor's,
in the participant's CI namespace, and is left there as a participant's own push would leave it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from argo_tutorial_suite.live.board import Say
from argo_tutorial_suite.live.kubeconfig import Target
from argo_tutorial_suite.live.readonly import ApiProblem, ReadOnlyKube
from argo_tutorial_suite.live.snapshot import Snapshot
from argo_tutorial_suite.objects import dig, name, namespace
from argo_tutorial_suite.tutorial import payloads

FOLLOW_SECONDS = 60.0  # how long what the delivery starts is followed
PROBE_SHA = "0" * 40  # a commit that exists nowhere: the clone fails or builds the tip, never a real commit


def endpoints(snap: Snapshot) -> list[tuple[str, str, int, str, str]]:
    """(namespace, EventSource, port, endpoint, provider) of each webhook-like event the cluster's EventSources
    declare (argo-events ``eventsources/sources/{webhook,github,gitlab,bitbucket}``: ``webhook.port``,
    ``webhook.endpoint``)."""
    out = []
    for es in snap.of("EventSource"):
        for provider in ("webhook", "github", "gitlab", "bitbucket"):
            for _key, spec in (dig(es, "spec", provider, default={}) or {}).items():
                hook = spec if provider == "webhook" else (spec.get("webhook") or {})
                if isinstance(hook, dict) and hook.get("port"):
                    out.append((namespace(es), name(es), int(hook["port"]), str(hook.get("endpoint") or "/"), provider))
    return out


def fire(kube: ReadOnlyKube, target: Target, snap: Snapshot, say: Say) -> list[str]:
    """Post one push delivery to each EventSource endpoint found, follow the Workflows that appear; one line per
    thing done or seen."""
    found = endpoints(snap)
    if not found:
        return ["no webhook EventSource to post to: nothing sent"]
    before = {(namespace(w), name(w)) for w in snap.of("Workflow")}
    lines = []
    headers = {"Content-Type": "application/json"}
    for ns, es, port, endpoint, provider in found:
        hdrs, body = payloads.push_of(payloads.PUSH_OF.get(provider, "github"), PROBE_SHA)
        path = f"/api/v1/namespaces/{ns}/services/{es}-eventsource-svc:{port}/proxy{endpoint}"
        say(target.name, f"probe: POST the {provider} push to {ns}/{es} ({endpoint})")
        try:
            r = kube.post_through_proxy(
                path, headers={**headers, **hdrs}, content=json.dumps(body).encode(), timeout=10
            )
            lines.append(f"sent a {provider} push to {ns}/{es}{endpoint}: {r.status_code} {r.text.strip()[:120]}")
        except httpx.HTTPError as e:
            lines.append(f"could not post to {ns}/{es}{endpoint}: {type(e).__name__}: {e}")
    until = time.monotonic() + FOLLOW_SECONDS
    new: list[Any] = []
    while time.monotonic() < until:
        try:
            wfs = kube.list("argoproj.io/v1alpha1", "Workflow")
        except ApiProblem as e:
            lines.append(f"could not follow the Workflows: {e}")
            break
        new = [w for w in wfs if (namespace(w), name(w)) not in before]
        done = [w for w in new if dig(w, "status", "phase") in ("Succeeded", "Failed", "Error")]
        say(target.name, f"probe: {len(new)} new Workflow(s), {len(done)} finished")
        if new and len(done) == len(new):
            break
        time.sleep(2.0)  # polling an API server that offers no watch through this client: bounded by FOLLOW_SECONDS
    if not new:
        lines.append(f"no Workflow started within {FOLLOW_SECONDS:.0f} s (the Sensor did not trigger: see its row)")
    for w in new:
        lines.append(
            f"created (by the Sensor): Workflow {namespace(w)}/{name(w)}: {dig(w, 'status', 'phase') or 'Pending'}"
        )
    lines.append("removed: nothing (the Workflow is left as a participant's own push leaves it)")
    return lines
