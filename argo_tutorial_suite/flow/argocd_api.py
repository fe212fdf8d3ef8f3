"""Argo CD's REST API as the tutorial uses it, and the version rules it depends on (one place for both the
suite's client and the simulated argocd-server).

* ``POST /api/v1/session`` -> a bearer token; ``POST /api/v1/applications/{name}/sync``;
  ``GET``/``POST .../resource/actions``; ``GET .../managed-resources`` (swagger ``ApplicationService``).
* From v2.10 a non-GET ``/api/`` call must carry ``Content-Type: application/json`` (else ``415 Invalid content
  type``; argo-cd ``server/server.go``, the content-type check of the grpc-gateway mux).
* From v3.1 a resource action runs through ``POST .../resource/actions/v2`` with a JSON body; before, through
  ``POST .../resource/actions`` with the action name as a JSON string and the resource in the query.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.verdicts.waits import Seen, WaitFailed, expect, timeout_for

SYNC_BUSY = "another operation is already in progress"
CACHE_UNAVAILABLE = "error getting cached app state"  # argocd-server: util/cache/appstate, a redis error


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.lstrip("v").split(".")[:3])


def json_content_type_required(version: str) -> bool:
    return version_tuple(version) >= (2, 10, 0)


def actions_v2(version: str) -> bool:
    return version_tuple(version) >= (3, 1, 0)


@dataclass
class ArgoCD:
    """A logged-in client: ``with ArgoCD.login(base, password, version) as api: api.sync(app)``."""

    base: str
    client: httpx.Client
    token: str
    version: str

    @classmethod
    @contextmanager
    def login(cls, base: str, password: str, version: str) -> Iterator[ArgoCD]:
        REDACTOR.register(password)
        with httpx.Client(verify=False, timeout=30) as c:
            r = c.post(f"{base}/api/v1/session", json={"username": "admin", "password": password})
            if r.status_code != 200:
                raise AssertionError(f"Argo CD login answered {r.status_code}: {r.text[:200]}")
            token = str(r.json()["token"])
            REDACTOR.register(token)
            yield cls(base, c, token, version)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def sync(self, app: str, busy_retry: float = 30) -> None:
        """What the UI's SYNC button sends; while another operation runs, retried for ``busy_retry`` seconds."""
        deadline = time.monotonic() + busy_retry
        while True:
            r = self.client.post(
                f"{self.base}/api/v1/applications/{app}/sync",
                json={"revision": "HEAD", "prune": False, "dryRun": False},
                headers=self.headers,
            )
            if r.status_code == 200:
                return
            if SYNC_BUSY in r.text and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            raise AssertionError(f"sync request answered {r.status_code}: {r.text[:200]}")

    def managed_resources(self, app: str) -> list[Obj]:
        """``GET .../managed-resources``: each resource's target, live and normalized states (Argo CD's diff)."""
        r = self.client.get(f"{self.base}/api/v1/applications/{app}/managed-resources", headers=self.headers)
        if r.status_code != 200:
            raise AssertionError(f"managed-resources answered {r.status_code}: {r.text[:200]}")
        return list(r.json().get("items") or [])

    def _listed(self, url: str, resource: dict[str, str]) -> httpx.Response:
        """The actions listing; while argocd-server cannot read the app's cached state (a 5xx, ``error getting
        cached app state: EOF``: its redis not answering, seen on kind here) it is asked again, bounded (``api``),
        as a user clicking the action again would; anything else is the answer. A redis that never answers still
        fails the step, with argocd-server's last answer."""
        last: list[httpx.Response] = []

        def probe() -> Seen:
            last[:] = [self.client.get(url, params=resource, headers=self.headers)]
            if last[0].status_code >= 500 and CACHE_UNAVAILABLE in last[0].text:
                return Seen.pending(f"{last[0].status_code}: {last[0].text[:120]}")
            return Seen.ok(str(last[0].status_code))

        try:
            expect(probe, f"Argo CD lists the {resource.get('kind')}'s resource actions", timeout_for("api"))
        except WaitFailed:
            pass  # the last answer speaks for itself below
        return last[0]

    def run_action(self, app: str, action: str, resource: dict[str, str]) -> None:
        """A resource action offered (and enabled) on ``resource``, the way this Argo CD version takes it."""
        url = f"{self.base}/api/v1/applications/{app}/resource/actions"
        listed = self._listed(url, resource)
        enabled = (
            {a["name"]: not a.get("disabled") for a in listed.json().get("actions") or []}
            if listed.status_code == 200
            else {}
        )
        if not enabled.get(action):
            raise AssertionError(
                f"Argo CD offers no enabled '{action}' action on the {resource.get('kind')} "
                f"({listed.status_code}: {listed.text[:200]})"
            )
        if actions_v2(self.version):
            r = self.client.post(
                f"{url}/v2", json={**resource, "action": action, "resourceActionParameters": []}, headers=self.headers
            )
        else:
            r = self.client.post(url, params=resource, json=action, headers=self.headers)
        if r.status_code != 200:
            raise AssertionError(f"the {action} action answered {r.status_code}: {r.text[:200]}")
