"""The simulated backend: the same surface as kind, played on this machine, labelled "simulated".

Started as one unit and stopped as one unit (:class:`~argo_tutorial_suite.backends.sim.procs.Procs`): the API
server, the real git server and registry, the twin controllers' loop, the Argo CD API, the ingress
listeners and every app process. "Install" registers the CRDs of the profile's component versions from
the real upstream manifests and creates what the installs create that the scenarios read (namespaces,
nodes, the Argo CD initial admin secret, the ``default`` AppProject); the tutorial's install commands
themselves are not run here and are reported as not verified.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends.base import http_through_ingress, substitutions_for
from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.backends.install import CommandOutcome, StepOutcome
from argo_tutorial_suite.backends.pool import BackendUnavailable
from argo_tutorial_suite.backends.sim import servers
from argo_tutorial_suite.backends.sim.apiserver import ApiHTTPServer, kubeconfig, make_store
from argo_tutorial_suite.backends.sim.pebble import Pebble, start_pebble
from argo_tutorial_suite.backends.sim.procs import Procs
from argo_tutorial_suite.backends.sim.store import Res
from argo_tutorial_suite.backends.sim.twins import Twin
from argo_tutorial_suite.backends.sim.twins.apps import Controllers, Kubelet, detect_unshare
from argo_tutorial_suite.backends.sim.twins.argocd import AppController, initial_admin_secret
from argo_tutorial_suite.backends.sim.twins.argocd_server import ApiServer
from argo_tutorial_suite.backends.sim.twins.certmanager import CertManager
from argo_tutorial_suite.backends.sim.twins.events import Events
from argo_tutorial_suite.backends.sim.twins.ingress import Ingress
from argo_tutorial_suite.backends.sim.twins.rollouts import Rollouts
from argo_tutorial_suite.backends.sim.twins.workflows import Workflows, detect_unshare_mount
from argo_tutorial_suite.backends.sim.world import Faults, Settings, World
from argo_tutorial_suite.kube import Kube, api_client
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tutorial.profiles import TRAEFIK, Profile
from argo_tutorial_suite.tutorial.stack import CONTROLLERS, NAMESPACES
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts.components import Ran
from argo_tutorial_suite.verdicts.diagnostics import write_artifacts

LABEL = "simulated"

# (component, upstream path) whose CustomResourceDefinitions the sim registers.
CRD_FILES: tuple[tuple[str, str], ...] = (
    ("argo-cd", "manifests/ha/install.yaml"),
    ("argo-rollouts", "manifests/crds/rollout-crd.yaml"),
    ("argo-workflows", "manifests/base/crds/minimal/argoproj.io_workflows.yaml"),
    ("argo-events", "manifests/install.yaml"),
)
CERT_MANAGER_CRDS = {
    "v1.11.0": ("deploy/crds/crd-issuers.yaml", "deploy/crds/crd-certificates.yaml"),
    "v1.21.1": ("deploy/crds/cert-manager.io_issuers.yaml", "deploy/crds/cert-manager.io_certificates.yaml"),
}
CERT_MANAGER_EXTRA = (
    Res("cert-manager.io", "v1", "certificaterequests", "CertificateRequest", short=("cr",)),
    Res("acme.cert-manager.io", "v1", "orders", "Order"),
    Res("acme.cert-manager.io", "v1", "challenges", "Challenge"),
)


@dataclass
class SimBackend:
    profile: Profile
    upstream: Upstream
    procs: Procs
    world: World
    api: ApiHTTPServer
    argocd: ApiServer
    ingress: Ingress
    twins: list[Twin]
    versions: dict[str, str]
    name: str = "sim"
    simulated: bool = True
    label: str = LABEL
    install_outcomes: list[StepOutcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _kube: Kube | None = None
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(verify=False))
    controller_errors: list[str] = field(default_factory=list)
    _loop: threading.Thread | None = None
    pebble: Pebble | None = None

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            kc = self.procs.root / "kubeconfig"
            kc.write_text(kubeconfig(self.api.url))
            self._kube = Kube(api_client(kc))
        return self._kube

    @property
    def registry(self) -> str:
        return self.world.registry.name

    @property
    def registry_push(self) -> str:
        return self.world.registry.address

    def cannot(self, what: Capability) -> str | None:
        """What the simulation does not model (:mod:`argo_tutorial_suite.backends.capabilities`)."""
        return {
            "node-config": "simulated: no kind nodes, no containerd configuration",
            "host-port": "simulated: pods have no hostPort on 127.0.0.1",
            "pod-command": "simulated: the kubelet twin runs only images pushed to the suite's registry",
            "ci-images": "simulated: the CI's steps run with this machine's Go, git and curl, not in their images "
            "(BuildKit, alpine/git, curl); `apk add` is not run (D32 cannot show)",
        }.get(what)

    def ran(self) -> dict[str, Ran]:
        """Nothing of the stack runs: every component is a twin, and every row says "simulated" already."""
        return {}

    def node_config(self) -> dict[str, Any] | None:
        """No kind config: the simulation has no nodes of its own."""
        return None

    def node_read(self, node: str, path: str) -> str:
        raise NotImplementedError("the simulation has no node file systems")

    def substitutions(self) -> dict[str, str]:
        return dict(self.world.substitutions)

    def git_remote(self, repo: str) -> str:
        return self.world.git.url(repo)

    def git_url(self, repo: str) -> str:
        return self.world.git.url(repo)

    def argocd_cluster_url(self) -> str:
        """What a pod uses to reach argocd-server (the value of the ``argocd-config`` secret)."""
        return self.argocd.url

    @contextmanager
    def argocd_api(self) -> Iterator[str]:
        yield self.argocd.url

    def argocd_password(self) -> str:
        return self.argocd.password

    def acme(self) -> tuple[str, bytes, str] | None:
        """(directory URL, CA bundle of the ACME server, root of what it issues): Debian's Pebble on loopback."""
        if self.pebble is None:
            return None
        return self.pebble.directory, self.pebble.ca_bundle.read_bytes(), self.pebble.root_pem()

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
        return http_through_ingress(
            self._http,
            self.ingress.http_port,
            self.ingress.https_port,
            host,
            path,
            scheme,
            method,
            timeout,
            verify,
            **kw,
        )

    # -- the controller loop --------------------------------------------------------------------------------
    def loop(self) -> None:
        rv = 0
        while not self._stop.is_set():
            for twin in self.twins:
                try:
                    twin.reconcile(self.world)
                except Exception:  # a controller logs and goes on, as upstream ones do
                    err = traceback.format_exc(limit=4)
                    if len(self.controller_errors) < 50:
                        self.controller_errors.append(err)
            # level-triggered: run again when the store changed, at most every 50 ms, at least every 0.5 s
            time.sleep(0.05)
            rv = self.world.store.wait_change(rv, 0.45)

    # -- diagnostics ------------------------------------------------------------------------------------------
    def list_objects(self, namespaces: Any) -> list[Obj]:
        out: list[Obj] = []
        for ns in namespaces:
            for res in list(self.world.store.resources.values()):
                if res.namespaced and res.kind not in ("Event", "Secret"):
                    out += self.world.store.list(res, ns)[0]
        return out

    def list_events(self, namespaces: Any) -> list[Obj]:
        return [e for ns in namespaces for e in self.world.list("v1", "Event", ns)]

    def pod_logs(self, namespace: str, selector: str, tail: int) -> dict[str, str]:
        out: dict[str, str] = {}
        for (ns, pod, container), lines in list(self.world.store.pod_logs.items()):
            if ns == namespace:
                out[f"{pod}.{container}"] = "\n".join(lines[-tail:])
        return out

    def diagnostics(self, dest: Path, namespaces: list[str]) -> str:
        _, section = write_artifacts(dest, self, [*namespaces, *{ns for ns, _ in CONTROLLERS}], REDACTOR)
        if self.controller_errors:
            (dest / "sim-controller-errors.txt").write_text("\n".join(self.controller_errors))
            section += (
                "\nsimulated controllers raised (see sim-controller-errors.txt):\n" + self.controller_errors[-1][-600:]
            )
        return f"[simulated backend]\n{section}"

    def close(self, failed: bool = False) -> str:
        self._stop.set()
        if self._loop is not None:
            self._loop.join(timeout=10)  # no reconcile may start a process after this point
        for twin in self.twins:
            try:
                twin.close(self.world)
            except Exception:  # keep closing the rest
                pass
        for srv in (self.argocd, self.api):
            try:
                srv.stop()
            except Exception:
                pass
        self._http.close()
        left = self.procs.close()
        return "simulated backend stopped" + (f" (stopped still-running: {', '.join(left)})" if left else "")


