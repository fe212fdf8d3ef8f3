"""Which program decided a verdict, and what ran in its place (pure).

A step declares the components that decide it (``Steps.step(decided_by=...)``); a backend says, per component,
what ran (:class:`Ran`): the pinned release itself, another release of it, or a stand-in. A step decided by
anything but the pinned release reads "not verified here", with what it saw and on what ("passed on Argo CD
v3.6.0"). The relation of each image comes from the offline build's manifest, where every difference from the
image users pull records it (``argo_offline_images/recipes.py``: ``SAME_RELEASE``, ``ANOTHER_RELEASE``,
``STAND_IN``); a difference recorded without one (an older manifest) counts as a stand-in, never as the release.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class Relation(enum.Enum):
    SAME = "same release"
    ANOTHER = "another release"
    STAND_IN = "stand-in"


WORST = (Relation.SAME, Relation.ANOTHER, Relation.STAND_IN)  # in increasing distance from the release


def further(a: Relation, b: Relation) -> bool:
    """Whether ``a`` is further from the pinned release than ``b``."""
    return WORST.index(a) > WORST.index(b)


# The components a step can be decided by (the install plan's component names where there is one).
ARGOCD = "argo-cd"
ARGOCD_REDIS = "argo-cd-redis"
ROLLOUTS = "argo-rollouts"
WORKFLOWS = "argo-workflows"
EVENTS = "argo-events"
EVENTBUS = "eventbus"
CERT_MANAGER = "cert-manager"
INGRESS = "ingress-nginx"  # the tutorial's ingress controller: routing by host, which certificate a host gets
TRAEFIK = "traefik"  # its maintained successor in the corrected profile at current pins (D37)
INGRESS_CONTROLLERS = (INGRESS, TRAEFIK)  # whichever of them the profile runs decides the ingress rows
BUILDKIT = "buildkit"
CI_TOOLS = "ci-tools"

# component -> how a reader names it
COMPONENTS: dict[str, str] = {
    "argo-cd": "Argo CD",
    "argo-cd-redis": "Argo CD's redis and haproxy",
    "argo-rollouts": "Argo Rollouts",
    "argo-workflows": "Argo Workflows",
    "argo-events": "Argo Events",
    "eventbus": "the EventBus (NATS)",
    "eventbus-sidecars": "the EventBus's metrics exporter and config reloader",
    "cert-manager": "cert-manager",
    "ingress-nginx": "ingress-nginx",
    "traefik": "Traefik",
    "buildkit": "BuildKit",
    "ci-tools": "the CI's tool images (git, curl, alpine, golang)",
    "dex": "dex",
    "acme": "the ACME server",
    "cni": "the node's CNI",
}

# image repository (registry host dropped, ``library/`` dropped) -> component; upstream names, as each project
# publishes its images (Argo CD's install.yaml, Workflows' and Events' manifests, cert-manager's chart, ...)
_REPOSITORIES: dict[str, str] = {
    "argoproj/argocd": "argo-cd",
    "redis": "argo-cd-redis",
    "haproxy": "argo-cd-redis",
    "argoproj/argo-rollouts": "argo-rollouts",
    "argoproj/workflow-controller": "argo-workflows",
    "argoproj/argoexec": "argo-workflows",
    "argoproj/argocli": "argo-workflows",
    "argoproj/argo-events": "argo-events",
    "nats": "eventbus",
    "nats-streaming": "eventbus",
    # sidecars of the bus's pods: metrics and config reloads, not the delivery of events
    "natsio/prometheus-nats-exporter": "eventbus-sidecars",
    "natsio/nats-server-config-reloader": "eventbus-sidecars",
    "moby/buildkit": "buildkit",
    "alpine/git": "ci-tools",
    "curlimages/curl": "ci-tools",
    "alpine": "ci-tools",
    "golang": "ci-tools",
    "dexidp/dex": "dex",
    "letsencrypt/pebble": "acme",
    "letsencrypt/pebble-challtestsrv": "acme",
    "ingress-nginx/controller": "ingress-nginx",
    "ingress-nginx/kube-webhook-certgen": "ingress-nginx",
    "traefik": "traefik",
}


def repository(ref: str) -> str:
    """``quay.io/argoproj/argocd:v2.6.3`` -> ``argoproj/argocd``; ``redis:7.0.7-alpine`` -> ``redis``."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts[:2] == ["docker", "library"]:  # public.ecr.aws/docker/library/X: Docker's official images
        parts = parts[2:]
    if parts and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def component_of_image(ref: str) -> str | None:
    repo = repository(ref)
    if repo in _REPOSITORIES:
        return _REPOSITORIES[repo]
    if repo.startswith("jetstack/cert-manager-"):
        return "cert-manager"
    return None


