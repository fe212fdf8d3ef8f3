"""How far a participant got through the tutorial, step by step, from one read of their cluster (pure).

Each step is *reached*, *stuck here* (with the evidence, and the catalog defect whose observable the evidence
shows, with its fix), *not yet*, or *not read* (the cluster would not let it be read). The steps follow the
tutorial's order: the stack, the app in Argo CD, the blue-green Rollout, the CI (EventSource, Sensor, Workflows),
TLS. The diagnosis uses the catalog's observables (``manifests/defects.yaml``), so a defect means the same thing
here as in the scenarios; where the catalog keys a defect to a static rule (D13, D14), that rule runs on the
live objects, the cluster's own state.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from argo_tutorial_suite.live import inventory
from argo_tutorial_suite.live.snapshot import Snapshot
from argo_tutorial_suite.objects import Obj, dig, name, namespace, ref, selector_matches
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.tutorial.profiles import PINS, Pins
from argo_tutorial_suite.verdicts.waits import State


class Reach(enum.Enum):
    REACHED = "reached"
    STUCK = "stuck here"
    NOT_YET = "not yet"
    UNREAD = "not read"


@dataclass(frozen=True)
class Step:
    key: str
    section: str
    title: str
    reach: Reach
    detail: str
    evidence: dict[str, str] = field(default_factory=dict)
    defect: str | None = None
    fix: str | None = None

    @property
    def symbol(self) -> str:
        return {Reach.REACHED: "ok", Reach.STUCK: "STUCK", Reach.NOT_YET: "-", Reach.UNREAD: "?"}[self.reach]


def diagnose(evidence: dict[str, str]) -> tuple[str, str, str] | None:
    """(defect ID, what showed it, its fix) for the first catalog defect whose observable the evidence shows."""
    for d in catalog.load().values():
        if d.observable is not None and (quote := d.observable.seen(evidence)):
            return d.id, quote, d.fix
    return None


def _step(
    key: str,
    section: str,
    title: str,
    reach: Reach,
    detail: str,
    evidence: dict[str, str] | None = None,
    found: tuple[str, str, str] | None = None,
) -> Step:
    """A step; a stuck one names the defect whose observable its evidence shows (``found``: that diagnosis,
    when the caller has made it already)."""
    evidence = evidence or {}
    if found is None and reach is Reach.STUCK:
        found = diagnose(evidence)
    if found:
        defect, quote, fix = found
        return Step(key, section, title, reach, f"{detail} ({defect}: {quote})", evidence, defect, fix)
    return Step(key, section, title, reach, detail, evidence)


def _stuck_by_rule(
    key: str, section: str, title: str, detail: str, evidence: dict[str, str], findings: list[Finding], fix: str = ""
) -> Step:
    """A stuck step whose reason a static rule states on the live objects (D13, D14, D15 show in no log line:
    the catalog keys them to rules): the finding's message, and its defect's fix when the catalog names one,
    else the rule's hint (``fix``: what to say when no rule spoke)."""
    f = next((x for x in findings if x.defect), findings[0] if findings else None)
    if f is None:
        return dataclasses.replace(_step(key, section, title, Reach.STUCK, detail, evidence), fix=fix or None)
    why = catalog.load()[f.defect].fix if f.defect else f.hint
    return Step(key, section, title, Reach.STUCK, f"{detail}; {f.message}", evidence, f.defect, why)


def failed_nodes(wf: Obj) -> list[str]:
    """``name: message`` of a Workflow's failed pod nodes (argo-workflows ``status.nodes``)."""
    return [
        f"{n.get('displayName') or n.get('name')}: {n.get('message', '')}"
        for n in (dig(wf, "status", "nodes", default={}) or {}).values()
        if isinstance(n, dict) and n.get("phase") in ("Failed", "Error") and n.get("type") in ("Pod", "Retry", None)
    ]


