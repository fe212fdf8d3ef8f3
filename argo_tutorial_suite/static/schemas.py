"""Schema validation: Kubernetes built-in kinds (kubernetes-validate's OpenAPI schemas for the target
version) and custom resources (the CRDs' ``openAPIV3Schema`` from the pinned install manifests)."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from argo_tutorial_suite.objects import Obj, kind, ref
from argo_tutorial_suite.static.validator import Check, Compiler, check
from argo_tutorial_suite.tutorial.profiles import Pins
from argo_tutorial_suite.upstream import Upstream, UpstreamMismatch, UpstreamUnavailable

# Where each CRD of the stack lives upstream, per component; the version comes from the pins.
CRD_SOURCES: tuple[tuple[str, str], ...] = (
    ("argo-rollouts", "manifests/crds/rollout-crd.yaml"),
    ("argo-cd", "manifests/install.yaml"),
    ("argo-events", "manifests/install.yaml"),
    ("argo-workflows", "manifests/base/crds/minimal/argoproj.io_workflows.yaml"),
    ("cert-manager", "{issuers}"),
)
CERT_MANAGER_ISSUERS = {
    "v1.11.0": "deploy/crds/crd-issuers.yaml",
    "v1.21.1": "deploy/crds/cert-manager.io_issuers.yaml",
}


@dataclass(frozen=True)
class SchemaError:
    obj: str
    message: str


@dataclass
class CrdSchema:
    group: str
    kind: str
    scope: str
    versions: dict[str, dict[str, Any]]  # version -> openAPIV3Schema
    checks: dict[str, Check] = field(default_factory=dict, repr=False, compare=False)  # compiled, per version


def crd_schemas(crds: list[Obj]) -> dict[tuple[str, str], CrdSchema]:
    """Index CRD objects by (group, kind)."""
    out: dict[tuple[str, str], CrdSchema] = {}
    for crd in crds:
        if kind(crd) != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        versions = {
            v["name"]: (v.get("schema") or {}).get("openAPIV3Schema") or {}
            for v in spec.get("versions", [])
            if v.get("served", True)
        }
        out[(spec["group"], spec["names"]["kind"])] = CrdSchema(
            spec["group"], spec["names"]["kind"], spec.get("scope", "Namespaced"), versions
        )
    return out


def load_stack_crds(upstream: Upstream, pins: Pins) -> tuple[dict[tuple[str, str], CrdSchema], list[str]]:
    """The stack's CRDs at the pinned versions; the second value lists what could not be read."""
    crds: list[Obj] = []
    missing: list[str] = []
    for component, path in CRD_SOURCES:
        version = pins.pinned(component) if component != "argo-cd" else pins.resolve("argo-cd", "stable") or ""
        if component == "argo-rollouts":
            version = pins.resolve("argo-rollouts", "latest") or version
        if path == "{issuers}":
            path = CERT_MANAGER_ISSUERS.get(version, "")
        try:
            crds.extend(upstream.load_all(component, version, path))
        except (UpstreamUnavailable, UpstreamMismatch) as e:
            missing.append(str(e))
    return crd_schemas(crds), missing


