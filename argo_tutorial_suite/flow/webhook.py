"""Firing the tutorial's webhook as a provider sends it: through the ingress, on the webhook host.

GitHub (what the tutorial tells readers to register) sends ``X-GitHub-Event: push`` with JSON (when the
hook's content type is ``application/json``); the tutorial's Sensor reads the Bitbucket Cloud shape
(``push.changes[0].new.target.hash``). Both payloads come from :mod:`argo_tutorial_suite.tutorial.payloads`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.tutorial import payloads

PROVIDERS = ("github", "bitbucket")


def delivery(provider: str, sha: str) -> tuple[dict[str, str], dict[str, Any]]:
    if provider == "github":
        return payloads.github_push(sha)
    if provider == "bitbucket":
        return payloads.bitbucket_push(sha)
    raise ValueError(f"unknown webhook provider {provider!r}: choose one of {', '.join(PROVIDERS)}")


def fire(backend: Backend, host: str, provider: str, sha: str, path: str = "/") -> tuple[httpx.Response, int]:
    """POST the push delivery to ``host`` through the ingress (HTTPS, as a provider would); return the
    response and the time in ms, to match ``events.argoproj.io/action-timestamp`` of what it triggers."""
    headers, body = delivery(provider, sha)
    sent_ms = int(time.time() * 1000)
    r = backend.http(
        host, path, scheme="https", method="POST", headers=headers, content=json.dumps(body).encode(), timeout=30
    )
    return r, sent_ms