def _conditions(o: Obj) -> list[dict[str, str]]:
    return [c for c in (dig(o, "status", "conditions", default=[]) or []) if isinstance(c, dict)]


def _ready(o: Obj) -> tuple[bool, str]:
    for c in _conditions(o):
        if c.get("type") == "Ready":
            return c.get("status") == "True", str(c.get("message") or c.get("reason") or "")
    return False, "no Ready condition yet"


# -- the stack -----------------------------------------------------------------------------------------
def stack(snap: Snapshot) -> Iterator[Step]:
    states = [inventory.component_state(comp, objs, pods) for comp, (objs, pods) in snap.components.items()]
    found = {s.component: s for s in inventory.one_ingress_controller(states)}
    wanted = [c for c in inventory.CONTROLLER_IMAGES if c != "traefik"]
    if "traefik" in found and "ingress-nginx" not in found:
        wanted = [("traefik" if c == "ingress-nginx" else c) for c in wanted]
    pins = {p: Pins.load(p) for p in PINS}
    for comp in wanted:
        # one column for the Ingress controller: ingress-nginx as written, or Traefik in its place (D37)
        ingress = comp in inventory.INGRESS_CONTROLLERS
        key = "install:ingress" if ingress else f"install:{comp}"
        title = "the Ingress controller installed and healthy" if ingress else f"{comp} installed and healthy"
        ns = inventory.CONTROLLER_IMAGES[comp][0]
        st = found.get(comp)
        if st is None or not st.installed:
            unread = [why for what, why in snap.unread.items() if what.startswith(comp)]
            if unread:
                yield _step(key, "Install", title, Reach.UNREAD, unread[0])
            else:
                yield _step(key, "Install", title, Reach.NOT_YET, f"no {comp} controller in namespace {ns}")
            continue
        against = "; ".join(
            f"{p}: {'=' if st.version == pin.resolve(comp, None) else pin.resolve(comp, None)}"
            for p, pin in pins.items()
            if comp in pin.data["components"]
        )
        detail = (
            f"{comp} {st.version} (pins {against}); {st.health.detail}"
            if ingress
            else f"{st.version} (pins {against}); {st.health.detail}"
        )
        # pending without a terminal reason (readiness.pod_problem) is a component still starting: not yet
        reach = {State.OK: Reach.REACHED, State.FAILED: Reach.STUCK, State.PENDING: Reach.NOT_YET}[st.health.state]
        yield _step(key, "Install", title, reach, detail, {"health": st.health.detail})


def admin_secret(snap: Snapshot) -> Iterator[Step]:
    """``argocd-initial-admin-secret``: its name only (Secrets are read as metadata)."""
    ns, secret = inventory.ADMIN_SECRET
    if "argo-cd" not in snap.components:
        return
    names = {name(o) for o in snap.components["argo-cd"][0] if o.get("kind") == "Secret"}
    title = "the first admin password can be read"
    if secret in names:
        yield _step("admin-secret", "Install", title, Reach.REACHED, f"Secret {ns}/{secret} exists")
    else:
        yield _step("admin-secret", "Install", title, Reach.NOT_YET,
                    f"Secret {ns}/{secret} not found: deleted after the first password change (log in with the new "
                    "one), or Argo CD has not made it yet")  # fmt: skip


def uis(snap: Snapshot) -> Iterator[Step]:
    for title, seen in snap.uis.items():
        reach = Reach.REACHED if seen.startswith("answered") else Reach.STUCK
        yield _step(
            f"ui:{title}", "Install", f"the {title} answers", reach, f"{title} (through the API server's proxy): {seen}"
        )


