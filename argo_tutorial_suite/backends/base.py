"""The surfaces the scenarios see: a :class:`Cluster` (kind, the sim and an existing cluster) and the
:class:`World` a run owns on top of it (kind and the sim).

The scenario code never asks which backend it runs on (``design.md``): it gets a Kubernetes client,
HTTP through the ingress by Host header, a git remote to push to and the URL the cluster clones from,
the registry prefix images are named with, the Argo CD API base URL, and diagnostics. ``label`` goes
into every report line, so a simulated verdict can never pass for a real one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import httpx

from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.backends.install import StepOutcome
from argo_tutorial_suite.kube import Kube
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.tutorial.profiles import PLACEHOLDERS, TUTORIAL_PLACEHOLDERS
from argo_tutorial_suite.verdicts.components import Ran


class Cluster(Protocol):
    """A cluster the suite reads: the kube client, logs and diagnostics, the Argo CD API, teardown. Kind, the sim
    and a participant's existing cluster (:mod:`argo_tutorial_suite.live`) all implement it."""

    name: str  # "kind", "sim", "existing"

    @property
    def label(self) -> str:
        """``real (kind v0.30.0, ...)``, ``simulated`` or ``existing (...)``: printed on every verdict line."""
        ...

    @property
    def kube(self) -> Kube: ...

    def argocd_api(self) -> AbstractContextManager[str]:
        """A base URL (``https://127.0.0.1:N``) of the Argo CD API server, open for the ``with`` block."""
        ...

    def list_objects(self, namespaces: Iterable[str]) -> list[Obj]: ...

    def list_events(self, namespaces: Iterable[str]) -> list[Obj]: ...

    def pod_logs(self, namespace: str, selector: str, tail: int) -> dict[str, str]: ...

    def diagnostics(self, dest: Path, namespaces: list[str]) -> str:
        """Write artifacts under ``dest``; return the report section (redacted)."""
        ...

    def close(self, failed: bool) -> str:
        """Tear down what was started; return a line for the terminal summary."""
        ...


class World(Cluster, Protocol):
    """A world the suite owns for a run (kind or sim), on top of its cluster: the git server, the registry, traffic
    through the ingress, the install and its outcomes, what ran in place of what, the local ACME server.
    ``mypy --strict`` checks each backend against it where the factory returns it (``tests/test_backend_contract``)."""

    simulated: bool
    install_outcomes: list[StepOutcome]

    @property
    def registry(self) -> str:
        """Image-name prefix that build pods push to and nodes pull from."""
        ...

    @property
    def registry_push(self) -> str:
        """Where the test process pushes images (``host:port``)."""
        ...

    def substitutions(self) -> dict[str, str]:
        """Placeholder -> value: the only edits made to the tutorial's files (:func:`substitutions_for`)."""
        ...

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
        """A request to ``host`` through the ingress controller (Host header / SNI), as a browser would."""
        ...

    def git_remote(self, repo: str) -> str:
        """The URL the test process pushes ``repo`` to."""
        ...

    def git_url(self, repo: str) -> str:
        """The URL the cluster (Argo CD, workflow git artifacts) clones ``repo`` from."""
        ...

    def argocd_cluster_url(self) -> str:
        """What a workflow pod uses to reach argocd-server."""
        ...

    def argocd_password(self) -> str:
        """The initial admin password (registered with the redactor before it is returned)."""
        ...

    def acme(self) -> tuple[str, bytes, str] | None:
        """The local ACME server: (directory URL, its CA bundle, the issuing root), started on first use."""
        ...

    def cannot(self, what: Capability) -> str | None:
        """None when the backend models ``what``, else the reason (:class:`Capability`)."""
        ...

    def ran(self) -> Mapping[str, Ran]:
        """component -> what ran for it where that is not simply its pinned release as users pull it (images
        built here with their recorded relation, stand-ins); a step decided by one that is not the release
        reads "not verified here" (:mod:`argo_tutorial_suite.verdicts.components`)."""
        ...

    def node_config(self) -> dict[str, Any] | None:
        """The kind config the cluster was created from, when there is one."""
        ...

    def node_read(self, node: str, path: str) -> str:
        """A file on a node."""
        ...


Backend = World  # what the scenarios, the flow and the plugin use


def ingress_request(
    client: httpx.Client,
    base: str,
    host: str,
    path: str,
    method: str = "GET",
    sni: bool = False,
    timeout: float = 10,
    **kw: Any,
) -> httpx.Response:
    """Send to ``base`` (the ingress address) with ``Host: host``; for HTTPS also set the SNI name
    (httpcore honours the ``sni_hostname`` extension)."""
    extensions = {"sni_hostname": host} if sni else None
    headers = {**dict(kw.pop("headers", None) or {}), "Host": host}
    return client.request(
        method, base.rstrip("/") + path, headers=headers, extensions=extensions, timeout=timeout, **kw
    )


def http_through_ingress(
    default: httpx.Client,
    http_port: int,
    https_port: int,
    host: str,
    path: str,
    scheme: str,
    method: str,
    timeout: float,
    verify: Any,
    **kw: Any,
) -> httpx.Response:
    """The ``http`` of every backend: to the ingress's mapped port; ``verify`` an SSLContext to check the
    served certificate (default: not checked, as for the tutorial's placeholder hosts)."""
    port = https_port if scheme == "https" else http_port
    client = default if verify is None else httpx.Client(verify=verify)
    try:
        return ingress_request(
            client, f"{scheme}://127.0.0.1:{port}", host, path, method, sni=scheme == "https", timeout=timeout, **kw
        )
    finally:
        if verify is not None:
            client.close()


def substitutions_for(registry: str, git_base: str) -> dict[str, str]:
    """Placeholder -> value, the only edits made to the tutorial's files: the corrected profile's
    ``*.argo-tutorial.test`` addresses, the tutorial's own registry placeholders and its code repository
    URL. Host names stay as written (the ingress routes by Host header)."""

    subs = {PLACEHOLDERS["registry"]: registry, PLACEHOLDERS["git"]: git_base}
    for reg in TUTORIAL_PLACEHOLDERS["registries"]:
        subs[reg] = registry
    for url in TUTORIAL_PLACEHOLDERS["git"]:
        subs[url] = f"{git_base}/code.git"
    return subs
