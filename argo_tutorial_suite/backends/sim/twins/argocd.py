"""Argo CD's application controller: refresh, compare, health, sync operation.

Controller rules (``argoproj/argo-cd`` ``controller/appcontroller.go``, ``controller/state.go``,
``controller/sync.go``, gitops-engine ``pkg/sync``, ``pkg/health``):

* the source is read from the real git server (``git ls-remote`` resolves ``targetRevision``) and rendered
  with real kustomize (``kubectl kustomize``) when the path holds a kustomization, else as a directory of
  YAML files; a render error is a ``ComparisonError`` condition and sync status ``Unknown``;
* a resource is Synced when it exists and every field the desired manifest sets has that value live;
  resources get the tracking label ``app.kubernetes.io/instance=<app>`` on apply;
* health: Rollout per ``resource_customizations/argoproj.io/Rollout/health.lua`` (Paused -> Suspended),
  Issuer per ``resource_customizations/cert-manager.io/Issuer/health.lua`` (Ready False -> Degraded, True ->
  Healthy, else Progressing "Initializing issuer"), Ingress and LoadBalancer Service Healthy once
  ``status.loadBalancer.ingress`` is set (gitops-engine ``health_ingress.go``, ``health_service.go``),
  Deployment/StatefulSet by replicas, missing -> Missing; kinds without a health check (Secret, ConfigMap,
  ServiceAccount, Namespace) do not count; app health is the worst by
  ``Healthy < Suspended < Progressing < Missing < Degraded < Unknown`` (gitops-engine ``health.go``);
* a sync applies every desired object; a namespace that does not exist fails the operation unless
  ``CreateNamespace=true`` creates it (then, as a PreSync task, the operation has several phases and waits
  for healthy state of the resources before it Succeeds; a resource that turns Degraded meanwhile fails the
  operation, "one or more synchronization tasks completed unsuccessfully", gitops-engine
  ``sync_context.go``); ``operationState.phase`` Succeeded/Failed;
* refresh every ``resync`` seconds, or at once when ``argocd.argoproj.io/refresh`` is set (then removed);
* a branch or ``HEAD`` resolves through the repo-server's cache of the repository's refs, kept
  ``revision_cache`` seconds (``util/git/client.go`` ``getRefs``: read from the cache unless the caller forces a
  resolve, stored after each ``ls-remote``; ``reposerver/cache`` ``SetGitReferences``, 3 min by default). A
  comparison after an operation or on the reconciliation period reads the cache (``CompareWithLatest``); one that
  a user asked for (the refresh annotation) or that a changed ``spec.source`` causes forces the resolve
  (``CompareWithLatestForceResolve``, ``needRefreshAppStatus``). So right after a push, Argo CD may compare with
  the HEAD it cached before it, for up to ``revision_cache`` seconds;
* a sync operation applies the revision in ``operation.sync.revision`` (argocd-server resolved it, without the
  cache: ``ResolveRevision``), else resolves ``targetRevision`` as a comparison does.

The argocd-server half (REST API) is :mod:`argo_tutorial_suite.backends.sim.twins.argocd_server`.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from typing import Any

import yaml

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends.sim.api_semantics import ApiError, merge_patch
from argo_tutorial_suite.backends.sim.store import now
from argo_tutorial_suite.backends.sim.twins.rollouts import argocd_health
from argo_tutorial_suite.backends.sim.world import World
from argo_tutorial_suite.objects import Obj

NS = "argocd"
INSTANCE = "app.kubernetes.io/instance"
REFRESH = "argocd.argoproj.io/refresh"
HEALTH_ORDER = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]


def resource_health(world: World, obj: Obj, live: Obj | None) -> tuple[str, str]:
    if live is None:
        return "Missing", ""
    kind = obj.get("kind")
    if kind == "Rollout":
        return argocd_health(live)
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        st = live.get("status") or {}
        want = int((live.get("spec") or {}).get("replicas", 1))
        if int(st.get("availableReplicas", st.get("readyReplicas", 0))) < want:
            return (
                "Progressing",
                f"Waiting for rollout to finish: {st.get('availableReplicas', 0)} of {want} updated replicas are available...",
            )
        return "Healthy", ""
    if kind == "Pod":
        ph = (live.get("status") or {}).get("phase")
        return ("Healthy" if ph in ("Running", "Succeeded") else "Progressing"), ""
    if kind == "Issuer":
        for c in (live.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready" and c.get("status") == "False":
                return "Degraded", str(c.get("message", ""))
            if c.get("type") == "Ready" and c.get("status") == "True":
                return "Healthy", str(c.get("message", ""))
        return "Progressing", "Initializing issuer"
    if kind == "Ingress" or (kind == "Service" and (live.get("spec") or {}).get("type") == "LoadBalancer"):
        if ((live.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return "Healthy", ""
        return "Progressing", ""
    return "Healthy", ""


NO_HEALTH = frozenset({"Secret", "ConfigMap", "Namespace", "ServiceAccount"})  # gitops-engine has no check


def subset(desired: Any, live: Any) -> bool:
    """Every field the manifest sets has that value live (status and server-set metadata ignored)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        for k, v in desired.items():
            if k in ("status", "creationTimestamp"):
                continue
            if not subset(v, live.get(k)):
                return False
        return True
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(desired) == len(live)
            and all(subset(a, b) for a, b in zip(desired, live, strict=True))
        )
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return float(desired) == float(live)
    return bool(desired == live)