# -- Argo CD -------------------------------------------------------------------------------------------
def application(snap: Snapshot) -> Iterator[Step]:
    title = "the Argo CD Application synced and healthy"
    if "Applications" in snap.unread:
        yield _step("app", "Argo CD", title, Reach.UNREAD, snap.unread["Applications"])
        return
    apps = snap.of("Application")
    if not apps:
        yield _step("app", "Argo CD", title, Reach.NOT_YET, "no Application in the cluster")
        return
    for app in apps:
        sync = str(dig(app, "status", "sync", "status", default="Unknown"))
        health = str(dig(app, "status", "health", "status", default="Unknown"))
        errors = [f"{c.get('type')}: {c.get('message')}" for c in _conditions(app) if "Error" in str(c.get("type"))]
        op = dig(app, "status", "operationState", default={}) or {}
        op_text = f"{op.get('phase', '')}: {op.get('message', '')}" if op else ""
        evidence = {
            "conditions": "\n".join(errors),
            "operationState": op_text if op.get("phase") in ("Failed", "Error") else "",
        }
        detail = f"{ref(app)}: sync {sync}, health {health}"
        if errors or evidence["operationState"]:
            yield _step("app", "Argo CD", title, Reach.STUCK, f"{detail}; {(errors or [op_text])[0][:300]}", evidence)
        elif sync == "Synced" and health in ("Healthy", "Suspended", "Progressing"):
            yield _step("app", "Argo CD", title, Reach.REACHED, detail)
        else:
            yield _step("app", "Argo CD", title, Reach.NOT_YET, detail)


# -- the blue-green Rollout ----------------------------------------------------------------------------
def _hash_of(rs: Obj) -> str:
    return str(dig(rs, "metadata", "labels", "rollouts-pod-template-hash", default=""))


def _image_of(rs: Obj) -> str:
    containers = dig(rs, "spec", "template", "spec", "containers", default=[]) or []
    return str(containers[0].get("image", "")) if containers else ""


def _served(svc: Obj | None, rollout: Obj, replicasets: list[Obj]) -> str:
    """Which revision a Service serves: the image of the ReplicaSet its selector's pod-template hash names."""
    if svc is None:
        return "missing"
    selector = dig(svc, "spec", "selector", default={}) or {}
    h = selector.get("rollouts-pod-template-hash")
    if not h:
        return "every revision (no pod-template hash in its selector)"
    rs = next((r for r in replicasets if _hash_of(r) == h), None)
    return (
        f"revision {dig(rs, 'metadata', 'annotations', 'rollout.argoproj.io/revision', default='?')} ({_image_of(rs)})"
        if rs
        else f"hash {h}"
    )


def _owned(rs: Obj, rollout: Obj) -> bool:
    return any(
        o.get("kind") == "Rollout" and o.get("name") == name(rollout)
        for o in dig(rs, "metadata", "ownerReferences", default=[]) or []
    ) and namespace(rs) == namespace(rollout)


