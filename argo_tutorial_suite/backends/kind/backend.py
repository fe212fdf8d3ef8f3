"""The kind backend: cluster, local registry, in-cluster git server, stack install, diagnostics.

Order of ``up`` (each a recorded, timed phase): tools and preflight -> registry container -> cluster
(create / reuse / recreate) -> registry wiring on every node -> nodes Ready -> image pre-load -> git
server -> the profile's install plan -> per-component readiness. Every external command goes through
:class:`argo_tutorial_suite.proc.Runner`; every wait through :func:`argo_tutorial_suite.verdicts.waits.expect`.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from argo_tutorial_suite.backends import gitserver
from argo_tutorial_suite.backends import host as preflight
from argo_tutorial_suite.backends.base import http_through_ingress, substitutions_for
from argo_tutorial_suite.backends.capabilities import CLUSTER, STACK, Capability
from argo_tutorial_suite.backends.install import (
    StepOutcome,
    plan_hash,
)
from argo_tutorial_suite.backends.kind import acme, install_phase, mirrors, shared
from argo_tutorial_suite.backends.kind import components_ready as ready
from argo_tutorial_suite.backends.kind import ingress as ingress_substitute
from argo_tutorial_suite.backends.kind import mirror_config as mirror
from argo_tutorial_suite.backends.kind.cluster import KindAccess, KindLifecycle, nodes_ready
from argo_tutorial_suite.backends.kind.config import ClusterSpec, HostPorts
from argo_tutorial_suite.backends.kind.localbuild import LocalBuild
from argo_tutorial_suite.backends.kind.localbuild import image_matches as is_local_image
from argo_tutorial_suite.backends.kind.mirrors import Mirror
from argo_tutorial_suite.backends.kind.offline_mode import OfflineMode
from argo_tutorial_suite.backends.kind.registry import (
    KIND_NETWORK,
    NAME,
    LocalRegistry,
    ensure_registry,
    is_connected,
    preload,
)
from argo_tutorial_suite.backends.portforward import pick_pod, port_forward
from argo_tutorial_suite.kube import Kube, api_client
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.probes import readiness
from argo_tutorial_suite.proc import Runner
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tools import Tool
from argo_tutorial_suite.tutorial import images
from argo_tutorial_suite.tutorial.profiles import TRAEFIK, Profile
from argo_tutorial_suite.tutorial.stack import CONTROLLERS
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts import diagnostics, live
from argo_tutorial_suite.verdicts.components import Ran
from argo_tutorial_suite.verdicts.diagnostics import write_artifacts
from argo_tutorial_suite.verdicts.waits import Seen, expect, timeout_for

SMOKE_SHAPE = {"control-plane": 1, "worker": 1}  # two nodes: pod traffic across nodes is part of the smoke


@dataclass
class Phase:
    name: str
    seconds: float
    detail: str = ""
    started: float = 0.0  # seconds since the epoch (the run's timeline)


@dataclass
class KindBackend:
    profile: Profile
    kind: Tool
    kubectl: Tool
    docker: Tool
    workdir: Path
    upstream: Upstream | None = None
    preload: bool = True
    keep: bool = False
    keep_on_failure: bool = False
    runner: Runner = field(default_factory=Runner)
    local: LocalBuild | None = None  # scripts/offline-images's build for these pins
    node_image: str | None = None  # --node-image
    stage: str = STACK  # CLUSTER: cluster, registry and git server only (the smoke scenario)
    registry_mirror: bool = False  # --registry-mirror: pull docker.io, quay.io, ... through local mirrors
    name: str = "kind"
    simulated: bool = False
    phases: list[Phase] = field(default_factory=list)
    install_outcomes: list[StepOutcome] = field(default_factory=list)
    _access: KindAccess | None = None
    _kube: Kube | None = None
    _registry: LocalRegistry | None = None
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(verify=False))
    _acme: tuple[str, bytes] | None = None
    _restrict_oom: bool = field(default_factory=preflight.negative_oom_score_adj_refused)
    _network_existed: bool = True  # whether Docker's "kind" network was there before this backend came up
    _mirrors: list[Mirror] = field(default_factory=list)
    _alive: shared.Alive = field(default_factory=shared.Alive)  # this run's share of the machine's shared containers
    mode: OfflineMode = field(init=False)  # what runs offline in place of what (mirror mode, images built here)

    def __post_init__(self) -> None:
        self.mode = OfflineMode(
            self.profile, self.local, self.upstream, self.registry_mirror, self.workdir, lambda: self.substitutions()
        )

    # -- identity ---------------------------------------------------------------------------------
    @property
    def image_choice(self) -> tuple[str, str]:
        """(node image, where it comes from): --node-image, else the local build, else the pinned digest."""
        if self.node_image:
            return self.node_image, "--node-image"
        if self.local is not None:
            return self.local.node_image, "local"
        return self.profile.pins.data["kind"]["node_image"], "pinned"

    @property
    def spec(self) -> ClusterSpec:
        shape = self.profile.cluster_nodes() if self.stage == STACK else SMOKE_SHAPE
        prefix = "argo-suite-smoke" if self.stage == CLUSTER else f"argo-suite-{self.profile.name}"
        name = f"{prefix}-{self.profile.pins.name}".replace(".", "-")
        image, origin = self.image_choice
        return ClusterSpec(
            name=name,
            node_image=image,
            workers=shape["worker"],
            local_image=origin != "pinned",
            restrict_oom_score_adj=self._restrict_oom,
            kind_version=self.profile.pins.data["kind"]["version"],
            mirror_hosts=tuple(mirror.UPSTREAMS) if self.registry_mirror else (),
        )

    @property
    def label(self) -> str:
        version = self.profile.pins.data["kind"]["version"]
        image, origin = self.image_choice
        if origin == "local" and self.local is not None:
            return f"real ({self.local.header.replace('kind,', f'kind {version},', 1)})"
        return f"real (kind {version}, {image.split('@')[0]}{', --node-image' if origin != 'pinned' else ''})"

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            raise RuntimeError("the kind backend is not up yet")
        return self._kube

    @property
    def registry(self) -> str:
        assert self._registry is not None
        return self._registry.in_cluster

    @property
    def registry_push(self) -> str:
        """Where the test process pushes images (the registry's port on 127.0.0.1)."""
        assert self._registry is not None
        return self._registry.from_host

    def cannot(self, what: Capability) -> str | None:
        """A real kind cluster models every capability (:mod:`argo_tutorial_suite.backends.capabilities`), except,
        offline, what :class:`OfflineMode` says it cannot."""
        return self.mode.cannot(what)

    def ran(self) -> dict[str, Ran]:
        """What ran per component (:meth:`OfflineMode.ran`): empty where the pinned images are pulled."""
        return self.mode.ran()

    def ci_images(self) -> list[str]:
        return self.mode.ci_images()

    @property
    def offline(self) -> bool:
        return self.mode.active

    @property
    def built_images(self) -> set[str]:
        return self.mode.built_images

    @property
    def ingress_substitute(self) -> str | None:
        return self.mode.ingress_substitute

    def node_config(self) -> dict[str, Any] | None:
        """The kind config this cluster was created from (the suite's generated one)."""
        path = self.workdir / "kind-config.yaml"
        data = yaml.safe_load(path.read_text()) if path.exists() else None
        return data if isinstance(data, dict) else None

    def node_read(self, node: str, path: str) -> str:
        """A file on a node (``docker exec NODE cat PATH``)."""
        return self.runner.run([self.docker.path, "exec", node, "cat", path], timeout=30).stdout

    @property
    def ports(self) -> HostPorts:
        assert self._access is not None
        return self._access.ports

    # -- phases -----------------------------------------------------------------------------------
    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start, wall = time.monotonic(), time.time()
        live.say(f"[kind] {name} ...")
        try:
            yield
        finally:
            self.phases.append(Phase(name, time.monotonic() - start, started=wall))
            live.say(f"[kind] {name}: {time.monotonic() - start:.1f}s")

    def up(self) -> None:
        self._check_local_images()
        self._network_existed = (
            self.runner.run([self.docker.path, "network", "inspect", KIND_NETWORK], check=False).returncode == 0
        )
        lifecycle = KindLifecycle(self.spec, self.kind, self.kubectl, self.workdir, self.runner)
        self._alive.hold()
        with shared.making():
            with self.phase("registry container"):
                self._registry = ensure_registry(self.docker.path, self.runner)
            if self.registry_mirror:
                with self.phase("registry mirrors"):
                    online = not self.offline
                    self._mirrors = [
                        mirrors.ensure(h, online, self.docker.path, self.runner, self.workdir) for h in mirror.UPSTREAMS
                    ]
                    print(f"[kind] mirrors ({'pull-through caches' if online else 'filled from the local build'}): "
                          + ", ".join(f"{m.host} -> 127.0.0.1:{m.host_port}" for m in self._mirrors), flush=True)  # fmt: skip
        with self.phase("cluster"):
            self._access = lifecycle.up(self._choose_ports)
            self._kube = Kube(api_client(self._access.kubeconfig))
        with self.phase("registry on nodes"):
            self._wire_registry()
            if self._mirrors:
                mirrors.connect(self._mirrors, self.docker.path, self.runner)
                mirrors.write_hosts_files(self._nodes(), self.spec.kind_version, list(mirror.UPSTREAMS),
                                          self.docker.path, self.runner)  # fmt: skip
        with self.phase("nodes ready"):
            want = self.spec.control_planes + self.spec.workers
            expect(lambda: nodes_ready(self.kube.list("v1", "Node"), want), "kind nodes Ready", timeout_for("install"))
        if self.stage == CLUSTER:
            with self.phase("git server"):
                self._git_server()
            return
        if self._mirrors and self.offline:
            assert self.local is not None
            stale = [
                i["ref"] for i in self.local.stack_images if not is_local_image(i["ref"], i["id"], self.docker.path)
            ]
            if stale:
                raise RuntimeError(
                    f"{len(stale)} stack image(s) are not the ones {self.local.path.name} records: {', '.join(stale[:5])}; "
                    f"rebuild them: scripts/offline-images --pins {self.profile.pins.name} --only stack"
                )
            with self.phase("fill the mirrors"):
                pushed = mirrors.fill(self._mirrors, sorted(self.built_images), self.docker.path, self.runner)
                print(f"[kind] {len(pushed)} images in the mirrors", flush=True)
        elif self.preload and self.upstream is not None and not self._mirrors:
            with self.phase("pre-load images"):
                preload(self.image_list(), self.docker.path, self.kind.path, self.runner, self.workdir / "images",
                        self.spec.name)  # fmt: skip
        with self.phase("git server"):
            self._git_server_start()
        install_phase.install_stack(self)
        with self.phase("git server ready"):
            self._git_server_ready()

    def install_key(self) -> str:
        """What the install runs with: the plans, the pins and, offline, the stack build (its images and install
        sources). A kept cluster is reused only under the same key (seen here: one installed from an earlier
        build lacked Argo Workflows, and its reuse skipped the install that would have added it)."""
        built_from = (self.local.data.get("stack") or {}).get("input_hash") if self.offline and self.local else None
        return plan_hash(self.profile.install_plan(), self.profile.on_top_plan(),
                         extra={"pins": self.profile.pins.data, "stack": built_from})  # fmt: skip

    def _nodes(self) -> list[str]:
        return self.runner.run([self.kind.path, "get", "nodes", f"--name={self.spec.name}"]).stdout.split()

    def _check_local_images(self) -> None:
        """A local build is used only if Docker still has the very images its manifest records."""
        if self.local is None or self.node_image:
            return
        for role in ("kind node", "local registry", "git server base"):
            img = self.local.image(role)
            if img is None:
                continue
            if not is_local_image(img["ref"], img["id"], self.docker.path):
                raise RuntimeError(
                    f"{role} image {img['ref']} is not the one {self.local.path} records (id {img['id'][:19]}); "
                    f"rebuild it: scripts/offline-images --pins {self.profile.pins.name} --only node"
                )

    def _choose_ports(self) -> HostPorts:
        return HostPorts(http=preflight.free_port(), https=preflight.free_port(), git=preflight.free_port())

    # -- registry -----------------------------------------------------------------------------------
    def _wire_registry(self) -> None:
        assert self._registry is not None and self._access is not None
        d = self.docker.path
        for node in self._nodes():
            for argv, stdin in self._registry.node_commands(node, d):
                self.runner.run(argv, input=stdin)
        inspect = self.runner.run([d, "network", "inspect", "kind"]).stdout
        if not is_connected(json.loads(inspect)):
            self.runner.run(self._registry.connect_command(d))
        self.kube.apply(self._registry.hosting_configmap())

    # -- images -----------------------------------------------------------------------------------
    def image_list(self) -> list[str]:
        """What this profile's cluster will run (:func:`argo_tutorial_suite.tutorial.images.profile_images`)."""
        assert self.upstream is not None
        extra = [acme.PEBBLE_IMAGE, acme.CHALLTESTSRV_IMAGE]
        return images.profile_images(self.profile, self.upstream, self.substitutions(), f"{self.registry}/", extra)

    # -- git server -------------------------------------------------------------------------------
    def _git_server(self) -> None:
        self._git_server_start()
        self._git_server_ready()

    def _git_server_start(self) -> None:
        """Build the git server's image, push it to the cluster's registry (one push; the node that runs the pod
        pulls it, where ``kind load`` copied it into every node: 40 s on four nodes) and apply its objects; its
        readiness is awaited later (:meth:`_git_server_ready`), the stack's install going on meanwhile."""
        with tempfile.TemporaryDirectory() as ctx:
            c = Path(ctx)
            base = self.local.image("git server base") if self.local is not None else None
            (c / "Dockerfile").write_text(gitserver.dockerfile(base["ref"] if base else None))
            (c / "nginx.conf").write_text(gitserver.nginx_conf(gitserver.IN_CLUSTER))
            (c / "start.sh").write_text(gitserver.start_script(gitserver.IN_CLUSTER))
            self.runner.run([self.docker.path, "build", "-q", "-t", gitserver.IMAGE, str(c)], timeout=600)
        image_id = self.runner.run([self.docker.path, "image", "inspect", "-f", "{{.Id}}", gitserver.IMAGE]).stdout
        tag = image_id.strip().removeprefix("sha256:")[:12] or "latest"
        repo = gitserver.IMAGE.split(":")[0]
        self.runner.run([self.docker.path, "tag", gitserver.IMAGE, f"{self.registry_push}/{repo}:{tag}"])
        self.runner.run([self.docker.path, "push", "-q", f"{self.registry_push}/{repo}:{tag}"], timeout=300)
        self.kube.apply_all(gitserver.manifests(image=f"{self.registry}/{repo}:{tag}", pull="IfNotPresent"))

    def _git_server_ready(self) -> None:
        def probe() -> Seen:
            d = self.kube.get("apps/v1", "Deployment", gitserver.SERVICE, gitserver.NAMESPACE)
            return readiness.deployment(d) if d else Seen.pending("git server Deployment not created yet")

        expect(probe, "git server ready", timeout_for("install"))

    def substitutions(self) -> dict[str, str]:
        return substitutions_for(self.registry, f"http://{gitserver.SERVICE}.{gitserver.NAMESPACE}.svc.cluster.local")

    def argocd_cluster_url(self) -> str:
        """What a workflow pod uses to reach argocd-server (Service ``argocd-server`` port 443)."""
        return "https://argocd-server.argocd.svc.cluster.local"

    def argocd_password(self) -> str:

        sec = self.kube.get("v1", "Secret", "argocd-initial-admin-secret", "argocd")
        if sec is None:
            raise AssertionError(
                "secret argocd/argocd-initial-admin-secret not found (argocd-server creates it at start)"
            )
        password = base64.b64decode(sec["data"]["password"]).decode()
        REDACTOR.register(password)
        return password

    def acme(self) -> tuple[str, bytes, str] | None:
        """Pebble in the cluster (:mod:`argo_tutorial_suite.backends.kind.acme`), deployed once; (directory URL,
        CA bundle, issuing root)."""
        if self._acme is None:
            name, ns = ("ingress-nginx-controller", "ingress-nginx")
            if self.profile.ingress_controller() == TRAEFIK:  # corrected@current's controller (D37)
                name, ns = ("traefik", "traefik")
            elif "ingress-nginx" in self.mode.skipped and self.ingress_substitute is not None:
                name, ns = (ingress_substitute.NAME, ingress_substitute.NAMESPACE)
            self._acme = acme.deploy(self.kube, name, ns)
        assert self._access is not None
        root = acme.issuing_root(self.kube, self.kubectl.path, self._access.kubeconfig, self._acme[1])
        return self._acme[0], self._acme[1], root

    def git_remote(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.ports.git}/{repo}.git"

    def git_url(self, repo: str) -> str:
        return gitserver.cluster_url(repo)

    # -- readiness --------------------------------------------------------------------------------
    def wait_components(self, components: list[str] | None = None, timeout: float | None = None) -> None:
        ready.wait_components(self.kube, components, timeout)

    # -- access -----------------------------------------------------------------------------------
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
            self._http, self.ports.http, self.ports.https, host, path, scheme, method, timeout, verify, **kw
        )

    @contextmanager
    def argocd_api(self) -> Iterator[str]:
        assert self._access is not None
        pods = self.kube.list("v1", "Pod", "argocd", label_selector="app.kubernetes.io/name=argocd-server")
        with port_forward(
            self.kubectl.path, "argocd", f"pod/{pick_pod(pods)}", 8080, [f"--kubeconfig={self._access.kubeconfig}"]
        ) as port:
            yield f"https://127.0.0.1:{port}"

    # -- diagnostics and teardown -------------------------------------------------------------------
    def list_objects(self, namespaces: list[str] | Any) -> list[Obj]:
        return diagnostics.objects_in(self.kube, namespaces)

    def list_events(self, namespaces: list[str] | Any) -> list[Obj]:
        return diagnostics.events_in(self.kube, namespaces)

    def pod_logs(self, namespace: str, selector: str, tail: int) -> dict[str, str]:
        return diagnostics.logs_of(self.kube, namespace, selector, tail)

    def diagnostics(self, dest: Path, namespaces: list[str]) -> str:
        _, section = write_artifacts(dest, self, [*namespaces, *{ns for ns, _ in CONTROLLERS}], REDACTOR)
        KindLifecycle(self.spec, self.kind, self.kubectl, self.workdir, self.runner).export_logs(dest / "kind-logs")
        return section

    def _other_clusters(self) -> list[str]:
        """Other clusters' nodes still on the ``kind`` network (two runs side by side share the registry and the
        mirrors by name; the first to finish removed them under the other, seen here)."""
        ran = self.runner.run([self.docker.path, "network", "inspect", KIND_NETWORK], check=False)
        if ran.returncode != 0:
            return []
        shared = {NAME, *(mirror.mirror_name(m.host) for m in self._mirrors)}
        return other_nodes(json.loads(ran.stdout or "[{}]")[0].get("Containers") or {}, shared)

    def close(self, failed: bool) -> str:
        self._http.close()
        line = KindLifecycle(self.spec, self.kind, self.kubectl, self.workdir, self.runner).down(
            self.keep, self.keep_on_failure, failed
        )
        with self._alive.alone() as alone:
            return self._remove_shared(line, alone)

    def _remove_shared(self, line: str, alone: bool) -> str:
        if "deleted" in line and not alone:  # another run on this machine still pulls from them
            return line + "; registry and mirror containers kept: another kind run here is alive"
        others = self._other_clusters() if "deleted" in line else []
        if others:  # the registry and the mirrors are shared by name: a kept cluster still pulls from them
            line += f"; registry and mirror containers kept: {', '.join(others)} still use them"
        if "deleted" in line and not others and self._registry is not None:
            self.runner.run([self.docker.path, "rm", "-f", NAME], check=False)
            line += "; registry container removed"
        if "deleted" in line and not others and self._mirrors:
            for m in self._mirrors:
                self.runner.run([self.docker.path, "rm", "-f", mirror.mirror_name(m.host)], check=False)
            line += f"; {len(self._mirrors)} mirror containers removed (their cache volumes {mirror.PREFIX}* stay)"
        if "deleted" in line and not self._network_existed:
            # kind leaves its network behind; remove it when this run made it and nothing else uses it
            ran = self.runner.run([self.docker.path, "network", "inspect", KIND_NETWORK], check=False)
            if ran.returncode == 0 and not (json.loads(ran.stdout or "[{}]")[0].get("Containers") or {}):
                self.runner.run([self.docker.path, "network", "rm", KIND_NETWORK], check=False)
                line += f"; network {KIND_NETWORK} removed"
        return line


def other_nodes(network_containers: dict[str, Any], shared: set[str]) -> list[str]:
    """Containers on the ``kind`` network other than the shared ``shared`` ones (another cluster's nodes), from
    ``docker network inspect``'s ``Containers``; sorted."""
    return sorted(str(c.get("Name", "")) for c in network_containers.values() if c.get("Name") not in shared)