class Source:
    """Fetches and renders an Application's source: real git, real kustomize. One checkout per repository,
    used by one caller at a time, as the repo-server does (``reposerver/repository/lock.go``: a repository's
    working tree is locked while a revision is checked out and rendered), so the controller's refresh and an
    API sync never render a tree that another revision's checkout is rewriting."""

    def __init__(self, world: World, kubectl: str):
        self.world = world
        self.kubectl = kubectl
        self.cache = world.procs.dir("argocd-repos")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._refs: dict[str, tuple[float, str]] = {}  # repo -> (when listed, ls-remote output)

    def _lock(self, repo: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(repo, threading.Lock())

    def resolve(self, repo: str, rev: str, load: bool = False, store: bool = True) -> str:
        """``rev`` as a commit SHA: a SHA as it is; else from the refs, read from the cache when ``load`` and
        the cached refs are younger than ``revision_cache``, else listed (``git ls-remote``) and, when
        ``store``, cached."""
        target = "HEAD" if rev in ("", "HEAD") else rev
        if len(target) == 40 and all(c in "0123456789abcdef" for c in target):
            return target  # git.IsCommitSHA: no lookup
        cached = self._refs.get(repo)
        if load and cached and time.monotonic() - cached[0] < self.world.settings.revision_cache:
            refs = cached[1]
        else:
            refs = self._ls_remote(repo)
            if store:
                self._refs[repo] = (time.monotonic(), refs)
        for line in refs.splitlines():
            sha, ref = line.split("\t")
            if ref in (target, f"refs/heads/{target}", f"refs/tags/{target}"):
                return sha
        raise RuntimeError(f"rpc error: code = Unknown desc = unable to resolve '{target}' to a commit SHA")

    @staticmethod
    def _ls_remote(repo: str) -> str:
        cp = subprocess.run(["git", "ls-remote", repo], capture_output=True, text=True, timeout=30, check=False)
        if cp.returncode != 0:
            raise RuntimeError(f"rpc error: code = Unknown desc = failed to list refs: {cp.stderr.strip()[-300:]}")
        return cp.stdout

    def render(self, repo: str, sha: str, path: str) -> list[Obj]:
        with self._lock(repo):
            return self._render(repo, sha, path)

    def _render(self, repo: str, sha: str, path: str) -> list[Obj]:
        d = self.cache / base64.urlsafe_b64encode(repo.encode()).decode().strip("=")
        if not (d / ".git").exists():
            subprocess.run(["git", "clone", "-q", repo, str(d)], capture_output=True, check=True, timeout=60)
        subprocess.run(["git", "-C", str(d), "fetch", "-q", "origin"], capture_output=True, check=False, timeout=60)
        co = subprocess.run(
            ["git", "-C", str(d), "checkout", "-q", "--force", sha], capture_output=True, text=True, check=False
        )
        if co.returncode != 0:
            raise RuntimeError(f"rpc error: code = Unknown desc = checkout {sha}: {co.stderr.strip()}")
        app_dir = d / (path or ".")
        if not app_dir.is_dir():
            raise RuntimeError(f"rpc error: code = Unknown desc = {path}: app path does not exist")
        if any((app_dir / k).exists() for k in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
            cp = subprocess.run(
                [self.kubectl, "kustomize", str(app_dir)], capture_output=True, text=True, timeout=60, check=False
            )
            if cp.returncode != 0:
                err = cp.stderr.strip().replace(str(app_dir), f"<path to cached source>/{path}")
                raise RuntimeError(
                    f"rpc error: code = Unknown desc = `kustomize build <path to cached source>/{path}` failed exit status 1: {err}"
                )
            text = cp.stdout
        else:
            text = "\n---\n".join(
                p.read_text() for p in sorted(app_dir.iterdir()) if p.suffix in (".yaml", ".yml", ".json")
            )
        return [o for o in yaml.safe_load_all(text) if isinstance(o, dict) and o.get("kind")]


class AppController:
    def __init__(self, world: World, kubectl: str):
        self.world = world
        self.source = Source(world, kubectl)
        self.last: dict[str, float] = {}
        self.busy: set[str] = set()
        self.lock = threading.Lock()
        # operations waiting for healthy resources after a PreSync task (the controller's own bookkeeping,
        # kept out of the Application: upstream keeps it in its sync context, not in operationState)
        self.waiting_healthy: set[str] = set()

    def close(self, world: World) -> None:
        """Nothing of its own to stop (what it started, the kubelet twin stops)."""

    def reconcile(self, world: World) -> None:
        for app in world.list(ARGOPROJ, "Application", NS):
            name = app["metadata"]["name"]
            ann = app["metadata"].get("annotations") or {}
            op = app.get("operation")
            running = ((app.get("status") or {}).get("operationState") or {}).get("phase") == "Running"
            due = time.monotonic() - self.last.get(name, 0) >= world.settings.resync
            if (op or running or due or REFRESH in ann) and name not in self.busy:
                with self.lock:
                    self.busy.add(name)
                threading.Thread(target=self._work, args=(name,), daemon=True, name=f"argocd-{name}").start()

    def _work(self, name: str) -> None:
        try:
            app = self.world.get(ARGOPROJ, "Application", name, NS)
            if app is None:
                return
            if (
                app.get("operation")
                and ((app.get("status") or {}).get("operationState") or {}).get("phase") != "Running"
            ):
                self.start_sync(app)
                app = self.world.get(ARGOPROJ, "Application", name, NS) or app
            self.refresh(app)
            self.last[name] = time.monotonic()
        except Exception as e:  # a controller logs and requeues
            self.world.store.log(
                NS,
                "argocd-application-controller-0",
                "argocd-application-controller",
                f'level=error msg="reconcile {name}: {e}"',
            )
        finally:
            with self.lock:
                self.busy.discard(name)

    # -- compare --------------------------------------------------------------------------------------------------
    def desired(self, app: Obj, revision: str | None = None, force: bool = False) -> tuple[list[Obj], str]:
        """The rendered source at ``revision`` (default ``targetRevision``), resolved through the refs cache
        unless ``force``."""
        src = app["spec"].get("source") or {}
        sha = self.source.resolve(src["repoURL"], revision or src.get("targetRevision", "HEAD"), load=not force)
        objs = self.source.render(src["repoURL"], sha, src.get("path", "."))
        dest_ns = (app["spec"].get("destination") or {}).get("namespace") or "default"
        for o in objs:
            meta = o.setdefault("metadata", {})
            try:
                namespaced = self.world.r(o["apiVersion"], o["kind"]).namespaced
            except ApiError:
                namespaced = True
            if namespaced:
                meta.setdefault("namespace", dest_ns)
            meta.setdefault("labels", {})[INSTANCE] = app["metadata"]["name"]
        return objs, sha

    def live(self, o: Obj) -> Obj | None:
        return self.world.get(o["apiVersion"], o["kind"], o["metadata"]["name"], o["metadata"].get("namespace"))

    def managed_resources(self, app: Obj) -> list[Obj]:
        """``v1alpha1ResourceDiff`` per desired object, ``modified`` by the same rule as the refresh's status."""
        objs, _ = self.desired(app)
        items: list[Obj] = []
        for o in objs:
            live = self.live(o)
            group = o["apiVersion"].rpartition("/")[0]
            items.append(
                {
                    "group": group,
                    "kind": o["kind"],
                    "namespace": o["metadata"].get("namespace", ""),
                    "name": o["metadata"]["name"],
                    "targetState": json.dumps(o),
                    "liveState": json.dumps(live),
                    "normalizedLiveState": json.dumps(live),
                    "modified": not self.in_sync(o, live),
                }
            )
        return items

    @staticmethod
    def in_sync(o: Obj, live: Obj | None) -> bool:
        return (
            live is not None
            and subset({k: v for k, v in o.items() if k != "metadata"}, live)
            and subset(o["metadata"].get("labels") or {}, live["metadata"].get("labels") or {})
        )

    def refresh(self, app: Obj) -> None:
        world = self.world
        compared = (((app.get("status") or {}).get("sync") or {}).get("comparedTo") or {}).get("source")
        force = REFRESH in (app["metadata"].get("annotations") or {}) or compared != app["spec"].get("source")
        try:
            objs, sha = self.desired(app, force=force)
        except (RuntimeError, subprocess.SubprocessError) as e:
            world.patch_status(
                app,
                {
                    "sync": {"status": "Unknown"},
                    "conditions": [{"type": "ComparisonError", "message": str(e), "lastTransitionTime": now()}],
                    "reconciledAt": now(),
                },
            )
            self._drop_refresh(app)
            return
        resources, healths, synced = [], [], True
        for o in objs:
            live = self.live(o)
            ok = self.in_sync(o, live)
            synced = synced and ok
            h, msg = resource_health(world, o, live)
            group = o["apiVersion"].rpartition("/")[0]
            entry: Obj = {
                "group": group,
                "version": o["apiVersion"].rpartition("/")[2],
                "kind": o["kind"],
                "namespace": o["metadata"].get("namespace", ""),
                "name": o["metadata"]["name"],
                "status": "Synced" if ok else "OutOfSync",
            }
            if o["kind"] not in NO_HEALTH:
                entry["health"] = {"status": h, **({"message": msg} if msg else {})}
                healths.append(h)
            resources.append(entry)
        app_health = max(healths, key=HEALTH_ORDER.index) if healths else "Healthy"
        images = sorted(
            {
                c.get("image")
                for o in objs
                for c in ((o.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers", [])
                if c.get("image")
            }
        )
        status = {
            "sync": {
                "status": "Synced" if synced else "OutOfSync",
                "revision": sha,
                "comparedTo": {"source": app["spec"].get("source"), "destination": app["spec"].get("destination")},
            },
            "health": {"status": app_health},
            "resources": resources,
            "summary": {"images": images},
            "conditions": None,
            "reconciledAt": now(),
            "sourceType": "Kustomize",
        }
        cur = world.get(ARGOPROJ, "Application", app["metadata"]["name"], NS)
        op_state = ((cur or {}).get("status") or {}).get("operationState") or {}
        if op_state.get("phase") == "Running" and app["metadata"]["name"] in self.waiting_healthy:
            degraded = [r for r in resources if r.get("health", {}).get("status") == "Degraded"]
            pending = [r for r in resources if r.get("health", {}).get("status") not in (None, "Healthy", "Degraded")]
            if degraded:
                op_state = {
                    **op_state,
                    "phase": "Failed",
                    "message": "one or more synchronization tasks completed unsuccessfully",
                    "finishedAt": now(),
                }
                self.waiting_healthy.discard(app["metadata"]["name"])
            elif not pending:
                op_state = {
                    **op_state,
                    "phase": "Succeeded",
                    "message": "successfully synced (all tasks run)",
                    "finishedAt": now(),
                }
                self.waiting_healthy.discard(app["metadata"]["name"])
            else:
                r = pending[0]
                op_state = {
                    **op_state,
                    "message": f"waiting for healthy state of {r['group'] + '/' if r['group'] else ''}{r['kind']}/{r['name']}",
                }
            status["operationState"] = op_state
        world.patch_status(app, status)
        self._drop_refresh(app)

    def _drop_refresh(self, app: Obj) -> None:
        if REFRESH in (app["metadata"].get("annotations") or {}):
            self.world.patch(app, {"metadata": {"annotations": {REFRESH: None}}})

    # -- sync -----------------------------------------------------------------------------------------------------
    def start_sync(self, app: Obj) -> None:
        world = self.world
        op = app.get("operation") or {}
        started = now()
        world.patch_status(
            app, {"operationState": {"phase": "Running", "message": "", "startedAt": started, "operation": op}}
        )
        if world.faults.sync_delay:
            time.sleep(world.faults.sync_delay)
        options = set(
            (op.get("sync") or {}).get("syncOptions")
            or ((app["spec"].get("syncPolicy") or {}).get("syncOptions") or [])
        )
        result: list[Obj] = []
        phase, message, wait = "Succeeded", "successfully synced (all tasks run)", False
        try:
            objs, sha = self.desired(app, (op.get("sync") or {}).get("revision"), force=True)
        except (RuntimeError, subprocess.SubprocessError) as e:
            world.patch_status(
                app,
                {
                    "operationState": {
                        "phase": "Failed",
                        "message": f"ComparisonError: {e}",
                        "startedAt": started,
                        "finishedAt": now(),
                        "operation": op,
                    }
                },
            )
            world.patch(app, {"operation": None})
            return
        dest_ns = (app["spec"].get("destination") or {}).get("namespace")
        if "CreateNamespace=true" in options and dest_ns and world.get("v1", "Namespace", dest_ns, None) is None:
            world.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": dest_ns}})
            result.append(
                {
                    "kind": "Namespace",
                    "name": dest_ns,
                    "status": "Synced",
                    "message": f"namespace/{dest_ns} created",
                    "syncPhase": "PreSync",
                }
            )
            wait = True  # a PreSync task makes the operation multi-phase: it waits for healthy resources
        order = sorted(objs, key=lambda o: 0 if o["kind"] in ("Namespace", "CustomResourceDefinition") else 1)
        for o in order:
            meta = o["metadata"]
            try:
                res = world.r(o["apiVersion"], o["kind"])
                world.store.patch(res, meta.get("namespace"), meta["name"], o, "apply")
                result.append(
                    {
                        "group": o["apiVersion"].rpartition("/")[0],
                        "kind": o["kind"],
                        "namespace": meta.get("namespace", ""),
                        "name": meta["name"],
                        "status": "Synced",
                        "message": f"{o['kind'].lower()}/{meta['name']} configured",
                    }
                )
            except ApiError as e:
                phase, message = "Failed", f"one or more objects failed to apply, reason: {e.message}"
                result.append(
                    {
                        "group": o["apiVersion"].rpartition("/")[0],
                        "kind": o["kind"],
                        "namespace": meta.get("namespace", ""),
                        "name": meta["name"],
                        "status": "SyncFailed",
                        "message": e.message,
                    }
                )
        state: Obj = {
            "phase": phase,
            "message": message,
            "startedAt": started,
            "operation": op,
            "syncResult": {"revision": sha, "resources": result, "source": app["spec"].get("source")},
        }
        if phase == "Succeeded" and wait:
            state.update(
                {
                    "phase": "Running",
                    "message": "waiting for completion of hook and healthy state of resources",
                }
            )
            self.waiting_healthy.add(app["metadata"]["name"])
        else:
            state["finishedAt"] = now()
        world.patch_status(app, {"operationState": state})
        world.patch(app, {"operation": None})
        world.event(
            app,
            "OperationCompleted" if phase == "Succeeded" else "OperationFailed",
            f"Sync operation to {sha} {phase.lower()}",
            source="argocd-application-controller",
        )


def initial_admin_secret(password: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "argocd-initial-admin-secret", "namespace": NS},
        "type": "Opaque",
        "data": {"password": base64.b64encode(password.encode()).decode()},
    }


def merge(a: Obj, b: Obj) -> Obj:
    return dict(merge_patch(a, b))


__all__ = ["AppController", "initial_admin_secret"]
