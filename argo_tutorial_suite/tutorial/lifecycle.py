"""Whether each component the tutorial installs is still maintained upstream: its repository's state and last
release through the GitHub REST API (``GET /repos/{owner}/{repo}``: ``archived``, ``pushed_at``;
``GET /repos/{owner}/{repo}/releases/latest``: ``tag_name``, ``published_at``), and the retirements announced for it.

A retirement is a fact with a source, recorded here once: an archived repository says the same thing after the
fact, and the drift job reads it every night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from argo_tutorial_suite.upstream import REPOS

if TYPE_CHECKING:  # httpx only when the drift job asks GitHub: the folder check's start-up does without it
    import httpx

GITHUB_API = "https://api.github.com"
STALE_AFTER_DAYS = 365  # no release for a year: said, not a failure


@dataclass(frozen=True)
class Retirement:
    announced: str  # ISO date
    by: str
    until: str  # the end of best-effort maintenance
    source: str
    migration: str


RETIRED: dict[str, Retirement] = {
    "ingress-nginx": Retirement(
        announced="2025-11-11",
        by="Kubernetes SIG Network and the Security Response Committee",
        until="March 2026",
        source="https://kubernetes.io/blog/2025/11/11/ingress-nginx-retirement/",
        migration="an Ingress controller that is maintained: Traefik v3.6+ serves the same Ingresses (class nginx, "
        "nginx.ingress.kubernetes.io annotations) with its Kubernetes Ingress NGINX provider; Gateway API longer term",
    ),
}


def retirement(component: str, on: date) -> Retirement | None:
    """The component's retirement when it was announced on or before ``on``."""
    r = RETIRED.get(component)
    return r if r is not None and date.fromisoformat(r.announced) <= on else None


@dataclass(frozen=True)
class Status:
    component: str
    repo: str
    archived: bool | None = None
    pushed_at: str | None = None
    latest: str | None = None
    published_at: str | None = None
    error: str = ""

    def days_since_release(self, today: date) -> int | None:
        if not self.published_at:
            return None
        return (today - datetime.fromisoformat(self.published_at.replace("Z", "+00:00")).date()).days

    def findings(self, today: date) -> list[str]:
        """What a maintainer of the tutorial must act on (empty: maintained, as far as the answers say)."""
        out = []
        r = retirement(self.component, today)
        if r is not None:
            out.append(f"{self.component} is retired (announced {r.announced} by {r.by}; best-effort maintenance "
                       f"until {r.until}, then no releases, bug fixes or security patches; {r.source}): "
                       f"move to {r.migration}")  # fmt: skip
        if self.archived:
            out.append(f"{self.repo} is archived on GitHub: no release or security fix will come from it")
        return out

    def line(self, today: date) -> str:
        if self.error:
            return f"{self.component} ({self.repo}): not verified here ({self.error})"
        age = self.days_since_release(today)
        release = (
            f"last release {self.latest} on {self.published_at[:10]}"
            if self.latest and self.published_at
            else "no release found"
        )
        stale = f" ({age} days ago: over a year)" if age is not None and age > STALE_AFTER_DAYS else ""
        state = "archived" if self.archived else "active"
        problems = self.findings(today)
        return f"{self.component} ({self.repo}): {state}, {release}{stale}" + (
            "; FINDING: " + "; ".join(problems) if problems else "")  # fmt: skip


ACCEPT = {"Accept": "application/vnd.github+json"}


def latest_release(client: httpx.Client, repo: str) -> dict[str, Any]:
    """``GET /repos/{repo}/releases/latest`` (``tag_name``, ``published_at``); an HTTP error raises."""
    r = client.get(f"{GITHUB_API}/repos/{repo}/releases/latest", headers=ACCEPT)
    r.raise_for_status()
    data: dict[str, Any] = r.json()
    return data


def status(components: list[str], client: httpx.Client) -> list[Status]:
    """Each component's upstream status through the GitHub API (an API error is "not verified here", never a
    verdict)."""
    import httpx

    out = []
    for c in components:
        repo = REPOS.get(c)
        if repo is None:
            continue
        try:
            r = client.get(f"{GITHUB_API}/repos/{repo}", headers=ACCEPT)
            r.raise_for_status()
            info = r.json()
            try:
                latest = latest_release(client, repo)
            except httpx.HTTPStatusError:  # no release published (404): said as "no release found"
                latest = {}
            out.append(Status(c, repo, bool(info.get("archived")), info.get("pushed_at"),
                              latest.get("tag_name"), latest.get("published_at")))  # fmt: skip
        except (httpx.HTTPError, ValueError, AttributeError) as e:
            out.append(Status(c, repo, error=f"GitHub API: {type(e).__name__}: {str(e)[:200]}"))
    return out


def offline(components: list[str]) -> list[Status]:
    """Without the network: only what is recorded here (the retirements), each status "not verified here"."""
    return [Status(c, REPOS[c], error="offline: pass --resolve-floating") for c in components if c in REPOS]


def markdown(statuses: list[Status], today: date) -> str:
    lines = ["## Upstream status", "", f"Each component the tutorial installs, as of {today.isoformat()}:", ""]
    lines += [f"- {s.line(today)}" for s in statuses]
    known = [f"- {c}: retired, announced {r.announced} by {r.by} ({r.source})" for c, r in RETIRED.items()
             if retirement(c, today) and c in {s.component for s in statuses}]  # fmt: skip
    if known:
        lines += ["", "Recorded retirements (reported whatever the API answers):", "", *known]
    return "\n".join(lines) + "\n"


def today_utc() -> date:
    return datetime.now(UTC).date()
