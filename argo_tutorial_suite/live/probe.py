"""The active probe (``--probe``, off by default): the tutorial's webhook delivery, posted to the participant's
EventSource through the API server's service proxy (no Ingress, DNS or kubectl needed), then what it starts,
followed for a bounded time. It writes nothing itself but the delivery: the Workflow it starts is the Sensor's,
in the participant's CI namespace, and is left there as a participant's own push would leave it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx

from argo_tutorial_suite.live.board import Say
from argo_tutorial_suite.live.kubeconfig import Target
from argo_tutorial_suite.live.progress import failed_nodes
from argo_tutorial_suite.live.readonly import ApiProblem, ReadOnlyKube
from argo_tutorial_suite.live.snapshot import Snapshot
from argo_tutorial_suite.objects import dig, name, namespace
from argo_tutorial_suite.tutorial import payloads

FOLLOW_SECONDS = 300.0  # how long what the delivery starts is followed (the tutorial's build takes minutes)
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


SHA = re.compile(r"^[0-9a-f]{7,40}$")


def last_commit(snap: Snapshot) -> str:
    """The commit the newest Workflow built (a git artifact's ``revision`` or a parameter ``value`` that is a
    commit hash, the full one first): the probe builds what the participant built last, so a healthy CI succeeds
    again; else :data:`PROBE_SHA`."""
    newest_first = sorted(snap.of("Workflow"), key=lambda o: str(dig(o, "metadata", "creationTimestamp", default="")))
    for w in reversed(newest_first):
        found = sorted(_hashes(w.get("spec") or {}), key=len, reverse=True)
        if found and found[0] != PROBE_SHA:
            return found[0]
    return PROBE_SHA


def _hashes(node: Any, depth: int = 0) -> Iterator[str]:
    if depth > 12:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("revision", "value") and isinstance(v, str) and SHA.match(v):
                yield v
            else:
                yield from _hashes(v, depth + 1)
    elif isinstance(node, list):
        for v in node:
            yield from _hashes(v, depth + 1)


def _why(w: Any) -> str:
    failed = [line for line in failed_nodes(w) if not line.endswith(": ")]
    return f" ({failed[0][:200]})" if failed else ""


def fire(kube: ReadOnlyKube, target: Target, snap: Snapshot, say: Say) -> list[str]:
    """Post one push delivery to each EventSource endpoint found, follow the Workflows that appear, then remove
    them (the probe's, not the participant's: the next board is not changed by it); one line per thing done."""
    found = endpoints(snap)
    if not found:
        return ["no webhook EventSource to post to: nothing sent"]
    before = {(namespace(w), name(w)) for w in snap.of("Workflow")}
    sha = last_commit(snap)
    seen = "the last Workflow's" if sha != PROBE_SHA else "none seen: a commit that exists nowhere, so the clone fails"
    lines = [f"the delivery names commit {sha} ({seen})"]
    for ns, es, port, endpoint, provider in found:
        hdrs, body = payloads.push_of(payloads.PUSH_OF.get(provider, "github"), sha)
        path = f"/api/v1/namespaces/{ns}/services/{es}-eventsource-svc:{port}/proxy{endpoint}"
        say(target.name, f"probe: POST the {provider} push to {ns}/{es} ({endpoint})")
        try:
            r = kube.post_through_proxy(
                path,
                headers={"Content-Type": "application/json", **hdrs},
                content=json.dumps(body).encode(),
                timeout=10,
            )
            lines.append(f"sent a {provider} push to {ns}/{es}{endpoint}: {r.status_code} {r.text.strip()[:120]}")
        except httpx.HTTPError as e:
            lines.append(f"could not post to {ns}/{es}{endpoint}: {type(e).__name__}: {e}")
    until = time.monotonic() + FOLLOW_SECONDS
    kube.extend(FOLLOW_SECONDS + 30)
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
        time.sleep(2.0)  # no watch through this client: a bounded poll (FOLLOW_SECONDS)
    if not new:
        lines.append(f"no Workflow started within {FOLLOW_SECONDS:.0f} s (the Sensor did not trigger: see its row)")
    probe_namespaces = {ns for ns, *_rest in found}
    for w in new:
        lines.append(
            f"created (by the Sensor): Workflow {namespace(w)}/{name(w)}: {dig(w, 'status', 'phase') or 'Pending'}{_why(w)}"
        )
        if namespace(w) not in probe_namespaces:
            continue  # only the tutorial's CI namespace is touched
        try:
            kube.delete_probe_workflow(namespace(w), name(w))
            lines.append(f"removed: Workflow {namespace(w)}/{name(w)} (the probe's)")
        except ApiProblem as e:
            lines.append(f"not removed: Workflow {namespace(w)}/{name(w)}: {e}")
    return lines
