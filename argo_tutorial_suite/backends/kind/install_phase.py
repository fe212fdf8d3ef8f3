"""The stack's install on the kind cluster: the profile's plan command by command (or the outcomes a kept cluster
remembers of the same install), the tutorial's on-top plan, the substitute ingress controller and the releases that
stand in where the pinned ones could not be built here, then every component waited for until ready."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from argo_tutorial_suite.backends.install import (
    Awaited,
    StepOutcome,
    dumps_outcomes,
    loads_outcomes,
    not_applied,
    run_plan,
)
from argo_tutorial_suite.backends.kind import ingress as ingress_substitute
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tutorial import stack
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.verdicts.waits import Seen, State, expect, timeout_for

if TYPE_CHECKING:
    from argo_tutorial_suite.backends.kind.backend import KindBackend

# The tutorial's script waits with no bound of its own (D4: `kubectl rollout status deployment -n argocd` on a
# one-node cluster whose HA pods never schedule, D3, waits forever, as seen on kind here): the suite stops such a
# command as soon as what it waits for can no longer happen (a pod the scheduler will never place), else after
# this long; the failure is the known defect its observable shows.
UNBOUNDED_WAIT_LIMIT = 240.0


def install_stack(b: KindBackend) -> None:
    assert b._access is not None
    on_top = b.profile.on_top_plan()
    key = b.install_key()
    earlier = installed_before(b, key) if b._access.decision == "reuse" else None
    if earlier is not None:
        # a kept cluster already ran this very install: its outcomes come back with it (running the
        # tutorial's script again would fail on what exists, `kubectl create namespace` first)
        b.install_outcomes = earlier
        print(f"[kind] install: reused, the outcomes of the run that installed it (plan {key})", flush=True)
    else:
        with b.phase("install the stack"):
            b.install_outcomes = run_plan(
                b.profile.install_plan(),
                b.runner,
                b._access.kubeconfig,
                lambda c, r: b.profile.pins.resolve(c, r),
                concurrent=b.profile.corrected,
                timeout=900 if b.profile.corrected else UNBOUNDED_WAIT_LIMIT,
                kubectl=b.kubectl.path,
                offline=b.mode.plan(),
                stop_when=lambda on: never_scheduled(b, on),
            )
        if on_top is not None:
            with b.phase("on top of the tutorial's install"):
                b.install_outcomes += run_plan(
                    on_top,
                    b.runner,
                    b._access.kubeconfig,
                    resolver(b.profile),
                    concurrent=False,
                    kubectl=b.kubectl.path,
                    offline=b.mode.plan(),
                )
        b.kube.apply(install_marker(key, b.install_outcomes))
    if "ingress-nginx" in b.mode.skipped and b.ingress_substitute is not None:
        with b.phase(f"ingress substitute ({b.ingress_substitute})"):
            substitute_ingress(b)
    for component, stand in b.mode.stand_ins.items():
        with b.phase(f"{component} {stand.version} stands in for {stand.asked}"):
            b.runner.run([b.kubectl.path, "apply", "-f", str(stand.manifest)],
                            env_extra={"KUBECONFIG": str(b._access.kubeconfig)})  # fmt: skip
            b.wait_components([component])
    for component, why in not_applied(b.install_outcomes).items():
        if component not in b.mode.stand_ins:  # nothing of it was applied: no wait, its steps say why
            b.mode.skipped.setdefault(component, why)
    with b.phase("components ready"):
        b.wait_components(installed_components(b.profile, b.mode.skipped))


def never_scheduled(b: KindBackend, on: Awaited) -> str | None:
    """A pod the scheduler will never place among those a waiting command waits on (its namespace, its kind's
    pods: :func:`readiness.never_scheduled`): the command (the tutorial's unbounded ``rollout status``, D4) is
    stopped then, not at the suite's bound."""
    try:
        pods = b.kube.list("v1", "Pod", on.namespace) if on.namespace else b.kube.list("v1", "Pod")
        return readiness.never_scheduled(pods, len(b.kube.list("v1", "Node")), on.owners)
    except Exception:  # the API server busy or restarting: ask again at the next check
        return None


def installed_components(profile: Profile, skipped: Mapping[str, str]) -> list[str]:
    """The stack's components this profile installs (ingress-nginx, or its successor at current pins: D37), less
    those left out here."""
    installs = profile.versions()
    return [c for c in stack.COMPONENT_NS if c in installs and c not in skipped]


def substitute_ingress(b: KindBackend) -> None:
    assert b.ingress_substitute is not None
    b.kube.apply_all(ingress_substitute.manifests(b.ingress_substitute))

    def probe() -> Seen:
        d = b.kube.get("apps/v1", "Deployment", ingress_substitute.NAME, ingress_substitute.NAMESPACE)
        if d is None:
            return Seen.pending("substitute ingress controller Deployment not created yet")
        seen = readiness.deployment(d)
        if seen.state is not State.OK:
            return seen
        pods = b.kube.list("v1", "Pod", ingress_substitute.NAMESPACE)
        return readiness.on_ingress_ready_node(pods, b.kube.list("v1", "Node"), name_part=ingress_substitute.NAME)

    expect(probe, "substitute ingress controller ready on the ingress-ready node", timeout_for("install"))


def installed_before(b: KindBackend, key: str) -> list[StepOutcome] | None:
    """The outcomes a kept cluster remembers of the very install ``key`` names, else None."""
    cm = b.kube.get("v1", "ConfigMap", INSTALL_MARKER, "kube-system")
    data = (cm or {}).get("data") or {}
    return loads_outcomes(data["outcomes"]) if data.get("plan") == key and "outcomes" in data else None


INSTALL_MARKER = "argo-suite-install"


def install_marker(key: str, outcomes: list[StepOutcome]) -> Obj:
    """What a kept cluster remembers of its install: the plan's identity and its outcomes (redacted output)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": INSTALL_MARKER, "namespace": "kube-system"},
        "data": {"plan": key, "outcomes": REDACTOR.text(dumps_outcomes(outcomes))},
    }


def resolver(profile: Profile) -> Callable[[str, str | None], str | None]:
    return lambda component, ref: profile.pins.resolve(component, ref)
