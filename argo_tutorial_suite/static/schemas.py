"""Schema validation: Kubernetes built-in kinds (kubernetes-validate's OpenAPI schemas for the target
version) and custom resources (the CRDs' ``openAPIV3Schema`` from the pinned install manifests)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv_utils
from referencing import Registry, Resource

from argo_tutorial_suite.objects import Obj, kind, ref
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


def _openapi_to_jsonschema(schema: Any) -> Any:
    """Drop OpenAPI/Kubernetes extensions jsonschema does not know; int-or-string accepts both."""
    if isinstance(schema, dict):
        if schema.get("x-kubernetes-int-or-string"):
            return {}
        return {k: _openapi_to_jsonschema(v) for k, v in schema.items() if not k.startswith("x-kubernetes")}
    if isinstance(schema, list):
        return [_openapi_to_jsonschema(v) for v in schema]
    return schema


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

VALUE_VALIDATORS = frozenset(
    {"type", "enum", "const", "pattern", "format", "minLength", "maxLength", "minimum", "maximum", "multipleOf"}
)


def error_message(validator: str, validator_value: Any, instance: Any, default: str) -> str:
    """A schema error's message without the offending value (jsonschema's own messages quote the instance, which
    leaks a Secret's stringData or a password in an env value into every report)."""
    if validator not in VALUE_VALIDATORS:
        return default
    got = type(instance).__name__.replace("str", "string").replace("dict", "object").replace("NoneType", "null")
    if validator == "type":
        want = validator_value if isinstance(validator_value, str) else " or ".join(map(str, validator_value))
        return f"must be of type {want}, got a {got} (value not shown)"
    if validator in ("enum", "const"):
        return f"must be one of {validator_value!r} (value not shown)"
    return f"fails {validator} {validator_value!r} (value not shown)"


@cache
def _schema_dir(version: str) -> str:
    """kubernetes-validate's strict schema folder for ``version``: the newest it ships not newer than it
    (its ``validate()`` picks the same one)."""
    want = kv_utils.major_minor(version.lstrip("v"))
    if want > kv_utils.latest_version():
        raise kv_utils.VersionNotSupportedError(version=want)
    found = [v for v in kv_utils.all_versions() if kv_utils.major_minor(v) <= want][-1]
    return f"v{found}-local-strict"


@cache
def builtin_validator(version: str, api_version: str, kind_: str) -> jsonschema.protocols.Validator | None:
    """The strict validator of a built-in kind, loaded once per (version, apiVersion, kind): kubernetes-validate
    reads and parses two schema files for every object it validates, which made 1 MB of ConfigMaps take
    minutes. Same schemas, same draft, same $ref registry, same first error (``best_match``)."""
    folder = _schema_dir(version)
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv_utils.schema_contents(f"kubernetes-json-schema/{folder}/{kind_.lower()}-{api}.json", version)
    except FileNotFoundError:
        return None
    defs = _definitions(folder, version)
    registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
    validator: jsonschema.protocols.Validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
    return validator


@cache
def _definitions(folder: str, version: str) -> Any:
    return kv_utils.schema_contents(f"kubernetes-json-schema/{folder}/_definitions.json", version)


def validate(objs: list[Obj], kubernetes: str, crds: dict[tuple[str, str], CrdSchema]) -> Iterator[SchemaError]:
    """Validate each object; built-ins strictly (unknown fields are errors), CRs by their CRD schema."""
    k8s_version = kubernetes if kubernetes.count(".") == 2 else f"{kubernetes}.0"
    crd_validators: dict[tuple[str, str, str], jsonschema.Draft7Validator] = {}
    for o in objs:
        api = str(o.get("apiVersion", ""))
        group, _, version = api.rpartition("/")
        if not api or not kind(o):
            yield SchemaError(ref(o), "object has no apiVersion or kind")
            continue
        crd = crds.get((group, kind(o)))
        if crd is not None:
            schema = crd.versions.get(version)
            if schema is None:
                yield SchemaError(
                    ref(o), f"{kind(o)} has no served version {version} (served: {', '.join(crd.versions)})"
                )
                continue
            key = (group, kind(o), version)
            if key not in crd_validators:
                crd_validators[key] = jsonschema.Draft7Validator(_openapi_to_jsonschema(schema))
            validator = crd_validators[key]
            for err in sorted(validator.iter_errors(o), key=lambda e: list(e.path)):
                path = ".".join(str(p) for p in err.path)
                msg = error_message(str(err.validator), err.validator_value, err.instance, err.message)
                yield SchemaError(ref(o), f"{path or '(root)'}: {msg}")
            continue
        builtin = builtin_validator(k8s_version, api, kind(o))
        if builtin is None:
            moved = REMOVED_APIS.get((api, kind(o)))
            if moved:
                yield SchemaError(ref(o), f"unknown kind {api} {kind(o)}: removed in Kubernetes {moved[0]}; {moved[1]}")
                continue
            yield SchemaError(
                ref(o),
                f"unknown kind {api} {kind(o)}: no Kubernetes {kubernetes} schema and no CRD of the stack defines it",
            )
            continue
        e = jsonschema.exceptions.best_match(builtin.iter_errors(o))
        if e is not None:
            path = ".".join(str(p) for p in e.path)
            msg = error_message(str(e.validator), e.validator_value, e.instance, e.message)
            yield SchemaError(ref(o), f"{path or '(root)'}: {msg}")