def rollout(snap: Snapshot) -> Iterator[Step]:
    section = "Blue-green"
    if "Rollouts" in snap.unread:
        yield _step("rollout", section, "the Rollout runs", Reach.UNREAD, snap.unread["Rollouts"])
        return
    rollouts = [r for r in snap.of("Rollout") if isinstance(dig(r, "spec", "strategy", "blueGreen"), dict)]
    if not rollouts:
        for key, title in (
            ("rollout", "the Rollout runs"),
            ("preview", "the preview Service shows the new revision"),
            ("promoted", "promoted: the new revision is active"),
        ):
            yield _step(key, section, title, Reach.NOT_YET, "no blue-green Rollout in the cluster")
        return
    for ro in rollouts:
        ns = namespace(ro)
        bg = dig(ro, "spec", "strategy", "blueGreen", default={}) or {}
        rss = [r for r in snap.of("ReplicaSet") if _owned(r, ro)]
        services = [s for s in snap.of("Service") if namespace(s) == ns]
        active = next((s for s in services if name(s) == bg.get("activeService")), None)
        preview = (
            next((s for s in services if name(s) == bg.get("previewService")), None)
            if bg.get("previewService")
            else None
        )
        phase = str(dig(ro, "status", "phase", default="") or "")
        message = str(dig(ro, "status", "message", default="") or "")
        pods = [
            p
            for p in snap.of("Pod")
            if namespace(p) == ns
            and selector_matches(
                dig(ro, "spec", "selector", "matchLabels", default={}), dig(p, "metadata", "labels", default={})
            )
        ]
        problems = [pr for p in pods if (pr := readiness.pod_problem(p))]
        detail = f"{ref(ro)}: phase {phase or 'unknown'}{', ' + message if message else ''}"
        if problems or phase == "Degraded":
            yield _step(
                "rollout",
                section,
                "the Rollout runs",
                Reach.STUCK,
                f"{detail}; {(problems or [message])[0]}",
                {"pods": "\n".join(problems)},
            )
        elif phase in ("Healthy", "Paused", "Progressing") or dig(ro, "status", "availableReplicas"):
            yield _step("rollout", section, "the Rollout runs", Reach.REACHED, detail)
        else:
            yield _step("rollout", section, "the Rollout runs", Reach.NOT_YET, detail)
        # D13: the catalog keys it to ROLLOUT-PREVIEW-SERVICE; that rule, run on the live objects, is the cluster's
        # own state (a Service selecting the Rollout's pods that is neither active nor preview)
        preview_findings = _rule_findings("rollout_services", [ro, *services])
        served_active = _served(active, ro, rss)
        paused = bool(dig(ro, "status", "pauseConditions", default=None)) or bool(
            dig(ro, "spec", "paused", default=False)
        )
        if preview is None:
            others = [f for f in preview_findings if f.rule == "ROLLOUT-PREVIEW-SERVICE"]
            detail = f"strategy.blueGreen has no previewService; active serves {served_active}"
            evid = {"services": others[0].message if others else detail}
            title = "the preview Service shows the new revision"
            yield _stuck_by_rule(
                "preview", section, title, detail, evid, others, "set strategy.blueGreen.previewService"
            )
        else:
            served_preview = _served(preview, ro, rss)
            revisions = len({_hash_of(r) for r in rss})
            if paused and served_preview != served_active:
                yield _step(
                    "preview",
                    section,
                    "the preview Service shows the new revision",
                    Reach.REACHED,
                    f"preview serves {served_preview}; active serves {served_active}; paused until Resume",
                )
            elif revisions > 1 or served_preview == served_active:
                yield _step("preview", section, "the preview Service shows the new revision", Reach.REACHED if revisions > 1 else Reach.NOT_YET,
                            f"preview serves {served_preview}; active serves {served_active}" + ("" if revisions > 1 else "; one revision so far (push a change)"))  # fmt: skip
            else:
                yield _step(
                    "preview",
                    section,
                    "the preview Service shows the new revision",
                    Reach.NOT_YET,
                    f"preview serves {served_preview}",
                )
        stable = dig(ro, "status", "stableRS", default="")
        current = dig(ro, "status", "currentPodHash", default="")
        revision = max(
            (int(dig(r, "metadata", "annotations", "rollout.argoproj.io/revision", default="0") or 0) for r in rss),
            default=0,
        )
        if stable and stable == current and revision >= 2:
            yield _step(
                "promoted",
                section,
                "promoted: the new revision is active",
                Reach.REACHED,
                f"active serves {served_active} (revision {revision})",
            )
        elif paused:
            yield _step(
                "promoted",
                section,
                "promoted: the new revision is active",
                Reach.NOT_YET,
                f"paused: waiting for Resume (kubectl argo rollouts promote {name(ro)} -n {ns}); active serves {served_active}",
            )
        else:
            yield _step(
                "promoted",
                section,
                "promoted: the new revision is active",
                Reach.NOT_YET,
                f"revision {revision}: no second revision promoted yet",
            )


def _rule_findings(rule_name: str, objs: list[Obj]) -> list[Finding]:
    from argo_tutorial_suite.static import engine

    engine.registry()
    fn = next(r for r in engine.RULES if r.__name__ == rule_name)
    bundle = engine.Bundle(sources=[engine.Source(o, "live") for o in objs])
    return catalog.tag(list(fn(bundle)))


