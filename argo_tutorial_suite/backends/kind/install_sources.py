"""An install command's manifest without a download (mirror mode offline): the URL read from the upstream
reference copy (sha256-checked, :class:`argo_tutorial_suite.upstream.Upstream`) and written to a local file that the
command applies instead; each rewrite is recorded with the command's outcome.

Release assets that are not files of the repository are made as the release makes them: Argo Rollouts'
``install.yaml`` is ``manifests/install.yaml`` with ``:latest`` set to the release tag (its ``make manifests
IMAGE_TAG=...``). A URL with no local source stays as it is (the command then needs the network, and says so
when it fails).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from argo_tutorial_suite.backends.kind.mirror_config import Rewrite, rewrite_digests
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.tutorial import kustomize
from argo_tutorial_suite.tutorial.images import retag_latest
from argo_tutorial_suite.tutorial.installplan import URL, classify_url
from argo_tutorial_suite.upstream import Upstream, UpstreamMismatch, UpstreamUnavailable

# component -> path of the install file in its repository ({file}: the URL's file part)
REPOSITORY_PATHS = {
    "argo-cd": "manifests/{file}",
    "ingress-nginx": "deploy/static/provider/{file}",
    "argo-events": "manifests/{file}",
    "argo-rollouts": "manifests/{file}",
}
RELEASE_FROM_TREE = {("argo-rollouts", "install.yaml")}  # release asset = tree file with the tag set
# release asset = ``kustomize build`` of a tree folder with the tag set (Argo Workflows v3's Makefile:
# ``manifests/install.yaml: kustomize build --load-restrictor=LoadRestrictionsNone manifests/cluster-install``,
# image tags set by ``hack/update-image-tags.sh`` for the release)
RELEASE_FROM_KUSTOMIZE = {("argo-workflows", "install.yaml"): "manifests/cluster-install"}


@dataclass(frozen=True)
class Local:
    url: str
    path: Path
    source: str
    rewrites: list[Rewrite]

    def note(self) -> str:
        text = f"{self.url} read from {self.source} (no download)"
        if self.rewrites:
            text += "; " + "; ".join(r.as_text() for r in self.rewrites)
        return text


def source_objects(url: str, upstream: Upstream) -> tuple[list[Obj], str] | None:
    """The objects ``url`` serves, from the reference copy, and where they were read; None when not there."""
    component, ref, file = classify_url(url)
    if component and ref and (component, file) in RELEASE_FROM_KUSTOMIZE:
        return _kustomized(component, ref, RELEASE_FROM_KUSTOMIZE[(component, file or "")], upstream)
    if component not in REPOSITORY_PATHS or not ref or not file:
        return None
    path = REPOSITORY_PATHS[component].format(file=file)
    try:
        objs = upstream.load_all(component, ref, path)
    except (UpstreamUnavailable, UpstreamMismatch):
        return None
    where = f"the upstream reference copy {component}/{ref}/{path}"
    if (component, file) in RELEASE_FROM_TREE:
        objs = [retag(o, ref) for o in objs]
        where += f" with :latest set to {ref} (as the release's make manifests does)"
    return objs, where


def _kustomized(component: str, ref: str, folder: str, upstream: Upstream) -> tuple[list[Obj], str] | None:
    if upstream.reference_dir is None:
        return None
    d = upstream.reference_dir / component / ref / folder
    if not (d / "kustomization.yaml").is_file():
        return None
    built = kustomize.build(d)
    if built.error:
        return None
    where = f"kustomize build of the upstream reference copy {component}/{ref}/{folder} with :latest set to {ref}"
    return [retag(o, ref) for o in built.objects], where


def retag(obj: Obj, tag: str) -> Obj:
    """``obj`` with every ``image: ...:latest`` set to ``tag``, as a release's manifests are."""
    text = yaml.safe_dump(obj)
    if ":latest" not in text:
        return obj
    new = yaml.safe_load(re.sub(r"(image:\s*\S+):latest\b", lambda m: retag_latest(m.group(1) + ":latest", tag), text))
    return dict(new)


Prepared = Mapping[str, tuple[Path, str]]  # URL -> (file made by scripts/offline-images, how it was made)


def localize(
    run: str, upstream: Upstream, dest: Path, built: set[str], prepared: Prepared | None = None
) -> tuple[str, list[Local]]:
    """``run`` with each URL that has a local source replaced by a written file; digest-pinned images that were
    built here (``built``) named by tag in that file (:func:`argo_tutorial_suite.backends.kind.mirror_config.rewrite_digests`). ``prepared``:
    release assets the offline build rendered (cert-manager's ``cert-manager.yaml``)."""
    out = run
    done: list[Local] = []
    for url in URL.findall(run):
        got = source_objects(url, upstream)
        if got is None and prepared and url in prepared:
            path, how = prepared[url]
            got = [o for o in yaml.safe_load_all(path.read_text()) if isinstance(o, dict)], f"{path} ({how})"
        if got is None:
            continue
        objs, where = got
        objs, rewrites = rewrite_digests(objs, built)
        dest.mkdir(parents=True, exist_ok=True)
        path = dest / (re.sub(r"[^A-Za-z0-9._-]+", "_", url.split("://", 1)[-1])[-120:])
        path.write_text(yaml.safe_dump_all(objs, sort_keys=False))
        out = out.replace(url, str(path))
        done.append(Local(url, path, where, rewrites))
    return out, done


Localizer = Callable[[str], tuple[str, str, list[str]]]


def localizer(upstream: Upstream, dest: Path, built: set[str], prepared: Prepared | None = None) -> Localizer:
    """``run -> (run, note, URLs left without a local copy)`` for :func:`argo_tutorial_suite.backends.install.run_plan`."""

    def go(run: str) -> tuple[str, str, list[str]]:
        new, done = localize(run, upstream, dest, built, prepared)
        return new, "; ".join(d.note() for d in done), URL.findall(new)

    return go
