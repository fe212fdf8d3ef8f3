"""Release install manifests that are not files of the repository, made here as the release makes them (pure
parts; :mod:`argo_offline_images.stackimages` runs helm).

cert-manager's ``cert-manager.yaml`` (``make/manifests.mk`` at v1.11): the chart's ``templates/crds.yaml`` from
``deploy/crds/*.yaml`` (:func:`crds_template`), its ``Chart.yaml`` from
``Chart.template.yaml`` with ``version``/``appVersion`` set to the release; ``helm template --api-versions=""
--namespace=cert-manager --set=creator=static --set=startupapicheck.enabled=false cert-manager <chart>`` for
everything but the CRDs; the CRDs extracted from the same render with ``installCRDs=true``
(``hack/extractcrd``); the file is ``deploy/manifests/namespace.yaml`` + CRDs + the rest, each document
separated by ``---`` (``hack/concat-yaml.sh``).
"""

from __future__ import annotations

import re

import yaml

CERT_MANAGER_URL = "https://github.com/cert-manager/cert-manager/releases/download/{version}/cert-manager.yaml"
WORKFLOWS_URL = "https://github.com/argoproj/argo-workflows/releases/download/{version}/install.yaml"
HELM_BASE = ["template", '--api-versions=', "--namespace=cert-manager", "--set=creator=static",
             "--set=startupapicheck.enabled=false"]  # fmt: skip
HELM_NONCRD = [*HELM_BASE, "cert-manager"]
HELM_ALL = [*HELM_BASE, "--set=installCRDs=true", "cert-manager"]


def chart_yaml(template: str, version: str) -> str:
    """``Chart.yaml`` from ``Chart.template.yaml``: version and appVersion set, the prerelease flag filled."""
    text = re.sub(r"^version:.*$", f"version: {version}", template, count=1, flags=re.M)
    text = re.sub(r"^appVersion:.*$", f"appVersion: {version}", text, count=1, flags=re.M)
    return text.replace("{{IS_PRERELEASE}}", "true" if "-" in version.lstrip("v") else "false")


def crds_template(crd_files: list[str]) -> str:
    """The chart's ``templates/crds.yaml``, which the release makes (``make/manifests.mk``): ``deploy/crds/*.yaml``
    joined as ``hack/concat-yaml.sh`` does, inside ``{{- if .Values.installCRDs }}``. The module's chart lacks it."""
    return "{{- if .Values.installCRDs }}\n" + "\n---\n".join(t.strip("\n") for t in crd_files) + "\n{{- end }}\n"


def documents(text: str) -> list[str]:
    """The non-empty YAML documents of a multi-document text, each as written."""
    out = []
    for doc in re.split(r"^---\s*$", text, flags=re.M):
        if yaml.safe_load(doc) is not None:
            out.append(doc.strip("\n"))
    return out


def crds_only(text: str) -> list[str]:
    """``hack/extractcrd``: the CustomResourceDefinition documents of a render."""
    return [d for d in documents(text) if (yaml.safe_load(d) or {}).get("kind") == "CustomResourceDefinition"]


def concat(*parts: list[str]) -> str:
    docs = [d for part in parts for d in part]
    return "\n---\n".join(docs) + "\n"
