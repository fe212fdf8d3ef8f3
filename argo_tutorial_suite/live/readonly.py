"""A Kubernetes API client that reads: GET on lists, objects and pod logs (the one other verb is the ``--probe``
delivery, a POST to a Service through the API server's proxy, refused on any other path, and the removal of the
Workflow it started), each call bounded by a connect and a read timeout and by the participant's deadline.

Secrets are listed as metadata only (``PartialObjectMetadataList``, the API server's own projection), so a
Secret's values never reach this process. Each failure is an :class:`ApiProblem` with one line a person can act on
(unreachable, timed out, 401, 403, not found), never a traceback.
"""

from __future__ import annotations

import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from argo_tutorial_suite.live.kubeconfig import Target, scratch
from argo_tutorial_suite.objects import Obj

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # one list: a tutorial's namespaces hold far less

# kind -> (API path prefix, plural): the kinds the tutorial's steps are judged by (Kubernetes API reference; the
# CRDs of Argo CD, Rollouts, Workflows, Events and cert-manager)
RESOURCES: dict[tuple[str, str], str] = {
    ("v1", "Pod"): "pods",
    ("v1", "Service"): "services",
    ("v1", "Secret"): "secrets",
    ("v1", "Event"): "events",
    ("v1", "Namespace"): "namespaces",
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "Node"): "nodes",
    ("apps/v1", "Deployment"): "deployments",
    ("apps/v1", "StatefulSet"): "statefulsets",
    ("apps/v1", "DaemonSet"): "daemonsets",
    ("apps/v1", "ReplicaSet"): "replicasets",
    ("batch/v1", "Job"): "jobs",
    ("networking.k8s.io/v1", "Ingress"): "ingresses",
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): "validatingwebhookconfigurations",
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"): "mutatingwebhookconfigurations",
    ("argoproj.io/v1alpha1", "Application"): "applications",
    ("argoproj.io/v1alpha1", "Rollout"): "rollouts",
    ("argoproj.io/v1alpha1", "Workflow"): "workflows",
    ("argoproj.io/v1alpha1", "EventSource"): "eventsources",
    ("argoproj.io/v1alpha1", "Sensor"): "sensors",
    ("argoproj.io/v1alpha1", "EventBus"): "eventbus",
    ("cert-manager.io/v1", "Issuer"): "issuers",
    ("cert-manager.io/v1", "ClusterIssuer"): "clusterissuers",
    ("cert-manager.io/v1", "Certificate"): "certificates",
    ("acme.cert-manager.io/v1", "Challenge"): "challenges",
}
CLUSTER_SCOPED = {
    "Namespace",
    "Node",
    "ClusterIssuer",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}
ENCODING_HEADERS = ("content-encoding", "content-length", "transfer-encoding")
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True)
class ApiProblem(Exception):
    """Why a read failed, in one line (``kind``: unreachable, timeout, unauthorized, forbidden, not-found, error)."""

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


def _path(api_version: str, kind: str, namespace: str | None) -> str:
    plural = RESOURCES.get((api_version, kind))
    if plural is None:
        raise ApiProblem("error", f"{kind} ({api_version}) is not a kind the live check reads")
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespace and kind not in CLUSTER_SCOPED:
        return f"{prefix}/namespaces/{namespace}/{plural}"
    return f"{prefix}/{plural}"


def _ssl_context(target: Target) -> ssl.SSLContext | bool:
    if target.insecure:
        return False
    ctx = ssl.create_default_context(cadata=target.ca_pem.decode() if target.ca_pem else None)
    if target.client_cert_pem and target.client_key_pem:
        with scratch() as tmp:  # the TLS library loads a key pair from files only; they are removed at once
            cert, key = Path(tmp) / "c.crt", Path(tmp) / "c.key"
            cert.write_bytes(target.client_cert_pem)
            key.touch(mode=0o600)
            key.write_bytes(target.client_key_pem)
            ctx.load_cert_chain(str(cert), str(key))
    return ctx


