"""The tutorial's state during a scenario: the backend, the profile's files as pushed, the hosts, what was
pushed and fired, and the helpers every role shares (steps, bounded waits, git, the objects it watches).

Roles live beside it: :mod:`~argo_tutorial_suite.flow.given` (set-up), :mod:`~argo_tutorial_suite.flow.when` (actions, never
waiting), :mod:`~argo_tutorial_suite.flow.then` (expectations, every one through :func:`argo_tutorial_suite.verdicts.waits.expect` or
:func:`~argo_tutorial_suite.verdicts.waits.expect_consistently`), :mod:`~argo_tutorial_suite.flow.workarounds` (recorded edits past a
blocking defect). The Argo CD API client is :mod:`argo_tutorial_suite.flow.argocd_api`.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends import gitserver
from argo_tutorial_suite.backends.base import Backend
from argo_tutorial_suite.flow.argocd_api import ArgoCD
from argo_tutorial_suite.flow.given import Given
from argo_tutorial_suite.flow.names import APP, APP_NS, ARGOCD_NS, CI_NS
from argo_tutorial_suite.flow.then import Then
from argo_tutorial_suite.flow.when import When
from argo_tutorial_suite.flow.workarounds import Workarounds
from argo_tutorial_suite.kube import Kube
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.tutorial import kustomize
from argo_tutorial_suite.tutorial.issuers import set_issuer_ca
from argo_tutorial_suite.tutorial.profiles import PLACEHOLDERS, Profile
from argo_tutorial_suite.tutorial.render import render_dir, substitute_tree, yaml_objects
from argo_tutorial_suite.verdicts.steps import StepRecord, Steps
from argo_tutorial_suite.verdicts.waits import Progress, Seen, expect, timeout_for


@dataclass(frozen=True)
class Hosts:
    app: str
    preview: str
    webhook: str


def ingress_host(objs: list[Obj], name: str) -> str:
    for o in objs:
        if o.get("kind") == "Ingress" and o["metadata"]["name"] == name:
            return str(o["spec"]["rules"][0]["host"])
    raise LookupError(f"no Ingress {name} in the profile's manifests")


@dataclass
class Tutorial:
    backend: Backend
    profile: Profile
    steps: Steps
    workdir: Path
    code_dir: Path
    gitops_dir: Path
    ci_dir: Path
    hosts: Hosts
    versions: dict[str, str]
    pushed: dict[str, str] = field(default_factory=dict)  # version -> code commit
    fired_ms: int = 0
    failures_before: frozenset[str] = frozenset()  # the Sensor's trigger failures logged before the last delivery
    fired: str = ""  # the step name of the last webhook delivery (its Workflow is expected under that name)
    active_hashes: list[str] = field(default_factory=list)  # pod-template hash of each revision that went active
    ci_patches: list[Callable[[list[Obj]], None]] = field(default_factory=list)  # workarounds on ci.yaml objects
    create_namespace: bool = False  # workaround D11 on the "+NEW APP" form
    fresh_repos: set[str] = field(default_factory=lambda: {"code", "gitops"})  # repos this scenario has not pushed yet
    workflow: str = ""
    sync_refused: str = ""  # Argo CD's answer to a refused SYNC (When.sync_requested), checked by Then.app_synced
    progress: Progress = field(default_factory=Progress)

    @classmethod
    def start(cls, backend: Backend, profile: Profile, steps: Steps, workdir: Path) -> Tutorial:
        subs = backend.substitutions()
        dirs = {}
        for part in ("code", "gitops", "ci"):
            dirs[part] = profile.materialize(part, workdir / part)
        if any(PLACEHOLDERS["acme"] in p.read_text() for p in dirs["gitops"].rglob("*.yaml")):
            # the corrected Issuer names a test ACME server: the backend's local one stands in for it, with its
            # CA bundle (Let's Encrypt itself is never reachable here: D15, "not verified here" in test_tls)
            with steps.step("fill in the local ACME server for the app's Issuer (stands in for D15's)", "setup"):
                local = backend.acme()
                if local is None:
                    raise AssertionError(f"the {backend.name} backend has no local ACME server for the Issuer")
                subs = {**subs, PLACEHOLDERS["acme"]: local[0]}
                set_issuer_ca(dirs["gitops"], local[1])
                if any(PLACEHOLDERS["acme"] in p.read_text() for p in dirs["ci"].rglob("*.yaml")):
                    # the CI's Issuer too: its webhook Ingress gets a certificate only from a server it trusts, and
                    # Traefik's Ingress NGINX provider serves no route of an Ingress whose TLS Secret is missing
                    # (kubernetes.go loadCertificates: the Ingress is skipped), where ingress-nginx serves its
                    # default certificate (found on real kind here)
                    set_issuer_ca(dirs["ci"], local[1])
        for d in dirs.values():
            substitute_tree(d, subs)
        gitops_objs = kustomize.build(dirs["gitops"]).objects or yaml_objects(dirs["gitops"])
        ci_objs = cls.render_ci(dirs["ci"])
        hosts = Hosts(
            ingress_host(gitops_objs, APP), ingress_host(gitops_objs, f"{APP}-preview"), ingress_host(ci_objs, "ci")
        )
        t = cls(backend, profile, steps, workdir, dirs["code"], dirs["gitops"], dirs["ci"], hosts, profile.versions())
        if t.leftovers():
            t.clean_slate()
        return t

    def leftovers(self) -> list[str]:
        """What an earlier scenario on this backend left (the Application, the ci and app namespaces)."""
        left = [ns for ns in (CI_NS, APP_NS) if self.kube.get("v1", "Namespace", ns) is not None]
        return left + (["Application"] if self.app() is not None else [])

    @staticmethod
    def render_ci(d: Path) -> list[Obj]:
        return render_dir(d, "the CI kustomization")

    @property
    def kube(self) -> Kube:
        return self.backend.kube

    def given(self) -> Given:
        return Given(self)

    def when(self) -> When:
        return When(self)

    def then(self) -> Then:
        return Then(self)

    def workaround(self) -> Workarounds:
        return Workarounds(self)

    # -- shared helpers ---------------------------------------------------------------------------------------
    def wait(self, probe: Callable[[], Seen], what: str, operation: str) -> Seen:
        return expect(probe, what, timeout_for(operation), progress=self.progress)

    @contextmanager
    def step(
        self, name: str, section: str, defect: str | None = None, decided_by: tuple[str, ...] = ()
    ) -> Iterator[StepRecord]:
        with self.steps.step(name, section, defect, decided_by) as rec:
            yield rec

    def push(self, repo: str, files: dict[str, bytes], message: str) -> str:
        """Push to the git server; a scenario's first push to a repo replaces the branch (a clean slate)."""
        fresh = repo in self.fresh_repos
        self.fresh_repos.discard(repo)
        if not fresh and repo == "gitops":  # the CI commits to the GitOps repo too: build on its head
            files = {**self.remote_files(repo), **files}
        return gitserver.push(self.workdir / f"push-{repo}", self.backend.git_remote(repo), files, message, fresh=fresh)

    def remote_files(self, repo: str) -> dict[str, bytes]:
        d = self.workdir / f"clone-{repo}-{time.monotonic_ns()}"
        subprocess.run(["git", "clone", "-q", self.backend.git_remote(repo), str(d)], check=True, capture_output=True)
        return {
            str(p.relative_to(d)): p.read_bytes()
            for p in d.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(d).parts
        }

    def clean_slate(self) -> None:
        """Remove what an earlier scenario left on this backend: the Application, the CI and app namespaces
        (the Sensor and EventSource before the EventBus: its finalizer refuses while they reference it). Each
        scenario starts as a reader's first apply: on kind a Sensor changed over a running STAN bus lost the next
        event to the old pod's queue membership, which the bus keeps until its client heartbeats fail."""
        with self.step("start from a clean slate (no Application, no ci or my-awesome-app namespace)", "setup"):
            self.kube.delete(ARGOPROJ, "Application", APP, ARGOCD_NS)
            for kind in ("Sensor", "EventSource", "EventBus"):
                for o in self.kube.list(ARGOPROJ, kind, CI_NS):
                    self.kube.delete(ARGOPROJ, kind, o["metadata"]["name"], CI_NS)
            for ns in (CI_NS, APP_NS):
                self.kube.delete("v1", "Namespace", ns)

            def gone() -> Seen:
                left = self.leftovers()
                return Seen.pending(f"still there: {', '.join(left)}") if left else Seen.ok("clean")

            self.wait(gone, "namespaces ci and my-awesome-app deleted", "install")

    def head(self, repo: str) -> str:
        cp = subprocess.run(
            ["git", "ls-remote", self.backend.git_remote(repo), "refs/heads/main"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if cp.returncode != 0 or not cp.stdout.strip():
            raise AssertionError(f"git ls-remote {repo}: {cp.stderr.strip() or 'no main branch'}")
        return cp.stdout.split()[0]

    def rollout(self) -> Obj | None:
        return self.kube.get(ARGOPROJ, "Rollout", APP, APP_NS)

    def app(self) -> Obj | None:
        return self.kube.get(ARGOPROJ, "Application", APP, ARGOCD_NS)

    def refresh_app(self) -> None:
        """Ask Argo CD for a comparison with the source's newest revision: the annotation the UI's REFRESH and
        ``GET .../applications/{name}?refresh=normal`` set (``argocd.argoproj.io/refresh``; the controller
        removes it and forces the revision resolve, ``needRefreshAppStatus``)."""
        self.kube.patch(
            ARGOPROJ,
            "Application",
            APP,
            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
            ARGOCD_NS,
        )

    def sensor_log(self) -> str:
        """The Sensor pods' logs, of those whose container has started (before, the API answers 400: the log
        of a container still being created, seen on kind here: that is "not yet", not a failure)."""
        pods = self.kube.list("v1", "Pod", CI_NS, label_selector="sensor-name=ci")
        started = [p for p in pods if main_started(p)]
        return "\n".join(self.kube.logs(CI_NS, p["metadata"]["name"], "main", tail=500) for p in started)

    @contextmanager
    def argocd(self) -> Iterator[ArgoCD]:
        """The Argo CD API, logged in as admin (the password and token go to the redactor)."""
        with (
            self.backend.argocd_api() as base,
            ArgoCD.login(base, self.backend.argocd_password(), self.versions.get("argo-cd", "v2.6.3")) as api,
        ):
            yield api


def main_started(pod: Obj) -> bool:
    """Whether a pod's ``main`` container has run (running or terminated): only then has it a log to read."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == "main":
            state = cs.get("state") or {}
            return "running" in state or "terminated" in state
    return False
