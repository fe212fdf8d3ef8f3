"""Which install steps and commands a run with no download leaves out (pure): those of a component whose images
were not built here. Each is then "not verified here" with the missing images, instead of timing out on pulls."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from argo_image_refs import parse_ref
from argo_tutorial_suite.tutorial.images import cert_manager_images
from argo_tutorial_suite.tutorial.installplan import URL, classify_url, namespaces_named
from argo_tutorial_suite.tutorial.stack import COMPONENT_NS


def missing_images(component_images: Mapping[str, Iterable[str]], built: set[str]) -> dict[str, list[str]]:
    """component -> its images that were not built here (components with none missing are left out)."""
    out: dict[str, list[str]] = {}
    for component, refs in component_images.items():
        missing = [r for r in refs if parse_ref(r).tagged not in built]
        if missing:
            out[component] = missing
    return out


def _namespaces(run: str) -> set[str]:
    try:
        words = shlex.split(run)
    except ValueError:
        words = run.split()
    return set(namespaces_named(words))


def command_components(run: str) -> set[str]:
    """The components a command touches: by the install URL it applies, and by the namespace it names."""
    found = {c for c in (classify_url(u)[0] for u in URL.findall(run)) if c}
    by_ns = {ns: comp for comp, ns in COMPONENT_NS.items()}
    found |= {by_ns[ns] for ns in _namespaces(run) if ns in by_ns}
    return found


@dataclass(frozen=True)
class StandIn:
    """A release of a component that runs in place of the pinned one, whose images could not be built here."""

    component: str
    asked: str
    version: str
    manifest: Path
    why: str

    def note(self) -> str:
        return (f"not verified here ({self.component} {self.asked} substituted: {self.version} stands in, "
                f"its own release manifest; {self.why})")  # fmt: skip


def cert_manager_stand_in(
    asked: str, sources: Mapping[str, tuple[Path, str]], built: set[str], why: str
) -> StandIn | None:
    """The newest cert-manager release whose manifest the offline build rendered and whose images were all built
    here, to run in place of ``asked`` (cert-manager keeps its binaries in modules no proxy serves from v1.12;
    :func:`argo_offline_images.stackrecipes.cert_manager`). None when there is none."""
    found = []
    for url, (path, _how) in sources.items():
        component, version, file = classify_url(url)
        if (component, file) != ("cert-manager", "cert-manager.yaml") or not version or version == asked:
            continue
        if not missing_images({"cert-manager": cert_manager_images(version)}, built):
            found.append((tuple(int(x) for x in version.lstrip("v").split(".")), version, path))
    if not found:
        return None
    _, version, path = max(found)
    return StandIn("cert-manager", asked, version, path, why)