# -- the CI ----------------------------------------------------------------------------------------------
def _pods_labelled(snap: Snapshot, label: str, value: str) -> list[Obj]:
    return [p for p in snap.of("Pod") if (dig(p, "metadata", "labels", default={}) or {}).get(label) == value]


def _pod_step(key: str, title: str, objs: list[Obj], label: str, snap: Snapshot, kind: str) -> Iterator[Step]:
    if f"{kind}s" in snap.unread:
        yield _step(key, "CI", title, Reach.UNREAD, snap.unread[f"{kind}s"])
        return
    if not objs:
        yield _step(key, "CI", title, Reach.NOT_YET, f"no {kind}")
        return
    for o in objs:
        pods = _pods_labelled(snap, label, name(o))
        problems = [pr for p in pods if (pr := readiness.pod_problem(p))]
        running = [p for p in pods if readiness.pod_ready(p)]
        evidence: dict[str, str] = {"pods": "\n".join(problems)}
        if kind == "Sensor":
            evidence["sensor log"] = "\n".join(
                v for k, v in snap.sensor_logs.items() if any(k.endswith("/" + name(p)) for p in pods)
            )
        found = diagnose(evidence) if any(evidence.values()) else None
        if problems or found:
            why = (problems or ["its log shows an error"])[0]
            yield _step(key, "CI", title, Reach.STUCK, f"{ref(o)}: {why}", evidence, found)
        elif running:
            yield _step(key, "CI", title, Reach.REACHED, f"{ref(o)}: pod {name(running[0])} running")
        else:
            yield _step(key, "CI", title, Reach.NOT_YET, f"{ref(o)}: no running pod yet")


def _created(o: Obj) -> str:
    return str(dig(o, "metadata", "creationTimestamp", default=""))


def workflows(snap: Snapshot) -> Iterator[Step]:
    title = "the webhook's Workflow built, pushed and synced"
    if "Workflows" in snap.unread:
        yield _step("workflow", "CI", title, Reach.UNREAD, snap.unread["Workflows"])
        return
    wfs = sorted(snap.of("Workflow"), key=_created)
    if not wfs:
        yield _step(
            "workflow", "CI", title, Reach.NOT_YET, "no Workflow yet (push to the repository to fire the webhook)"
        )
        return
    last = wfs[-1]
    phase = str(dig(last, "status", "phase", default="") or "Pending")
    counts = ", ".join(
        f"{n} {p}"
        for p, n in sorted(_count(str(dig(w, "status", "phase", default="") or "Pending") for w in wfs).items())
    )
    if phase == "Succeeded":
        yield _step("workflow", "CI", title, Reach.REACHED, f"last {ref(last)} Succeeded ({counts})")
        return
    failed = failed_nodes(last)
    pods = [
        p
        for p in snap.of("Pod")
        if (dig(p, "metadata", "labels", default={}) or {}).get("workflows.argoproj.io/workflow") == name(last)
    ]
    problems = [pr for p in pods if (pr := readiness.pod_problem(p))]
    evidence = {"failed nodes": "\n".join(failed), "pods": "\n".join(problems)}
    if phase in ("Failed", "Error") or problems:
        why = (failed or problems or [str(dig(last, "status", "message", default=""))])[0]
        yield _step("workflow", "CI", title, Reach.STUCK, f"last {ref(last)} {phase}: {why[:300]} ({counts})", evidence)
    else:
        yield _step("workflow", "CI", title, Reach.NOT_YET, f"last {ref(last)} {phase} ({counts})")


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


