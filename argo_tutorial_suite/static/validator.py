"""A compiled schema checker as strict as the API server's field validation, reporting every violation.

Two schema dialects, one checker:

- built-in kinds: kubernetes-validate's ``*-local-strict`` JSON schemas (``type`` lists with ``null``, ``$ref`` into
  ``_definitions.json``, ``additionalProperties: false`` on every object with ``properties``, ``oneOf`` for
  int-or-string and quantities);
- custom resources: a CRD's structural ``openAPIV3Schema`` (apiextensions' rules, ``k8s.io/apiextensions-apiserver``
  ``pkg/apiserver/schema``): a field a structural schema does not specify is *pruned* unless
  ``x-kubernetes-preserve-unknown-fields: true`` holds on the way, and with ``kubectl apply
  --validate=strict`` (the default since Kubernetes 1.27, ``fieldValidation=Strict``) a field that would be pruned
  is an error: ``unknown field "spec.x"``. ``x-kubernetes-int-or-string`` accepts both; ``nullable`` accepts null;
  ``x-kubernetes-embedded-resource`` allows apiVersion, kind and metadata; at the root, apiVersion, kind and metadata
  are always allowed and metadata is an ObjectMeta.

Each schema is compiled once into a closure (``$ref`` cycles through a cell), so a folder of ten thousand objects
walks each object once; messages never quote a value (a Secret's data or a password in an env value would leak).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Violation:
    """One thing the API server would refuse: where (a field path) and what."""

    path: str
    message: str


Out = list[Violation]
Check = Callable[[Any, Path, Out], None]

TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}
TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}


def type_name(v: Any) -> str:
    return "null" if v is None else TYPE_NAMES.get(type(v), type(v).__name__)


def dotted(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def nearest(name: str, known: list[str]) -> str:
    """`` (did you mean "x"?)`` for the closest known field, or nothing."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.lower() == name.lower()]
    return f' (did you mean "{close[0]}"?)' if close else ""


def _noop(v: Any, path: Path, out: Out) -> None:
    return None


