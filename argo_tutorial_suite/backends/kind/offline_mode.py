"""Offline mode of the kind backend (mirror mode, the stack's images built here by the offline image builder): which
install steps and commands cannot run (their images were not built), which release stands in where the pinned one
could not be built, the substitute ingress controller, and so what ran per component and what the cluster cannot
verify. No I/O but reading the builder's manifest (:mod:`argo_tutorial_suite.backends.kind.localbuild`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from argo_image_refs import parse_ref
from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.backends.install import Offline
from argo_tutorial_suite.backends.kind import ingress as ingress_substitute
from argo_tutorial_suite.backends.kind import install_sources as installsource
from argo_tutorial_suite.backends.kind import offline as offlineplan
from argo_tutorial_suite.backends.kind.localbuild import ImageEntry, LocalBuild
from argo_tutorial_suite.tutorial import images
from argo_tutorial_suite.tutorial.installplan import step_component
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts import components
from argo_tutorial_suite.verdicts.components import Ran, Relation

NOT_BUILT_HERE = "not verified here: images not built on this machine"


@dataclass
class OfflineMode:
    profile: Profile
    local: LocalBuild | None
    upstream: Upstream | None
    registry_mirror: bool
    workdir: Path
    substitutions: Callable[[], dict[str, str]]
    skipped: dict[str, str] = field(default_factory=dict)  # component -> why its install step did not run
    stand_ins: dict[str, offlineplan.StandIn] = field(default_factory=dict)  # component -> the release run instead

    @property
    def active(self) -> bool:
        """Mirror mode with the stack's images built here: nothing is pulled or downloaded."""
        return self.registry_mirror and self.local is not None and bool(self.local.stack_images)

    @property
    def built_images(self) -> set[str]:
        return {parse_ref(i["ref"]).tagged for i in self.local.stack_images} if self.local else set()

    def plan(self) -> Offline | None:
        """What the install leaves out and where its files come from (None when not offline)."""
        if not self.active or self.upstream is None:
            return None
        built = self.built_images
        missing = offlineplan.missing_images(images.stack_images(self.upstream, self.profile.versions()), built)
        for component, refs in missing.items():
            reason = f"{NOT_BUILT_HERE}: {', '.join(refs)} (scripts/offline-images --pins {self.profile.pins.name})"
            if component == "ingress-nginx" and self.ingress_substitute is not None:
                reason = ingress_substitute.note(self.ingress_substitute)
            stand = self.stand_in(component, refs)
            if stand is not None:
                self.stand_ins[component] = stand
                reason = stand.note()
            self.skipped[component] = reason

        def skip(title: str) -> str | None:
            return self.skipped.get(step_component(title) or "")

        def skip_command(run: str) -> str | None:
            hit = sorted(c for c in offlineplan.command_components(run) if c in self.skipped)
            return self.skipped[hit[0]] if hit else None

        prepared = self.local.install_sources if self.local is not None else {}
        loc = installsource.localizer(self.upstream, self.workdir / "install-sources", built, prepared)
        return Offline(localize=loc, skip=skip, skip_command=skip_command)

    def stand_in(self, component: str, missing: list[str]) -> offlineplan.StandIn | None:
        """Another release of ``component`` to run, when the pinned one's images cannot be built here (the build's
        reason for them is kept in the note)."""
        version = self.profile.versions().get(component)
        if component != "cert-manager" or self.local is None or version is None:
            return None
        refs = {parse_ref(r).tagged for r in missing}
        why = next((nb["why"] for nb in self.local.stack_not_built if parse_ref(nb["ref"]).tagged in refs),
                   f"{', '.join(missing)} not built")  # fmt: skip
        return offlineplan.cert_manager_stand_in(version, self.local.install_sources, self.built_images, why)

    @property
    def ingress_substitute(self) -> str | None:
        """The substitute ingress controller's image when it was built here (mirror mode, offline)."""
        image = parse_ref(ingress_substitute.IMAGE).tagged
        return ingress_substitute.IMAGE if self.active and image in self.built_images else None

    def cannot(self, what: Capability) -> str | None:
        """Offline, what needs an image that was not built here, and ingress-nginx itself where a substitute stands in
        for it; else None. (Another release standing in for a component is said by :meth:`ran`.)"""
        if what == "ingress-nginx" and "ingress-nginx" in self.skipped:
            return self.skipped["ingress-nginx"]
        if what == "ci-run" and self.active:
            missing = [i for i in self.ci_images() if parse_ref(i).tagged not in self.built_images]
            if missing:
                return f"{NOT_BUILT_HERE}: {', '.join(missing)} (the CI's Workflow and EventBus images)"
        if what == "ci-images" and self.active and self.local is not None:
            ci = {parse_ref(i).tagged for i in self.ci_images()}
            gaps = [f"{d['image']}: {d['here']} ({d['not_verified']})"
                    for d in self.local.differences()
                    if parse_ref(d["image"]).tagged in ci and d.get("not_verified")]  # fmt: skip
            if gaps:
                return "the CI's images are built here, with differences: " + "; ".join(gaps)
        return None

    def ran(self) -> dict[str, Ran]:
        """What ran per component: the images built here (each difference's recorded relation), the release
        standing in where the pinned one could not be built, and the substitute ingress controller. Empty where
        the pinned images are pulled as users pull them."""
        images: list[ImageEntry] = []
        if self.active and self.local is not None:
            runs = self.profile_images()
            mine = [i for i in self.local.stack_images if parse_ref(i["ref"]).tagged in runs]
            images = [*self.local.node_images, *mine]
        stand_ins = {
            c: Ran(c, Relation.ANOTHER, f"{s.version} for {s.asked}, its own release manifest")
            for c, s in self.stand_ins.items()
        }
        if "ingress-nginx" in self.skipped and self.ingress_substitute is not None:
            stand_ins["ingress-nginx"] = Ran(
                "ingress-nginx", Relation.STAND_IN, f"{ingress_substitute.IMAGE} serves the Ingresses"
            )
        return components.merge(components.from_images(images), stand_ins)

    def profile_images(self) -> set[str]:
        """The images this profile runs (its install's, the CI's and the EventBus's), by tagged reference: what ran
        for it is judged on these, not on the other profile's images the same build holds."""
        if self.upstream is None:
            return set()
        install = images.stack_images(self.upstream, self.profile.versions())
        inline = self.profile.install_plan().inline_images()  # manifests written into the commands (Traefik: D37)
        refs = [r for rs in install.values() for r in rs] + inline + self.ci_images()
        return {parse_ref(r).tagged for r in refs}

    def ci_images(self) -> list[str]:
        """The images the tutorial's CI runs: its Workflow's containers, the EventBus its ci.yaml asks for, and
        the app Dockerfile's bases (BuildKit pulls them for the build)."""
        if self.upstream is None:
            return []
        ci, bases = images.ci_and_bases(self.profile, self.substitutions())
        buses = [o for o in ci if o.get("kind") == "EventBus"]
        events = images.stack_images(self.upstream, self.profile.versions(), buses).get("argo-events", [])
        return [*images.ci_images(ci), *events, *bases]