# -- TLS -------------------------------------------------------------------------------------------------
def tls(snap: Snapshot) -> Iterator[Step]:
    section = "TLS"
    issuers = snap.of("Issuer") + snap.of("ClusterIssuer")
    if "Issuers" in snap.unread:
        yield _step("issuers", section, "the Issuers are ready", Reach.UNREAD, snap.unread["Issuers"])
    elif not issuers:
        yield _step("issuers", section, "the Issuers are ready", Reach.NOT_YET, "no Issuer")
    else:
        not_ready = [(ref(i), why) for i in issuers if not (r := _ready(i))[0] for why in [r[1]]]
        if not_ready:
            evid = {"issuer": "\n".join(f"{o}: {w}" for o, w in not_ready)}
            detail = f"{not_ready[0][0]}: {not_ready[0][1][:300]}"
            # D15: the catalog keys it to ACME-UNREACHABLE; that rule on the live Issuers and Ingresses says why a
            # public ACME CA cannot issue here (the Issuer's own message says what failed)
            stuck = {o for o, _w in not_ready}
            why = [f for f in _rule_findings("acme_reachability", [*issuers, *snap.of("Ingress")]) if f.obj in stuck]
            yield _stuck_by_rule("issuers", section, "the Issuers are ready", detail, evid, why)
        else:
            yield _step("issuers", section, "the Issuers are ready", Reach.REACHED, ", ".join(ref(i) for i in issuers))
    ingresses = snap.of("Ingress")
    certs = snap.of("Certificate")
    title = "each Ingress host has its certificate"
    if not ingresses:
        yield _step("certificates", section, title, Reach.NOT_YET, "no Ingress")
        return
    shared = [f for f in _rule_findings("ingress_tls_secret_shared", ingresses)]
    missing = []
    for ing in ingresses:
        for t in dig(ing, "spec", "tls", default=[]) or []:
            cert = next(
                (
                    c
                    for c in certs
                    if namespace(c) == namespace(ing) and dig(c, "spec", "secretName") == t.get("secretName")
                ),
                None,
            )
            for host in t.get("hosts") or []:
                if cert is None:
                    missing.append(f"{ref(ing)} {host}: no Certificate for secret {t.get('secretName')}")
                elif host not in (dig(cert, "spec", "dnsNames", default=[]) or []):
                    missing.append(
                        f"{ref(ing)} {host}: Certificate {name(cert)} names {', '.join(dig(cert, 'spec', 'dnsNames', default=[]) or [])}"
                    )
                elif not _ready(cert)[0]:
                    missing.append(f"{ref(ing)} {host}: Certificate {name(cert)} not ready: {_ready(cert)[1][:200]}")
    if missing:
        yield _stuck_by_rule("certificates", section, title, missing[0], {"certificates": "\n".join(missing)}, shared)
    else:
        yield _step(
            "certificates",
            section,
            title,
            Reach.REACHED,
            f"{len(ingresses)} Ingress(es), every TLS host has a ready Certificate",
        )


def steps(snap: Snapshot) -> list[Step]:
    """Every step of the tutorial for one participant, in the tutorial's order."""
    if snap.fatal:
        return [Step("cluster", "Cluster", "the API server answers", Reach.STUCK, snap.fatal)]
    ci = [e for e in snap.of("EventSource")]
    sensors = snap.of("Sensor")
    return [
        *stack(snap),
        *admin_secret(snap),
        *uis(snap),
        *application(snap),
        *rollout(snap),
        *_pod_step("eventsource", "the EventSource runs", ci, "eventsource-name", snap, "EventSource"),
        *_pod_step("sensor", "the Sensor runs and triggers", sensors, "sensor-name", snap, "Sensor"),
        *workflows(snap),
        *tls(snap),
    ]


def furthest(result: list[Step]) -> str:
    """Where the participant is: the first step stuck, else the last reached."""
    stuck = next((s for s in result if s.reach is Reach.STUCK), None)
    if stuck:
        return f"stuck: {stuck.title}" + (f" ({stuck.defect})" if stuck.defect else "")
    reached = [s for s in result if s.reach is Reach.REACHED]
    if reached and len(reached) == len(result):
        return f"done: all {len(result)} steps reached"
    return f"at: {reached[-1].title}" if reached else "not started"