# Kubernetes' deprecated API migration guide: (apiVersion, kind) -> (removed in, what to use instead)
REMOVED_APIS: dict[tuple[str, str], tuple[str, str]] = {
    ("networking.k8s.io/v1beta1", "Ingress"): (
        "1.22",
        "use networking.k8s.io/v1: backend.service.name / backend.service.port.number (or .name), pathType required",
    ),
    ("extensions/v1beta1", "Ingress"): ("1.22", "use networking.k8s.io/v1: backend.service.name / service.port.number"),
    ("extensions/v1beta1", "Deployment"): ("1.16", "use apps/v1 (spec.selector required)"),
    ("apps/v1beta1", "Deployment"): ("1.16", "use apps/v1 (spec.selector required)"),
    ("apps/v1beta2", "Deployment"): ("1.16", "use apps/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "Role"): ("1.22", "use rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding"): ("1.22", "use rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"): ("1.22", "use rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"): ("1.22", "use rbac.authorization.k8s.io/v1"),
    ("policy/v1beta1", "PodDisruptionBudget"): ("1.25", "use policy/v1"),
    ("batch/v1beta1", "CronJob"): ("1.25", "use batch/v1"),
}


@cache
def _schema_root() -> Path:
    """kubernetes-validate's schema folder, found without importing the package (it imports jsonschema, a third
    of a small check's start-up)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "kubernetes-validate is not installed (pip install kubernetes-validate): it holds the schemas"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@cache
def _versions() -> list[tuple[int, ...]]:
    found = (re.match(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$", p.name) for p in _schema_root().iterdir())
    return sorted(tuple(int(x) for x in m.groups()) for m in found if m)


@cache
def _schema_dir(version: str) -> str:
    """kubernetes-validate's strict schema folder for ``version``: the newest it ships not newer than it (its
    ``validate()`` picks the same one)."""
    want = tuple(int(x) for x in version.lstrip("v").split(".")[:2])
    found = [v for v in _versions() if v[:2] <= want]
    if not found or want > _versions()[-1][:2]:
        newest = ".".join(map(str, _versions()[-1][:2])) if _versions() else "none"
        raise ValueError(f"no Kubernetes {version} schemas in kubernetes-validate (newest: {newest}): upgrade it")
    return "v{}.{}.{}-local-strict".format(*found[-1])


def _schema_file(folder: str, name: str) -> Any:
    return json.loads((_schema_root() / folder / name).read_bytes())


@cache
def _definitions(version: str) -> dict[str, Any]:
    """The version's shared definitions (``$defs`` of ``_definitions.json``), read once."""
    defs = _schema_file(_schema_dir(version), "_definitions.json")
    out: dict[str, Any] = defs.get("$defs") or defs.get("definitions") or {}
    return out


@cache
def _builtin_compiler(version: str) -> Compiler:
    return Compiler(_definitions(version))


@cache
def builtin_checker(version: str, api_version: str, kind_: str) -> Check | None:
    """The strict checker of a built-in kind, compiled once per (version, apiVersion, kind) from kubernetes-validate's
    schemas (unknown fields are errors, as ``kubectl apply --validate=strict`` has them)."""
    folder = _schema_dir(version)
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = _schema_file(folder, f"{kind_.lower()}-{api}.json")
    except FileNotFoundError:
        return None
    return _builtin_compiler(version).compile(schema)


def crd_checker(crd: CrdSchema, version: str, kubernetes: str) -> Check | None:
    """The structural checker of a CRD's served version (compiled once per CRD and version)."""
    if version not in crd.checks:
        schema = crd.versions.get(version)
        if schema is None:
            return None
        defs = _definitions(kubernetes)
        meta = _builtin_compiler(kubernetes).ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        crd.checks[version] = Compiler(defs, structural=True, metadata=meta).compile(schema, root=True)
    return crd.checks[version]


def validate(objs: list[Obj], kubernetes: str, crds: dict[tuple[str, str], CrdSchema]) -> Iterator[SchemaError]:
    """Every violation of each object, each once: built-ins strictly (unknown fields are errors), CRs by their CRD's
    structural schema (a field it would prune is an unknown field, as strict field validation reports it)."""
    k8s_version = kubernetes if kubernetes.count(".") == 2 else f"{kubernetes}.0"
    for o in objs:
        api = str(o.get("apiVersion", ""))
        group, _, version = api.rpartition("/")
        if not api or not kind(o):
            yield SchemaError(ref(o), "object has no apiVersion or kind")
            continue
        crd = crds.get((group, kind(o)))
        if crd is not None:
            checker = crd_checker(crd, version, k8s_version)
            if checker is None:
                yield SchemaError(
                    ref(o), f"{kind(o)} has no served version {version} (served: {', '.join(crd.versions)})"
                )
                continue
        else:
            checker = builtin_checker(k8s_version, api, kind(o))
        if checker is None:
            moved = REMOVED_APIS.get((api, kind(o)))
            if moved:
                yield SchemaError(ref(o), f"unknown kind {api} {kind(o)}: removed in Kubernetes {moved[0]}; {moved[1]}")
                continue
            yield SchemaError(
                ref(o),
                f"unknown kind {api} {kind(o)}: no Kubernetes {kubernetes} schema and no CRD of the stack defines it",
            )
            continue
        for v in check(checker, o):
            yield SchemaError(
                ref(o), f"{v.path}: {v.message}" if not v.message.startswith("unknown field") else v.message
            )
