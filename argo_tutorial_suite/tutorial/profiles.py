"""Profiles: which files (as-written or corrected) and which version pins a run uses.

A profile is materialized into plain directories: the tutorial's files, and for the corrected
profile the overlay files of ``manifests/corrected/<part>/`` laid over them (a kustomization and its
patches, added files). Nothing of the tutorial is copied into ``manifests/corrected``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.tutorial.installplan import InstallPlan, step_component

AS_WRITTEN = "as-written"
CORRECTED = "corrected"
PROFILES = (AS_WRITTEN, CORRECTED)
PINS = ("tutorial-2023", "current")

# Placeholders of the corrected profile, replaced by the backend's real addresses at run time.
PLACEHOLDERS = {
    "registry": "registry.argo-tutorial.test",
    "git": "http://git.argo-tutorial.test",
    "acme": "https://acme.argo-tutorial.test/dir",
    "domain": "argo-tutorial.test",
}
# The tutorial's own placeholders (the as-written profile substitutes only these, at run time).
TUTORIAL_PLACEHOLDERS = {
    "hosts": ["my-awesome-app.your.domain", "my-awesome-app-preview.your.domain", "your.webhook.domain.com"],
    "registries": ["juunini.azurecr.io", "your.registry.server.com", "your.register.domain.com"],
    "git": ["https://github.com/yourname/repository.git"],
}


@dataclass(frozen=True)
class Pins:
    name: str
    data: dict[str, Any]

    @classmethod
    def load(cls, name: str) -> Pins:
        path = MANIFESTS / "versions" / f"{name}.yaml"
        if not path.is_file():
            raise ValueError(f"unknown pins {name!r}: choose one of {', '.join(PINS)}")
        return cls(name, yaml.safe_load(path.read_text()))

    def resolve(self, component: str, ref: str | None) -> str | None:
        """The version a reference resolves to: floating refs through the pins, tags as written."""
        comp = self.data["components"].get(component, {})
        value = comp.get("pinned") if ref is None else comp.get(ref, ref)
        return None if value is None else str(value)

    def pinned(self, component: str) -> str:
        return str(self.data["components"][component]["pinned"])

    @property
    def as_of(self) -> date:
        """The day these pins describe: ``as_of`` in the pins file (tutorial-2023: the tutorial's date), else today
        (``current`` floats with the releases)."""
        value = self.data.get("as_of")
        return date.fromisoformat(str(value)) if value else datetime.now(UTC).date()

    @property
    def kubernetes(self) -> str:
        return str(self.data["kubernetes"])


TRAEFIK = "traefik"


@dataclass(frozen=True)
class Profile:
    name: str
    pins: Pins

    @classmethod
    def load(cls, name: str, pins: str = "tutorial-2023") -> Profile:
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}")
        return cls(name, Pins.load(pins))

    @property
    def id(self) -> str:
        return f"{self.name}@{self.pins.name}"

    @property
    def corrected(self) -> bool:
        return self.name == CORRECTED

    # -- files -------------------------------------------------------------------------------------
    def materialize(self, part: str, dest: Path) -> Path:
        """Write the profile's ``part`` (gitops, ci, code) into ``dest`` and return it."""
        dest.mkdir(parents=True, exist_ok=True)
        src = MANIFESTS / "tutorial" / part
        for f in sorted(src.iterdir()):
            if f.is_file():
                shutil.copyfile(f, dest / f.name)
        if self.corrected:
            overlay = MANIFESTS / "corrected" / part
            if overlay.is_dir():
                if (dest / "kustomization.yaml").exists() and (overlay / "kustomization.yaml").exists():
                    (dest / "kustomization.yaml").unlink()
                shutil.copytree(overlay, dest, dirs_exist_ok=True)
        return dest

    def install_plan(self) -> InstallPlan:
        if self.corrected:
            data = self._corrected_plan_data()
            data["steps"] = [s for s in data["steps"] if self.pins.name in s.pop("pins", [self.pins.name])]
            return InstallPlan.from_data(data)
        return InstallPlan.from_data(yaml.safe_load((MANIFESTS / "tutorial" / "install" / "plan.yaml").read_text()))

    def _corrected_plan_data(self) -> dict[str, Any]:
        """The corrected plan with the pins' versions filled in; a step with ``pins:`` belongs to those pins sets
        only (ingress-nginx for tutorial-2023, its maintained successor for current: D37)."""
        raw = (MANIFESTS / "corrected" / "install" / "plan.yaml").read_text()
        for comp in self.pins.data["components"]:
            raw = raw.replace("{" + comp + "}", self.pins.pinned(comp))
        data: dict[str, Any] = yaml.safe_load(raw)
        return data

    def not_installed(self) -> set[str]:
        """Components the pins name but this profile's plan does not install (corrected: a step kept for other
        pins sets, e.g. ingress-nginx at current, replaced for D37)."""
        if not self.corrected:
            return set()
        named = {step_component(s["title"]) for s in self._corrected_plan_data()["steps"]}
        installed = {step_component(s.title) for s in self.install_plan().steps}
        return {c for c in named - installed if c}

    def ingress_controller(self) -> str:
        """The Ingress controller this profile installs: ingress-nginx as the tutorial has it, or Traefik's Ingress
        NGINX provider where the corrected profile replaces the retired ingress-nginx (D37)."""
        return TRAEFIK if TRAEFIK in self.versions() else "ingress-nginx"

    def on_top_plan(self) -> InstallPlan | None:
        """As written: what the scenarios need on top of the tutorial's install on kind (workarounds of
        D2, D3, D4, D6, each tagged), at the versions the tutorial's commands installed. None when corrected."""
        if self.corrected:
            return None
        raw = (MANIFESTS / "workarounds" / "install-on-top.yaml").read_text()
        for comp, version in self.versions().items():
            raw = raw.replace("{" + comp + "}", version)
        return InstallPlan.from_data(yaml.safe_load(raw))

    def applications(self) -> list[dict[str, Any]]:
        """The Argo CD Application(s) the profile declares (the tutorial has none: D35)."""
        path = MANIFESTS / "corrected" / "argocd" / "application.yaml"
        return [yaml.safe_load(path.read_text())] if self.corrected else []

    def versions(self) -> dict[str, str]:
        """component -> the version this profile installs: as written (floating refs resolved through the
        pins) or, for the corrected profile, the pinned one."""
        if self.corrected:
            skip = self.not_installed()
            return {c: self.pins.pinned(c) for c in self.pins.data["components"] if c not in skip}
        out: dict[str, str] = {}
        for cmd in self.install_plan().commands():
            if cmd.component and cmd.component not in out:
                v = self.pins.resolve(cmd.component, cmd.ref)
                if v:
                    out[cmd.component] = v
        return out

    def cluster_nodes(self) -> dict[str, int]:
        """Node shape: the tutorial says nothing (kind's default, one node); corrected adds 3 workers (D3)."""
        return {"control-plane": 1, "worker": 3} if self.corrected else {"control-plane": 1, "worker": 0}

    def schedulable_nodes(self) -> int:
        """kind removes the control-plane taint only on single-node clusters (kubernetes-sigs/kind#2857)."""
        shape = self.cluster_nodes()
        return shape["worker"] if shape["worker"] else shape["control-plane"]