@dataclass(frozen=True)
class Ran:
    """What ran for one component, and how it relates to the pinned release."""

    component: str
    relation: Relation
    what: str  # "Argo CD v3.6.0's code (image quay.io/argoproj/argocd:v3.5.1)"

    @property
    def verified(self) -> bool:
        return self.relation is Relation.SAME

    @property
    def name(self) -> str:
        return COMPONENTS.get(self.component, self.component)

    def on(self) -> str:
        """``Argo CD: another release (v3.6.0's code ...)`` for a verdict's detail."""
        return f"{self.name}: {self.relation.value} ({self.what})"


def relation_of(difference: Mapping[str, Any]) -> Relation:
    """A recorded difference's relation; one recorded without it counts as a stand-in (never as the release)
    unless it says it verifies everything (no ``not_verified``)."""
    value = difference.get("relation")
    for r in Relation:
        if value == r.value:
            return r
    return Relation.SAME if not difference.get("not_verified") else Relation.STAND_IN


def from_images(images: Iterable[Mapping[str, Any]]) -> dict[str, Ran]:
    """Per component, the furthest relation among its images built here (a manifest's ``images``), with what
    made it so."""
    out: dict[str, Ran] = {}
    for image in images:
        ref = str(image.get("ref", ""))
        component = component_of_image(ref)
        if component is None:
            continue
        relation, why = Relation.SAME, f"{ref} built here from its release"
        for d in image.get("differences") or []:
            r = relation_of(d)
            if further(r, relation):
                relation, why = r, f"{ref}: {d.get('what')} {d.get('here')} for {d.get('upstream')}"
        have = out.get(component)
        if have is None or further(relation, have.relation):
            out[component] = Ran(component, relation, why)
    return out


def merge(*layers: Mapping[str, Ran]) -> dict[str, Ran]:
    """Layers of what ran (the images, then the backend's own stand-ins): per component the furthest one."""
    out: dict[str, Ran] = {}
    for layer in layers:
        for c, ran in layer.items():
            have = out.get(c)
            if have is None or further(ran.relation, have.relation):
                out[c] = ran
    return out


def unverified(decided_by: Iterable[str], ran: Mapping[str, Ran]) -> list[Ran]:
    """The deciding components that did not run as their pinned release, in the order declared."""
    return [ran[c] for c in dict.fromkeys(decided_by) if c in ran and not ran[c].verified]


def summary(ran: Mapping[str, Ran]) -> str:
    """One line for the verdict table: per component, what ran (the pinned release where nothing differs)."""
    if not ran:
        return ""
    parts = []
    for c in sorted(ran, key=lambda c: (list(COMPONENTS).index(c) if c in COMPONENTS else len(COMPONENTS), c)):
        r = ran[c]
        parts.append(f"{r.name}: {'the pinned release' if r.verified else f'{r.relation.value} ({r.what})'}")
    return "what ran: " + "; ".join(parts)


def short(summary_line: str) -> str:
    """:func:`summary`'s line in a few words for the terminal: how many components ran as pinned, and which did
    not (what stood in for each is in the verdict table and the report)."""
    parts = [p for p in _top_level(summary_line.removeprefix("what ran: "), "; ") if ": " in p]
    pinned = [p for p in parts if p.endswith(": the pinned release")]
    others = [p.split(": ", 1)[0] for p in parts if not p.endswith(": the pinned release")]
    if not parts:
        return summary_line
    tail = f", {len(others)} another release or a stand-in (report.html says which)" if others else ""
    return f"what ran: {len(pinned)} of {len(parts)} components the pinned release{tail}"


def _top_level(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside parentheses (a stand-in's description may hold the separator)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i = i + len(sep)
            continue
        i += 1
    return [*parts, text[start:]]