class Compiler:
    """Compiles schemas of one dialect; ``refs`` resolves ``$ref`` strings to schemas."""

    def __init__(
        self, refs: Mapping[str, Any] | None = None, *, structural: bool = False, metadata: Check | None = None
    ) -> None:
        self.refs = refs or {}
        self.structural = structural
        self.metadata = metadata or _noop  # an embedded resource's metadata (an ObjectMeta, built-in dialect)
        self._by_ref: dict[str, Check] = {}

    def ref(self, target: str) -> Check:
        key = target.rsplit("/", 1)[-1]
        if key not in self._by_ref:
            cell: list[Check] = []
            self._by_ref[key] = lambda v, p, o: cell[0](v, p, o)
            schema = self.refs.get(key)
            cell.append(self.compile(schema) if isinstance(schema, dict) else _noop)
        return self._by_ref[key]

    def compile(self, schema: Mapping[str, Any], *, root: bool = False) -> Check:
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self.ref(str(schema["$ref"])))
        int_or_string = bool(schema.get("x-kubernetes-int-or-string"))
        types = schema.get("type")
        names = [types] if isinstance(types, str) else list(types or [])
        if int_or_string:
            names = ["integer", "string"]
        if names and schema.get("nullable"):
            names = [*names, "null"]
        if names:
            tests = [TYPES[n] for n in names if n in TYPES]
            want = " or ".join(n for n in names if n != "null") or "null"

            def check_type(
                v: Any, p: Path, o: Out, tests: list[Callable[[Any], bool]] = tests, want: str = want
            ) -> None:
                if not any(t(v) for t in tests):
                    o.append(Violation(dotted(p), f"must be of type {want}, got {type_name(v)} (value not shown)"))

            checks.append(check_type)
        checks.extend(self._object_checks(schema, root))
        if isinstance(schema.get("items"), dict):
            item = self.compile(schema["items"])

            def check_items(v: Any, p: Path, o: Out) -> None:
                if isinstance(v, list):
                    for i, x in enumerate(v):
                        item(x, (*p, i), o)

            checks.append(check_items)
        checks.extend(self._value_checks(schema))
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and not int_or_string:
                checks.append(self._any_of([self.compile(s) for s in schema[key] if isinstance(s, dict)]))
        for s in schema.get("allOf") or []:
            if isinstance(s, dict):
                checks.append(self.compile(s))
        if not checks:
            return _noop
        if len(checks) == 1:
            return checks[0]

        def check_all(v: Any, p: Path, o: Out, checks: list[Check] = checks) -> None:
            for c in checks:
                c(v, p, o)

        return check_all

    def _any_of(self, branches: list[Check]) -> Check:
        def check_any(v: Any, p: Path, o: Out) -> None:
            if v is None or not branches:
                return
            first: Out | None = None
            for b in branches:
                mine: Out = []
                b(v, p, mine)
                if not mine:
                    return
                first = first if first is not None else mine
            o.extend(first or [])

        return check_any

    def _object_checks(self, schema: Mapping[str, Any], root: bool) -> list[Check]:
        props_schema = schema.get("properties")
        additional = schema.get("additionalProperties")
        embedded = bool(schema.get("x-kubernetes-embedded-resource")) or root
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        is_object = schema.get("type") == "object" or (
            isinstance(schema.get("type"), list) and "object" in schema["type"]
        )
        props: dict[str, Check] = {}
        if isinstance(props_schema, dict):
            props = {str(k): self.compile(s) for k, s in props_schema.items() if isinstance(s, dict)}
        if embedded and self.structural:
            props.setdefault("apiVersion", _noop)
            props.setdefault("kind", _noop)
            props["metadata"] = self.metadata  # ObjectMeta, whatever the CRD declares (apiextensions ignores it)
        extra: Check | None = None
        closed = False
        if isinstance(additional, dict):
            extra = self.compile(additional)
        elif additional is False:
            closed = True
        elif additional is None and self.structural and (props or is_object) and not preserve:
            # structural schemas prune what they do not specify; strict field validation refuses it
            closed = True
        required = [str(r) for r in schema.get("required") or []]
        checks: list[Check] = []
        if props or extra is not None or closed:
            known = sorted(props)

            def check_fields(v: Any, p: Path, o: Out) -> None:
                if not isinstance(v, dict):
                    return
                for k, x in v.items():
                    c = props.get(k) if isinstance(k, str) else None
                    if c is not None:
                        c(x, (*p, k), o)
                    elif extra is not None:
                        extra(x, (*p, str(k)), o)
                    elif closed:
                        hint = nearest(str(k), known)
                        o.append(Violation(dotted(p), f'unknown field "{dotted((*p, str(k)))}"{hint}'))

            checks.append(check_fields)
        if required:

            def check_required(v: Any, p: Path, o: Out) -> None:
                if isinstance(v, dict):
                    for r in required:
                        if r not in v:
                            o.append(Violation(dotted(p), f'missing required field "{r}"'))

            checks.append(check_required)
        return checks

    def _value_checks(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        if isinstance(schema.get("enum"), list):
            allowed = list(schema["enum"])
            shown = [a for a in allowed if a is not None]

            def check_enum(v: Any, p: Path, o: Out) -> None:
                if v is not None and v not in allowed:
                    o.append(Violation(dotted(p), f"must be one of {shown!r} (value not shown)"))

            checks.append(check_enum)
        if isinstance(schema.get("pattern"), str):
            try:
                rx = re.compile(schema["pattern"])
            except re.error:
                rx = None
            if rx is not None:
                pattern = schema["pattern"]

                def check_pattern(v: Any, p: Path, o: Out, rx: re.Pattern[str] = rx) -> None:
                    if isinstance(v, str) and not rx.search(v):
                        o.append(Violation(dotted(p), f"does not match the pattern {pattern!r} (value not shown)"))

                checks.append(check_pattern)
        bounds = {
            "minimum": (lambda v, b: v < b, "is below the minimum {b}"),
            "maximum": (lambda v, b: v > b, "is above the maximum {b}"),
        }
        for key, (bad, text) in bounds.items():
            if isinstance(schema.get(key), (int, float)):
                limit = schema[key]

                def check_bound(v: Any, p: Path, o: Out, bad: Any = bad, text: str = text, limit: Any = limit) -> None:
                    if TYPES["number"](v) and bad(v, limit):
                        o.append(Violation(dotted(p), text.format(b=limit) + " (value not shown)"))

                checks.append(check_bound)
        sizes = {"minLength": (str, "shorter than"), "maxLength": (str, "longer than"),
                 "minItems": (list, "fewer items than"), "maxItems": (list, "more items than"),
                 "minProperties": (dict, "fewer fields than"), "maxProperties": (dict, "more fields than")}  # fmt: skip
        for key, (typ, text) in sizes.items():
            if isinstance(schema.get(key), int):
                limit = schema[key]
                low = key.startswith("min")

                def check_size(v: Any, p: Path, o: Out, typ: type = typ, text: str = text, limit: int = limit,
                               low: bool = low) -> None:  # fmt: skip
                    n = len(v) if isinstance(v, (str, list, dict)) and isinstance(v, typ) else None
                    if n is not None and (n < limit if low else n > limit):
                        o.append(Violation(dotted(p), f"is {text} {limit} (value not shown)"))

                checks.append(check_size)
        return checks


def check(checker: Check, obj: Any) -> list[Violation]:
    """Every violation of ``obj``, each once, in field order."""
    out: Out = []
    checker(obj, (), out)
    return list(dict.fromkeys(out))
