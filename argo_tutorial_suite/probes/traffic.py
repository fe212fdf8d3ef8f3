"""Traffic through the ingress: which version answers on a host, counted over a sampling window.

A response body is classified by the greeting the app version prints (:data:`VERSIONS`); the counts
per version go into the step's evidence and the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx

from argo_tutorial_suite.verdicts.waits import Seen

GREETINGS = {"v1": "Hello, World!", "v2": "Hello, World v2!", "v3": "Hello, World v3!"}


def version_of(body: str) -> str:
    for v, text in GREETINGS.items():
        if body.strip() == text:
            return v
    return f"other({body.strip()[:40]!r})"


def sample(get: Callable[[], httpx.Response], n: int) -> Counter[str]:
    """``n`` requests; the Counter of versions (``HTTP <code>`` for non-2xx, ``error`` for no answer)."""
    out: Counter[str] = Counter()
    for _ in range(n):
        try:
            r = get()
        except httpx.HTTPError as e:
            out[f"error: {type(e).__name__}"] += 1
            continue
        out[version_of(r.text) if r.status_code == 200 else f"HTTP {r.status_code}"] += 1
    return out


def only(
    get: Callable[[], httpx.Response], version: str, n: int = 8, tally: Counter[str] | None = None
) -> Callable[[], Seen]:
    """A probe: every one of ``n`` requests answers ``version``. ``tally`` (when given) adds up every answer the
    probe saw, across its calls, for the evidence of a wait that never settled."""

    def probe() -> Seen:
        counts = sample(get, n)
        if tally is not None:
            tally.update(counts)
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        if set(counts) == {version}:
            return Seen.ok(detail, counts=dict(counts))
        return Seen.pending(detail, counts=dict(counts))

    return probe


def consistently_only(
    get: Callable[[], httpx.Response], version: str, n: int = 8, tally: Counter[str] | None = None
) -> Callable[[], Seen]:
    """Like :func:`only`, but any other answer is a failure (for ``expect_consistently``)."""
    inner = only(get, version, n, tally)

    def probe() -> Seen:
        seen = inner()
        return seen if seen.state.value == "ok" else Seen.failed(seen.detail, **seen.evidence)

    return probe
