"""Participants' clusters from kubeconfig files, as kubectl reads them (pure, no network).

A target is one context: its API server, how to trust it (``certificate-authority(-data)`` or
``insecure-skip-tls-verify``) and how to log in (a bearer ``token``/``tokenFile``, a client certificate, or basic
auth). An ``exec`` or ``auth-provider`` user (cloud plugins) runs a program: the live check never runs one, and
says so for that participant. Paths in a kubeconfig are relative to its file, as kubectl resolves them.
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Target:
    """One participant's cluster: a kubeconfig context."""

    name: str  # what the board calls the participant: the file's stem, and the context when a file has several
    server: str
    source: str  # file (and context) it came from
    ca_pem: bytes | None = None
    insecure: bool = False
    token: str | None = field(default=None, repr=False)
    client_cert_pem: bytes | None = field(default=None, repr=False)
    client_key_pem: bytes | None = field(default=None, repr=False)
    basic: tuple[str, str] | None = field(default=None, repr=False)
    problem: str | None = None  # why it cannot be checked (then only this is reported)


def _bytes(entry: dict[str, Any], key: str, base: Path) -> bytes | None:
    """``key-data`` (base64) or ``key`` (a file, relative to the kubeconfig's folder)."""
    if entry.get(f"{key}-data"):
        try:
            return base64.b64decode(str(entry[f"{key}-data"]), validate=True)
        except (ValueError, TypeError) as e:
            raise KubeconfigError(f"{key}-data is not base64 ({e})") from e
    if entry.get(key):
        path = Path(str(entry[key]))
        path = path if path.is_absolute() else base / path
        try:
            return path.read_bytes()
        except OSError as e:
            raise KubeconfigError(f"{key} {path}: {e.strerror or e}") from e
    return None


def _named(items: Any, name: str, what: str) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            body = item.get(what)
            return body if isinstance(body, dict) else {}
    raise KubeconfigError(f"no {what} named {name!r}")


def _target(doc: dict[str, Any], context: str, path: Path, label: str) -> Target:
    base = path.parent
    try:
        ctx = _named(doc.get("contexts"), context, "context")
        cluster = _named(doc.get("clusters"), str(ctx.get("cluster", "")), "cluster")
        user = _named(doc.get("users"), str(ctx.get("user", "")), "user") if ctx.get("user") else {}
        server = str(cluster.get("server", "")).rstrip("/")
        if not server.startswith(("https://", "http://")):
            raise KubeconfigError(f"cluster server {server!r} is not an http(s) URL")
        if user.get("exec") or user.get("auth-provider"):
            plugin = "exec" if user.get("exec") else "auth-provider"
            return Target(label, server, f"{path} context {context}",
                          problem=f"user {ctx.get('user')!r} logs in through an {plugin} plugin, which the live "
                                  "check never runs: give a kubeconfig with a token or a client certificate")  # fmt: skip
        token = user.get("token")
        if not token and user.get("tokenFile"):
            tf = Path(str(user["tokenFile"]))
            token = (tf if tf.is_absolute() else base / tf).read_text().strip()
        basic = (str(user["username"]), str(user.get("password", ""))) if user.get("username") else None
        return Target(
            label,
            server,
            f"{path} context {context}",
            ca_pem=_bytes(cluster, "certificate-authority", base),
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            token=str(token) if token else None,
            client_cert_pem=_bytes(user, "client-certificate", base),
            client_key_pem=_bytes(user, "client-key", base),
            basic=basic,
        )
    except (KubeconfigError, OSError) as e:
        return Target(label, "", f"{path} context {context}", problem=f"kubeconfig {path}, context {context}: {e}")


MAX_KUBECONFIG_BYTES = 1024 * 1024


def read(path: Path, contexts: list[str] | None = None, all_contexts: bool = False) -> list[Target]:
    """The targets of one kubeconfig file: its current context, the ``contexts`` asked for, or all of them. A
    file that cannot be read is one target with its problem (the other participants are still checked)."""
    label = path.stem if path.name != "config" else path.parent.name or "config"
    try:
        if path.stat().st_size > MAX_KUBECONFIG_BYTES:
            raise KubeconfigError(f"over {MAX_KUBECONFIG_BYTES:,} bytes: not a kubeconfig")
        doc = yaml.safe_load(path.read_text())
        if not isinstance(doc, dict) or not isinstance(doc.get("contexts"), list):
            raise KubeconfigError("no contexts: not a kubeconfig")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KubeconfigError) as e:
        return [Target(label, "", str(path), problem=f"kubeconfig {path}: {str(e).splitlines()[0]}")]
    names = [str(c.get("name")) for c in doc["contexts"] if isinstance(c, dict)]
    if contexts:
        wanted = [c for c in contexts if c in names]
        if not wanted:
            return [
                Target(
                    label,
                    "",
                    str(path),
                    problem=f"kubeconfig {path} has no context {', '.join(contexts)} (contexts in it: {', '.join(names)})",
                )
            ]
    elif all_contexts:
        wanted = names
    else:
        current = doc.get("current-context")
        if not current:
            if len(names) != 1:
                return [Target(label, "", str(path), problem=f"kubeconfig {path}: no current-context; give --context")]
            current = names[0]
        wanted = [str(current)]
    several = len(wanted) > 1
    return [_target(doc, c, path, f"{label}/{c}" if several else label) for c in wanted]


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder gives its files (sorted, not hidden): a workshop's folder of kubeconfigs."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        else:
            out.append(p)
    return out


def tls_files(target: Target, folder: Path) -> tuple[str | None, tuple[str, str] | None]:
    """(CA file, (cert file, key file)) written for the TLS library, which reads files (in ``folder``, which the
    caller removes)."""
    ca = cert = None
    if target.ca_pem:
        (folder / "ca.crt").write_bytes(target.ca_pem)
        ca = str(folder / "ca.crt")
    if target.client_cert_pem and target.client_key_pem:
        (folder / "client.crt").write_bytes(target.client_cert_pem)
        (folder / "client.key").write_bytes(target.client_key_pem)
        (folder / "client.key").chmod(0o600)
        cert = (str(folder / "client.crt"), str(folder / "client.key"))
    return ca, cert


def scratch() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="argo-live-")
