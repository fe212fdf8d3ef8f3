"""A stand-in backend with every member of the contract, for the mypy check in ``test_backend_contract``
(the test removes one member and expects mypy to refuse the assignment)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.backends.install import StepOutcome
from argo_tutorial_suite.kube import Kube
from argo_tutorial_suite.verdicts.components import Ran

__all__ = ["Backend", "StandIn"]


class StandIn:
    name = "standin"
    simulated = True
    install_outcomes: list[StepOutcome] = []  # noqa: RUF012
    label = "stand-in"

    @property
    def kube(self) -> Kube:
        raise NotImplementedError

    @property
    def registry(self) -> str:
        return "r:5000"

    @property
    def registry_push(self) -> str:
        return "127.0.0.1:5000"

    def substitutions(self) -> dict[str, str]:
        return {}

    def http(
        self,
        host: str,
        path: str = "/",
        *,
        scheme: str = "http",
        method: str = "GET",
        timeout: float = 10,
        verify: Any = None,
        **kw: Any,
    ) -> httpx.Response:
        raise NotImplementedError

    def git_remote(self, repo: str) -> str:
        return repo

    def git_url(self, repo: str) -> str:
        return repo

    @contextmanager
    def argocd_api(self) -> Iterator[str]:
        yield "https://127.0.0.1:1"

    def argocd_cluster_url(self) -> str:
        return ""

    def argocd_password(self) -> str:
        return ""

    def acme(self) -> tuple[str, bytes, str] | None:
        return None

    def cannot(self, what: Capability) -> str | None:
        return None

    def ran(self) -> dict[str, Ran]:
        return {}

    def node_config(self) -> dict[str, Any] | None:
        return None

    def node_read(self, node: str, path: str) -> str:
        return ""

    def list_objects(self, namespaces: Iterable[str]) -> list[dict[str, Any]]:
        return []

    def list_events(self, namespaces: Iterable[str]) -> list[dict[str, Any]]:
        return []

    def pod_logs(self, namespace: str, selector: str, tail: int) -> dict[str, str]:
        return {}

    def diagnostics(self, dest: Path, namespaces: list[str]) -> str:
        return ""

    def close(self, failed: bool) -> str:
        return ""