class ReadOnlyKube:
    """GET only, against one participant's API server, within ``deadline`` seconds in all."""

    def __init__(self, target: Target, deadline: float = 20.0, read_timeout: float = READ_TIMEOUT) -> None:
        self.target = target
        self.calls = 0
        self._until = time.monotonic() + deadline
        headers = {"Accept": "application/json", "User-Agent": "argo-tutorial-live (read-only)"}
        if target.token:
            headers["Authorization"] = f"Bearer {target.token}"
        try:
            verify = _ssl_context(target)
        except (ssl.SSLError, ValueError, OSError) as e:
            raise ApiProblem("error", f"the kubeconfig's certificates cannot be used: {e}") from e
        self._http = httpx.Client(
            base_url=target.server,
            headers=headers,
            verify=verify,
            auth=target.basic,
            timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
        )

    def extend(self, seconds: float) -> None:
        """More time for this cluster (``--probe`` follows what it starts for longer than the reads take)."""
        self._until = max(self._until, time.monotonic() + seconds)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ReadOnlyKube:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, str] | None = None, accept: str | None = None) -> httpx.Response:
        left = self._until - time.monotonic()
        if left <= 0:
            raise ApiProblem("timeout", f"{self.target.server}: the check's deadline passed before GET {path}")
        self.calls += 1
        timeout = httpx.Timeout(min(READ_TIMEOUT, left), connect=min(CONNECT_TIMEOUT, left))
        try:
            with self._http.stream(
                "GET", path, params=params, headers={"Accept": accept} if accept else None, timeout=timeout
            ) as r:
                body = b""
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise ApiProblem("error", f"GET {path}: over {MAX_RESPONSE_BYTES:,} bytes")
                    if time.monotonic() > self._until:
                        raise ApiProblem("timeout", f"GET {path}: the check's deadline passed while reading")
                # the body is decoded already (a real API server gzips its lists): its encoding headers go
                plain = [(k, v) for k, v in r.headers.items() if k.lower() not in ENCODING_HEADERS]
                return httpx.Response(r.status_code, headers=plain, content=body, request=r.request)
        except httpx.ConnectTimeout as e:
            raise ApiProblem(
                "unreachable", f"{self.target.server}: no connection within {CONNECT_TIMEOUT:.0f} s"
            ) from e
        except httpx.TimeoutException as e:
            raise ApiProblem(
                "timeout", f"{self.target.server}: GET {path} got no answer within {timeout.read:.0f} s"
            ) from e
        except httpx.ConnectError as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            if "CERTIFICATE_VERIFY_FAILED" in reason:
                raise ApiProblem(
                    "unreachable", f"{self.target.server}: its certificate is not the kubeconfig's CA's ({reason})"
                ) from e
            reason = re.sub(r"^\[Errno -?\d+\] ", "", reason)
            raise ApiProblem("unreachable", f"server {self.target.server} does not answer ({reason})") from e
        except httpx.HTTPError as e:
            raise ApiProblem("unreachable", f"{self.target.server}: {type(e).__name__}: {e}") from e

    def _json(self, path: str, params: dict[str, str] | None = None, accept: str | None = None) -> Any:
        r = self._get(path, params, accept)
        if r.status_code == 401:
            raise ApiProblem(
                "unauthorized", f"401 Unauthorized: the kubeconfig's credentials are refused by {self.target.server}"
            )
        if r.status_code == 403:
            raise ApiProblem("forbidden", f"403 Forbidden: may not read {path} ({_reason(r)})")
        if r.status_code == 404:
            raise ApiProblem("not-found", f"404: {path} is not served (its CRD is not installed)")
        if r.status_code >= 400:
            raise ApiProblem("error", f"{r.status_code} on GET {path}: {_reason(r)}")
        try:
            return r.json()
        except ValueError as e:
            raise ApiProblem(
                "error", f"GET {path}: the answer is not JSON (is {self.target.server} a Kubernetes API server?)"
            ) from e

    def version(self) -> dict[str, Any]:
        data = self._json("/version")
        return data if isinstance(data, dict) else {}

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[Obj]:
        params = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector)) if v}
        accept = METADATA_ONLY if kind == "Secret" else None
        data = self._json(_path(api_version, kind, namespace), params or None, accept)
        items = data.get("items") if isinstance(data, dict) else None
        out = []
        for item in items or []:
            if isinstance(item, dict):
                if kind == "Secret":  # metadata only, whatever the server sent
                    item = {"metadata": item.get("metadata") or {}}
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                out.append(item)
        return out

    def through_proxy(self, namespace: str, service: str) -> int:
        """The HTTP status a Service answers a GET with, through the API server's proxy (``scheme:name:port``
        in ``service``): how the UIs the tutorial port-forwards are reached without kubectl."""
        r = self._get(f"/api/v1/namespaces/{namespace}/services/{service}/proxy/")
        if r.status_code in (401, 403):
            raise ApiProblem("forbidden", f"{r.status_code} on the proxy to {namespace}/{service}: {_reason(r)}")
        return r.status_code

    def post_through_proxy(self, path: str, headers: dict[str, str], content: bytes, timeout: float) -> httpx.Response:
        """The one write, for ``--probe`` only: a POST to a Service through the API server's proxy
        (``/api/v1/namespaces/NS/services/NAME:PORT/proxy/...``); any other path is refused here."""
        if not (path.startswith("/api/v1/namespaces/") and "/services/" in path and "/proxy" in path):
            raise ApiProblem("error", f"not a service proxy path: {path}")
        self.calls += 1
        return self._http.post(path, headers=headers, content=content, timeout=timeout)

    def delete_probe_workflow(self, namespace: str, name: str) -> None:
        """``--probe`` only: remove the Workflow its delivery started (a Workflow, by name, nothing else)."""
        self.calls += 1
        r = self._http.delete(
            f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows/{name}", timeout=READ_TIMEOUT
        )
        if r.status_code >= 400 and r.status_code != 404:
            raise ApiProblem("forbidden" if r.status_code == 403 else "error", f"{r.status_code}: {_reason(r)}")

    def logs(self, namespace: str, pod: str, container: str | None = None, tail: int = 200) -> str:
        params = {"tailLines": str(tail), "limitBytes": str(256 * 1024)}
        if container:
            params["container"] = container
        r = self._get(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params)
        if r.status_code >= 400:
            raise ApiProblem(
                "forbidden" if r.status_code == 403 else "error",
                f"{r.status_code} on the logs of {namespace}/{pod}: {_reason(r)}",
            )
        return r.text


def _reason(r: httpx.Response) -> str:
    try:
        data = r.json()
        return str(data.get("message") or data.get("reason") or r.reason_phrase)[:300]
    except ValueError:
        return r.reason_phrase or r.text[:200]
