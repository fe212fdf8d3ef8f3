"""The Kubernetes API semantics the simulated API server applies (pure): the three patch types (JSON merge patch, RFC
6902 JSON patch, strategic merge patch as kubectl sends it) and label and field selectors."""

from __future__ import annotations

import copy
import re
from typing import Any

from argo_tutorial_suite.objects import Obj


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


# -- patches ---------------------------------------------------------------------------------------
def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge as ``kubectl`` uses it for the fields the suite touches: lists of objects with a
    ``name`` merge item by item (containers, env, ports, volumes); other lists are replaced."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
        elif (
            isinstance(v, list)
            and isinstance(out.get(k), list)
            and v
            and all(isinstance(i, dict) and "name" in i for i in v)
        ):
            merged = {i.get("name"): i for i in out[k] if isinstance(i, dict)}
            order = [i.get("name") for i in out[k] if isinstance(i, dict)]
            for item in v:
                n = item["name"]
                merged[n] = strategic_merge_patch(merged.get(n, {}), item)
                if n not in order:
                    order.append(n)
            out[k] = [merged[n] for n in order]
        else:
            out[k] = strategic_merge_patch(out.get(k), v)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(target: Any, ops: list[Obj]) -> Any:
    """RFC 6902: add, remove, replace, test, copy, move."""
    doc = copy.deepcopy(target)

    def parent(parts: list[str]) -> tuple[Any, str]:
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur, parts[-1]

    def get(parts: list[str]) -> Any:
        cur = doc
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    for op in ops:
        parts = _pointer(op["path"])
        try:
            kind = op["op"]
            if kind in ("copy", "move"):
                value = copy.deepcopy(get(_pointer(op["from"])))
                if kind == "move":
                    fp, fk = parent(_pointer(op["from"]))
                    fp.pop(int(fk)) if isinstance(fp, list) else fp.pop(fk)
                kind, op = "add", {**op, "value": value}
            if kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"test failed at {op['path']}")
                continue
            p, key = parent(parts)
            if kind == "add":
                if isinstance(p, list):
                    p.insert(len(p) if key == "-" else int(key), copy.deepcopy(op["value"]))
                else:
                    p[key] = copy.deepcopy(op["value"])
            elif kind == "remove":
                p.pop(int(key)) if isinstance(p, list) else p.pop(key)
            elif kind == "replace":
                if isinstance(p, list):
                    p[int(key)] = copy.deepcopy(op["value"])
                else:
                    if key not in p:
                        raise KeyError(key)
                    p[key] = copy.deepcopy(op["value"])
            else:
                raise ApiError(422, "Invalid", f"unknown JSON patch op {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", f"the JSON patch at {op.get('path')} does not apply: {e}") from e
    return doc


# -- selectors -------------------------------------------------------------------------------------
_SET = re.compile(r"^\s*(?P<key>[^\s!=]+)\s+(?P<op>in|notin)\s+\((?P<vals>[^)]*)\)\s*$")


def _split_selector(sel: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def label_match(labels: dict[str, str], selector: str) -> bool:
    for term in _split_selector(selector or ""):
        m = _SET.match(term)
        if m:
            vals = {v.strip() for v in m.group("vals").split(",") if v.strip()}
            has = m.group("key") in labels and labels[m.group("key")] in vals
            if (m.group("op") == "in") != has:
                return False
        elif "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = (s.strip() for s in term.replace("==", "=").split("=", 1))
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def field_match(obj: Obj, selector: str) -> bool:
    for term in _split_selector(selector or ""):
        neg = "!=" in term
        k, v = (s.strip() for s in (term.split("!=", 1) if neg else term.replace("==", "=").split("=", 1)))
        cur: Any = obj
        for p in k.split("."):
            cur = cur.get(p) if isinstance(cur, dict) else None
        if (str(cur if cur is not None else "") == v) == neg:
            return False
    return True


def selector_of(match: dict[str, Any] | None) -> str:
    """A LabelSelector (matchLabels/matchExpressions) or a plain map as selector text."""
    if not match:
        return ""
    if "matchLabels" in match or "matchExpressions" in match:
        terms = [f"{k}={v}" for k, v in (match.get("matchLabels") or {}).items()]
        for e in match.get("matchExpressions") or []:
            op = e["operator"]
            if op in ("In", "NotIn"):
                terms.append(f"{e['key']} {op.lower()} ({','.join(e.get('values', []))})")
            elif op == "Exists":
                terms.append(e["key"])
            else:
                terms.append("!" + e["key"])
        return ",".join(terms)
    return ",".join(f"{k}={v}" for k, v in match.items())