def install(world: World, upstream: Upstream, profile: Profile, versions: dict[str, str], password: str) -> None:
    store = world.store
    crd_res = store.res("apiextensions.k8s.io", "customresourcedefinitions")
    files = [(c, versions[c], p) for c, p in CRD_FILES if c in versions]
    cm = versions.get("cert-manager")
    if cm in CERT_MANAGER_CRDS:
        files += [("cert-manager", cm, p) for p in CERT_MANAGER_CRDS[cm]]
    # cert-manager's release manifest is not in the reference copy: the kinds its ACME flow creates are
    # registered by name and scope (cert-manager.io/v1 CertificateRequest, acme.cert-manager.io/v1 Order, Challenge).
    for res in CERT_MANAGER_EXTRA:
        store.register(res)
    for component, version, path in files:
        for o in upstream.load_all(component, version, path):
            if o.get("kind") == "CustomResourceDefinition":
                store.patch(crd_res, None, o["metadata"]["name"], o, "apply")
    ns_res = store.res("", "namespaces")
    for ns in ("default", "kube-system", "kube-public", *NAMESPACES):
        store.patch(ns_res, None, ns, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, "apply")
    shape = profile.cluster_nodes()
    node_res = store.res("", "nodes")
    names = ["sim-control-plane"] + [f"sim-worker{'' if i == 0 else i + 1}" for i in range(shape["worker"])]
    for n in names:
        store.patch(
            node_res,
            None,
            n,
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}}},
            "apply",
        )
        store.patch(
            node_res, None, n, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, "merge", "status"
        )
    sec = initial_admin_secret(password)
    store.patch(store.res("", "secrets"), "argocd", sec["metadata"]["name"], sec, "apply")
    store.patch(
        store.res("argoproj.io", "appprojects"),
        "argocd",
        "default",
        {
            "apiVersion": ARGOPROJ,
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": "argocd"},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
        "apply",
    )


def not_run(profile: Profile) -> list[StepOutcome]:
    """The install commands, each "not verified here": the simulation does not run them."""
    why = (
        "simulated backend: the command is not run; the CRDs of its version are registered from the upstream manifests"
    )
    return [
        StepOutcome(
            s.title, [CommandOutcome(s.title, i, c.run, "not-run", note=why) for i, c in enumerate(s.commands)], 0.0
        )
        for s in profile.install_plan().steps
    ]


def start_sim(
    profile: Profile,
    upstream: Upstream | None,
    artifacts: Path,
    settings: Settings | None = None,
    faults: Faults | None = None,
) -> SimBackend:
    if upstream is None:
        raise BackendUnavailable(
            "the simulated backend registers CRDs from the upstream manifests: ../shared/upstream is absent (pass --upstream-dir or --allow-download)"
        )
    missing = servers.missing()
    if missing:
        raise BackendUnavailable(
            f"the simulated backend needs {', '.join(missing)}: install with {servers.INSTALL_HINT}"
        )
    try:
        unshare = detect_unshare()
    except Exception as e:
        raise BackendUnavailable(
            f"the simulated backend runs each app pod in a network namespace of its own: {e}"
        ) from e
    import shutil as _sh

    kubectl = _sh.which("kubectl")
    if not kubectl:
        raise BackendUnavailable("the simulated Argo CD renders kustomizations with kubectl: install kubectl >= 1.27")
    procs = Procs()
    try:
        versions = profile.versions()
        settings = settings or Settings()
        settings.argocd_version = versions.get("argo-cd", settings.argocd_version)
        settings.events_version = versions.get("argo-events", settings.events_version)
        git = servers.start_git(procs)
        registry = servers.start_registry(procs)
        store = make_store()
        faults = faults or Faults()
        store.fault = faults.api_error
        world = World(store, procs, git, registry, settings, faults)
        world.substitutions = substitutions_for(registry.name, f"http://127.0.0.1:{git.port}")
        api = ApiHTTPServer(store).start()
        swagger = json.loads(upstream.read_bytes("argo-cd", settings.argocd_version, "assets/swagger.json"))
        controller = AppController(world, kubectl)
        argocd = ApiServer(world, controller, swagger, settings.argocd_version).start()
        install(world, upstream, profile, versions, argocd.password)
        events_install = upstream.load_all("argo-events", settings.events_version, "manifests/install.yaml")
        ingress = Ingress(world, skips_ingress_without_tls_secret=profile.ingress_controller() == TRAEFIK)
        pebble = start_pebble(procs, ingress.http_port, ingress.https_port)
        twins: list[Twin] = [
            CertManager(world),
            Controllers(),
            Kubelet(unshare),
            Rollouts(),
            controller,
            Events(world, events_install, settings.events_version),
            Workflows(world, servers.which("go"), detect_unshare_mount()),
            ingress,
        ]
        backend = SimBackend(profile, upstream, procs, world, api, argocd, ingress, twins, versions)
        backend.pebble = pebble
        backend.install_outcomes = not_run(profile)
        backend._loop = threading.Thread(target=backend.loop, daemon=True, name="sim-controllers")
        backend._loop.start()
        return backend
    except BackendUnavailable:
        procs.close()
        raise
    except Exception:
        procs.close()
        raise
