"""Credentials found by what they are, wherever they sit: the token formats their issuers publish, in any string
of any object (a ConfigMap value, an env value, an annotation, a Workflow's script), in a Secret's base64 ``data``
once decoded, and the registry credentials of a ``.dockerconfigjson``. A value is never printed: only the format,
the object and the field path.

Formats (each issuer's documentation): GitHub "About authentication to GitHub" (``ghp_``, ``gho_``, ``ghu_``,
``ghs_``, ``ghr_`` and ``github_pat_``); GitLab "Token prefixes" (``glpat-`` and the other ``gl...-`` prefixes);
Slack "Token types" (``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxr-``, ``xoxs-``, ``xoxe-``) and incoming webhook URLs;
AWS IAM "Unique identifiers" (access key IDs ``AKIA``/``ASIA``); PEM private key blocks (RFC 7468); Docker's
``config.json`` (``auths.<registry>.auth``, ``password``, ``identitytoken``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from argo_tutorial_suite.objects import Obj, kind, ref
from argo_tutorial_suite.static.credentials import formats_in
from argo_tutorial_suite.static.engine import Bundle, rule
from argo_tutorial_suite.static.findings import Finding

DOCKER_CONFIG_KEYS = (".dockerconfigjson", ".dockercfg", "config.json")


def registry_credentials(text: str) -> bool:
    """Whether a Docker config (``config.json`` or ``.dockercfg``) holds a credential for some registry."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return False
    auths = doc.get("auths", doc) if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return False
    return any(
        isinstance(entry, dict) and any(entry.get(k) for k in ("auth", "password", "identitytoken", "registrytoken"))
        for entry in auths.values()
    )


def decoded(value: str) -> str | None:
    """A Secret ``data`` value decoded (None when it is not base64 text)."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string under ``value`` with its field path (iterative: a deep object cannot exhaust the stack)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, str):
            yield p, v
        elif isinstance(v, dict):
            stack.extend((x, f"{p}.{k}" if p else str(k)) for k, x in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend((x, f"{p}[{i}]") for i, x in reversed(list(enumerate(v))))


def credentials(o: Obj) -> Iterator[tuple[str, str]]:
    """(field path, what it holds) for each credential in an object."""
    data = o.get("data") if kind(o) == "Secret" and isinstance(o.get("data"), dict) else {}
    for path, text in strings(o):
        top, _, key = path.partition(".")
        if top == "data" and data:
            text = decoded(text) or text
        for what in formats_in(text):
            yield path, what
        if key in DOCKER_CONFIG_KEYS and top in ("data", "stringData") and registry_credentials(text):
            yield path, "registry credentials (a Docker config with an auth, password or token)"


def _docker_config(o: Obj) -> bool:
    return any(isinstance(o.get(part), dict) and any(k in o[part] for k in DOCKER_CONFIG_KEYS)
               for part in ("data", "stringData"))  # fmt: skip


@rule("SECRET-VALUE")
def secret_values(b: Bundle) -> Iterator[Finding]:
    """A credential committed in any object, found by its published format (never printed)."""
    for s in b.sources:
        if s.file in b.token_free and kind(s.obj) != "Secret" and not _docker_config(s.obj):
            continue  # its file's text holds no token format (Secrets and Docker configs are always looked into)
        for path, what in credentials(s.obj):
            yield Finding(
                "SECRET-VALUE",
                ref(s.obj),
                f"{path} holds {what} (value not shown)",
                "revoke it now (it is in Git history), then take it from a Secret created out of band",
                s.file,
            )
    for file, text in b.code.items():
        for what in formats_in(text):
            yield Finding("SECRET-VALUE", file, f"holds {what} (value not shown)",
                          "revoke it now (it is in Git history), then read it from the environment", file)  # fmt: skip
