"""The tutorial's ACME Issuers pointed at a local ACME server (pure edits of the manifests): the only change made to
them, as cert-manager's own e2e does for Pebble. Both backends serve such a server (kind in the cluster, the sim
on loopback), and the flow edits the reader's files the same way."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml


def issuer_for_pebble(issuer: dict[str, Any], server: str, ca_pem: bytes) -> dict[str, Any]:
    """The only edit made to the tutorial's Issuer for a local ACME server: ``spec.acme.server`` and a
    ``caBundle`` (cert-manager e2e does the same with Pebble)."""
    out = copy.deepcopy(issuer)
    out["spec"]["acme"]["server"] = server
    out["spec"]["acme"]["caBundle"] = base64.b64encode(ca_pem).decode()
    return out


def set_issuer_ca(directory: Path, ca_pem: bytes, server: str | None = None) -> int:
    """Give every ACME Issuer in ``directory``'s YAML files the local ACME server's CA bundle (and ``server`` when
    given), as cert-manager's e2e does for Pebble (:func:`issuer_for_pebble`); returns how many."""
    n = 0
    for p in sorted(directory.glob("*.y*ml")):
        docs = list(yaml.safe_load_all(p.read_text()))
        changed = False
        for i, d in enumerate(docs):
            if isinstance(d, dict) and d.get("kind") == "Issuer" and ((d.get("spec") or {}).get("acme")):
                acme = d["spec"]["acme"]
                docs[i] = issuer_for_pebble(d, server or acme["server"], ca_pem)
                changed, n = True, n + 1
        if changed:
            p.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return n
