"""Argo Workflows: DAG execution with real git clones, a real build and push, and real step scripts.

Rules (``argoproj/argo-workflows@v3.4.4``; v4.1.2 unchanged for these; research ``events-workflows.md`` 4-5):

* phases ``Running`` then ``Succeeded``/``Failed``/``Error``; labels ``workflows.argoproj.io/phase`` and
  ``/completed``; events ``WorkflowRunning``/``WorkflowSucceeded``/``WorkflowFailed``;
* node IDs ``<wf>-<fnv32a(node name)>``, task nodes named ``<wf>.<task>``, pods named
  ``<wf>-<template>-<fnv32a(node name)>`` (POD_NAMES v2) labelled ``workflows.argoproj.io/workflow`` and
  annotated ``workflows.argoproj.io/node-id``/``node-name``; logs in containers ``init`` and ``main``;
* a DAG task runs when its ``depends``/``dependencies`` succeeded; tasks after a failure are ``Omitted``
  and the workflow fails with ``child '<id>' failed``;
* ``inputs.parameters`` without a value fail validation (``inputs.parameters.<n> was not supplied``);
  ``{{inputs.parameters.<n>}}`` is substituted in the template;
* a git input artifact is cloned for real. With an ``sshPrivateKeySecret``, ``auth()``
  (``workflow/artifacts/git/git.go``) first parses the key with ``ssh.ParsePrivateKey``: a key that is not a
  PEM block (``pem.Decode`` finds none, as for the tutorial's ``...`` placeholder) fails with
  ``ssh: no key found``; a parsed key with an http(s) URL then fails in go-git with ``invalid auth method``;
  either way the node is ``Error`` (:func:`parse_private_key`); ``singleBranch``
  needs ``branch``; ``revision`` is checked out after the clone;
* a secret volume or ``secretKeyRef`` that does not exist keeps the pod Pending (``FailedMount`` /
  ``CreateContainerConfigError``), so the node stays Pending;
* a BuildKit step (``buildctl[-daemonless.sh] build``) builds the context's Dockerfile for real
  (:mod:`argo_tutorial_suite.backends.oci`) and pushes ``--output type=image,name=...,push=true``; a registry other
  than the suite's cannot be resolved; a non-loopback registry without ``registry.insecure=true`` is tried
  over HTTPS (BuildKit ``util/resolver``);
* any other container runs its ``command``/``args`` with the host's shell and tools in a private ``/tmp``
  (image contents are simulated: ``apk`` is a no-op, ``curl``/``git``/``sed`` are the host's).
"""

from __future__ import annotations

import base64
import copy
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends import oci
from argo_tutorial_suite.backends.sim.api_semantics import ApiError
from argo_tutorial_suite.backends.sim.store import now
from argo_tutorial_suite.backends.sim.world import World
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import REDACTOR

TERMINAL = ("Succeeded", "Failed", "Error")


def fnv32a(s: str) -> int:
    h = 0x811C9DC5
    for b in s.encode():
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def node_id(wf: str, node_name: str) -> str:
    return f"{wf}-{fnv32a(node_name)}"


def pod_name(wf: str, template: str, node_name: str) -> str:
    return f"{wf}-{template}-{fnv32a(node_name)}"[:253]


def substitute(obj: Any, params: dict[str, str]) -> Any:
    if isinstance(obj, str):
        return re.sub(r"\{\{\s*inputs\.parameters\.([\w-]+)\s*\}\}", lambda m: params.get(m.group(1), m.group(0)), obj)
    if isinstance(obj, list):
        return [substitute(v, params) for v in obj]
    if isinstance(obj, dict):
        return {k: substitute(v, params) for k, v in obj.items()}
    return obj


def depends_on(task: Obj) -> list[str]:
    if task.get("dependencies"):
        return list(task["dependencies"])
    expr = task.get("depends") or ""
    return [n.split(".")[0] for n in re.findall(r"[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?", expr) if n not in ("&&", "||")]


PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)
SSH_KEY_TYPES = (b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"DSA PRIVATE KEY", b"PRIVATE KEY", b"OPENSSH PRIVATE KEY")


def parse_private_key(data: bytes) -> str | None:
    """``golang.org/x/crypto/ssh.ParsePrivateKey``'s verdict on ``data``: None when it parses, else its error.

    ``pem.Decode`` skips a block whose body is not valid base64 (``encoding/pem``: "if the base64 decoding
    fails, the block is ignored") and returns nil when none is left: ``ssh: no key found``. A block of another
    type is ``ssh: unsupported key type``. The key material itself is checked with ``cryptography``."""
    block: tuple[bytes, bytes] | None = None
    for m in PEM_BLOCK.finditer(data):
        body = b"".join(line for line in m.group(2).splitlines() if b":" not in line)
        try:
            decoded = base64.b64decode(body, validate=True)
        except ValueError:
            continue
        block = (m.group(1), decoded)
        break
    if block is None:
        return "ssh: no key found"
    kind, _ = block
    if kind not in SSH_KEY_TYPES:
        return f'ssh: unsupported key type "{kind.decode()}"'
    try:
        if kind == b"OPENSSH PRIVATE KEY":
            serialization.load_ssh_private_key(data, password=None)
        else:
            serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        return f"ssh: {e}"
    return None


class StepFailed(Exception):
    def __init__(self, phase: str, message: str, pending: bool = False):
        super().__init__(message)
        self.phase, self.message, self.pending = phase, message, pending


class Workflows:
    def __init__(self, world: World, go: str, unshare_mount: list[str] | None):
        self.go = go
        self.unshare_mount = unshare_mount
        self.running: set[str] = set()
        shims = world.procs.dir("wf-shims")
        (shims / "apk").write_text('#!/bin/sh\necho "(simulated) apk $*: the host provides the tools of this image"\n')
        (shims / "apk").chmod(0o755)
        (shims / ".curlrc").write_text("connect-timeout = 10\n")
        self.shims = shims

    def close(self, world: World) -> None:
        """Nothing of its own to stop (what it started, the kubelet twin stops)."""

    def reconcile(self, world: World) -> None:
        for wf in world.list(ARGOPROJ, "Workflow"):
            uid = wf["metadata"]["uid"]
            if (wf.get("status") or {}).get("phase") in TERMINAL or uid in self.running:
                continue
            self.running.add(uid)
            threading.Thread(
                target=self.run, args=(world, wf), daemon=True, name=f"sim-wf-{wf['metadata']['name']}"
            ).start()

    # -- a workflow -------------------------------------------------------------------------------------------
    def run(self, world: World, wf: Obj) -> None:
        try:
            self._run(world, wf)
        except Exception as e:  # a crash of the twin must show, never hang the wait
            world.store.log("argo", "workflow-controller", "workflow-controller", traceback.format_exc())
            try:
                world.patch_status(
                    wf, {"phase": "Error", "message": f"simulated workflow controller crashed: {type(e).__name__}: {e}"}
                )
            except Exception:
                pass

    def _run(self, world: World, wf: Obj) -> None:
        name, ns = wf["metadata"]["name"], wf["metadata"]["namespace"]
        spec = wf.get("spec") or {}
        templates = {t["name"]: t for t in spec.get("templates") or []}
        root = templates.get(spec.get("entrypoint", ""))
        nodes: dict[str, Obj] = {}
        root_id = name
        nodes[root_id] = {
            "id": root_id,
            "name": name,
            "displayName": name,
            "type": "DAG",
            "templateName": spec.get("entrypoint"),
            "phase": "Running",
            "startedAt": now(),
            "children": [],
        }
        self._status(world, wf, "Running", "", nodes, started=True)
        world.event(wf, "WorkflowRunning", "Workflow Running", source="workflow-controller")
        for vct in spec.get("volumeClaimTemplates") or []:
            try:
                world.create(
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {
                            "name": f"{name}-{vct['metadata']['name']}",
                            "namespace": ns,
                            "labels": {"workflows.argoproj.io/workflow": name},
                            "ownerReferences": [world.owner_ref(wf)],
                        },
                        "spec": vct.get("spec") or {},
                        "status": {"phase": "Bound"},
                    }
                )
            except ApiError:
                pass
        if root is None or "dag" not in root:
            self._finish(
                world,
                wf,
                nodes,
                "Error",
                f"invalid spec: entrypoint {spec.get('entrypoint')!r} is not a DAG template (the simulated Argo Workflows models DAGs)",
            )
            return
        for t in templates.values():
            for p in (t.get("inputs") or {}).get("parameters") or []:
                if "value" not in p and "default" not in p:
                    self._finish(
                        world,
                        wf,
                        nodes,
                        "Error",
                        f"invalid spec: templates.{t['name']}.inputs.parameters.{p['name']} was not supplied",
                    )
                    return
        tasks = {t["name"]: t for t in root["dag"].get("tasks") or []}
        done: dict[str, str] = {}
        failed_msg = ""
        while len(done) < len(tasks):
            progressed = False
            for tname, task in tasks.items():
                if tname in done:
                    continue
                deps = depends_on(task)
                if any(d not in done for d in deps):
                    continue
                progressed = True
                nname = f"{name}.{tname}"
                nid = node_id(name, nname)
                nodes[root_id]["children"].append(nid)
                if any(done[d] != "Succeeded" for d in deps):
                    nodes[nid] = {
                        "id": nid,
                        "name": nname,
                        "displayName": tname,
                        "type": "Skipped",
                        "templateName": task.get("template"),
                        "phase": "Omitted",
                        "message": "omitted: depends condition not met",
                        "boundaryID": root_id,
                    }
                    done[tname] = "Omitted"
                    continue
                tmpl = copy.deepcopy(templates.get(task.get("template", "")) or {})
                nodes[nid] = {
                    "id": nid,
                    "name": nname,
                    "displayName": tname,
                    "type": "Pod",
                    "templateName": task.get("template"),
                    "phase": "Pending",
                    "startedAt": now(),
                    "boundaryID": root_id,
                }
                self._status(world, wf, "Running", "", nodes)
                phase, msg = self.step(world, wf, nodes, nid, nname, tmpl, task)
                nodes[nid].update({"phase": phase, "message": msg or None, "finishedAt": now()})
                done[tname] = phase
                if phase != "Succeeded" and not failed_msg:
                    failed_msg = f"child '{nid}' failed"
                self._status(world, wf, "Running", "", nodes)
            if not progressed:
                self._finish(world, wf, nodes, "Error", "invalid spec: DAG has unresolvable dependencies")
                return
        phase = "Succeeded" if all(v == "Succeeded" for v in done.values()) else "Failed"
        self._finish(world, wf, nodes, phase, "" if phase == "Succeeded" else failed_msg)

    def _status(
        self, world: World, wf: Obj, phase: str, message: str, nodes: dict[str, Obj], started: bool = False
    ) -> None:
        st: Obj = {
            "phase": phase,
            "message": message or None,
            "nodes": copy.deepcopy(nodes),
            "progress": f"{sum(1 for n in nodes.values() if n['phase'] == 'Succeeded' and n['type'] == 'Pod')}/{sum(1 for n in nodes.values() if n['type'] == 'Pod')}",
        }
        if started:
            st["startedAt"] = now()
        world.patch_status(wf, st)
        world.patch(
            wf,
            {
                "metadata": {
                    "labels": {
                        "workflows.argoproj.io/phase": phase,
                        "workflows.argoproj.io/completed": "true" if phase in TERMINAL else "false",
                    }
                }
            },
        )

    def _finish(self, world: World, wf: Obj, nodes: dict[str, Obj], phase: str, message: str) -> None:
        root = nodes[wf["metadata"]["name"]]
        root.update({"phase": phase, "finishedAt": now(), **({"message": message} if message else {})})
        world.patch_status(
            wf, {"phase": phase, "message": message or None, "finishedAt": now(), "nodes": copy.deepcopy(nodes)}
        )
        world.patch(
            wf,
            {"metadata": {"labels": {"workflows.argoproj.io/phase": phase, "workflows.argoproj.io/completed": "true"}}},
        )
        world.event(
            wf,
            "WorkflowSucceeded" if phase == "Succeeded" else "WorkflowFailed",
            f"Workflow completed{'' if phase == 'Succeeded' else ': ' + message}",
            "Normal" if phase == "Succeeded" else "Warning",
            "workflow-controller",
        )

    # -- a step -----------------------------------------------------------------------------------------------
    def step(
        self, world: World, wf: Obj, nodes: dict[str, Obj], nid: str, nname: str, tmpl: Obj, task: Obj
    ) -> tuple[str, str]:
        wname, ns = wf["metadata"]["name"], wf["metadata"]["namespace"]
        params = {
            p["name"]: str(p.get("value", p.get("default", "")))
            for p in (tmpl.get("inputs") or {}).get("parameters") or []
        }
        for a in (task.get("arguments") or {}).get("parameters") or []:
            params[a["name"]] = str(a.get("value", ""))
        tmpl = substitute(tmpl, params)
        pname = pod_name(wname, tmpl.get("name", ""), nname)
        pod = world.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pname,
                    "namespace": ns,
                    "labels": {"workflows.argoproj.io/workflow": wname, "workflows.argoproj.io/completed": "false"},
                    "annotations": {"workflows.argoproj.io/node-id": nid, "workflows.argoproj.io/node-name": nname},
                    "ownerReferences": [world.owner_ref(wf)],
                },
                "spec": {
                    "containers": [
                        {"name": "main", **{k: v for k, v in (tmpl.get("container") or {}).items() if k != "name"}}
                    ]
                },
                "status": {"phase": "Pending"},
            }
        )
        podroot = world.procs.dir(f"wf-pods/{ns}/{pname}")

        def log(container: str, line: str) -> None:
            world.store.log(ns, pname, container, REDACTOR.text(line))

        try:
            if tmpl.get("name") in world.faults.fail_templates:
                raise StepFailed("Failed", world.faults.fail_templates[tmpl["name"]])
            self.mounts(world, ns, tmpl)
            env = self.env(world, ns, (tmpl.get("container") or {}).get("env") or [])
            world.patch_status(pod, {"phase": "Running"})
            nodes[nid]["phase"] = "Running"
            self._status(world, wf, "Running", "", nodes)
            for art in (tmpl.get("inputs") or {}).get("artifacts") or []:
                self.artifact(world, ns, art, podroot, lambda line: log("init", line))
            self.container(world, tmpl.get("container") or {}, env, podroot, lambda line: log("main", line))
        except StepFailed as e:
            if e.pending:
                world.patch_status(
                    pod,
                    {
                        "phase": "Pending",
                        "conditions": [
                            {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": e.message}
                        ],
                    },
                )
                world.event(pod, "FailedMount", e.message, "Warning", "kubelet")
                nodes[nid].update({"phase": "Pending", "message": e.message})
                self._status(world, wf, "Running", "", nodes)
                while world.get(ARGOPROJ, "Workflow", wname, ns) is not None:
                    time.sleep(1)  # like kubelet: retries the mount forever; the Workflow stays Running
                return "Error", e.message
            world.patch_status(pod, {"phase": "Failed", "message": e.message})
            world.patch(pod, {"metadata": {"labels": {"workflows.argoproj.io/completed": "true"}}})
            return e.phase, e.message
        world.patch_status(pod, {"phase": "Succeeded"})
        world.patch(pod, {"metadata": {"labels": {"workflows.argoproj.io/completed": "true"}}})
        return "Succeeded", ""

    def mounts(self, world: World, ns: str, tmpl: Obj) -> None:
        for v in tmpl.get("volumes") or []:
            sec = (v.get("secret") or {}).get("secretName")
            if sec and world.get("v1", "Secret", sec, ns) is None:
                raise StepFailed(
                    "Error",
                    f'MountVolume.SetUp failed for volume "{v["name"]}" : secret "{sec}" not found',
                    pending=True,
                )

    def env(self, world: World, ns: str, env: list[Obj]) -> dict[str, str]:

        out: dict[str, str] = {}
        for e in env:
            if "value" in e:
                out[e["name"]] = str(e["value"])
                continue
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                sec = world.get("v1", "Secret", ref["name"], ns)
                if sec is None or ref["key"] not in (sec.get("data") or {}):
                    what = (
                        f'secret "{ref["name"]}" not found'
                        if sec is None
                        else f"couldn't find key {ref['key']} in Secret {ns}/{ref['name']}"
                    )
                    raise StepFailed("Error", f"CreateContainerConfigError: {what}", pending=True)
                value = base64.b64decode(sec["data"][ref["key"]]).decode()
                REDACTOR.register(value) if ref["key"] in ("password", "token") else None
                out[e["name"]] = value
        return out

    def artifact(self, world: World, ns: str, art: Obj, podroot: Path, log: Callable[[str], None]) -> None:
        git = art.get("git")
        if not git:
            raise StepFailed("Error", f"artifact {art.get('name')}: only git artifacts are modelled")
        repo = git["repo"]
        dest = podroot / "fs" / str(art.get("path", "/src")).lstrip("/")
        if git.get("sshPrivateKeySecret"):
            key = git["sshPrivateKeySecret"]
            sec = world.get("v1", "Secret", key["name"], ns)
            if sec is None:
                raise StepFailed("Error", f'MountVolume.SetUp failed: secret "{key["name"]}" not found', pending=True)
            raw = base64.b64decode((sec.get("data") or {}).get(key.get("key", ""), "") or b"")
            parse_error = parse_private_key(raw)
            if parse_error is not None:
                msg = parse_error
            elif re.match(r"^https?://", repo):
                msg = f'failed to clone "{repo}": invalid auth method'
            else:
                msg = ""
            if msg:
                log(f'level=error msg="{msg}"')
                raise StepFailed("Error", f"Error (exit code 1): artifact {art.get('name')} failed to load: {msg}")
        if git.get("singleBranch") and not git.get("branch"):
            raise StepFailed("Error", "Error (exit code 1): single branch mode without a branch specified")
        argv = ["git", "clone", "-q"]
        if git.get("depth") and not git.get("revision"):
            argv += ["--depth", str(git["depth"])]
        if git.get("branch"):
            argv += ["--branch", git["branch"]]
            if git.get("singleBranch"):
                argv.append("--single-branch")
        dest.parent.mkdir(parents=True, exist_ok=True)
        cp = subprocess.run([*argv, repo, str(dest)], capture_output=True, text=True, timeout=120, check=False)
        log(f"cloning {repo}: exit {cp.returncode} {cp.stderr.strip()}")
        if cp.returncode != 0:
            raise StepFailed(
                "Error",
                f'Error (exit code 1): artifact {art.get("name")} failed to load: failed to clone "{repo}": {cp.stderr.strip()[-300:]}',
            )
        if git.get("revision"):
            co = subprocess.run(
                ["git", "-C", str(dest), "checkout", "-q", git["revision"]], capture_output=True, text=True, check=False
            )
            if co.returncode != 0:
                raise StepFailed(
                    "Error",
                    f"Error (exit code 1): artifact {art.get('name')} failed to load: checkout {git['revision']}: {co.stderr.strip()}",
                )

    def container(self, world: World, c: Obj, env: dict[str, str], podroot: Path, log: Callable[[str], None]) -> None:
        argv = [*(c.get("command") or []), *(c.get("args") or [])]
        if not argv:
            raise StepFailed(
                "Error",
                "Error (exit code 1): the simulated Argo Workflows needs the container's command (emissary looks it up in the registry)",
            )
        fs = podroot / "fs"
        cwd = fs / str(c.get("workingDir") or "/").lstrip("/")
        cwd.mkdir(parents=True, exist_ok=True)
        if os.path.basename(argv[0]) in ("buildctl-daemonless.sh", "buildctl"):
            return self.buildkit(world, argv[1:], cwd, log)
        tmp = podroot / "tmp"
        tmp.mkdir(exist_ok=True)
        # the shims live in the pod's own /tmp, so they stay visible once it is mounted over /tmp
        shutil.copytree(self.shims, tmp / ".sim-bin", dirs_exist_ok=True)
        bin_dir = "/tmp/.sim-bin" if self.unshare_mount else str(tmp / ".sim-bin")
        home = "/tmp" if self.unshare_mount else str(tmp)
        penv = {
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": home,
            "CURL_HOME": bin_dir,
            **env,
        }
        wrapped = list(argv)
        if self.unshare_mount:
            script = 'cd "$1" && mount --bind "$2" /tmp && shift 2 && exec "$@"'
            wrapped = [*self.unshare_mount, "sh", "-c", script, "_", str(cwd), str(tmp), *argv]
        log(f"(simulated) image {c.get('image')}: running {shlex.join(argv)[:200]} with the host's tools")
        try:
            cp = subprocess.run(wrapped, cwd=cwd, env=penv, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            raise StepFailed(
                "Failed", "Error (exit code 124): step timed out after 300s (simulated activeDeadline)"
            ) from None
        for line in (cp.stdout + cp.stderr).splitlines():
            log(line)
        if cp.returncode != 0:
            raise StepFailed("Failed", f"Error (exit code {cp.returncode})")

    def buildkit(self, world: World, args: list[str], cwd: Path, log: Callable[[str], None]) -> None:
        locals_: dict[str, str] = {}
        output = ""
        it = iter(args)
        for a in it:
            if a == "--local":
                k, _, v = next(it).partition("=")
                locals_[k] = v
            elif a == "--output":
                output = next(it)
            elif a == "--frontend":
                next(it)
        opts = dict(kv.partition("=")[::2] for kv in output.split(",") if kv)
        if opts.get("type") != "image" or not opts.get("name"):
            raise StepFailed(
                "Failed",
                f"Error (exit code 1): output {output!r} is outside the simulated BuildKit (type=image,name=...)",
            )
        ref = oci.Ref.parse(opts["name"])
        context = cwd / locals_.get("context", ".")
        dockerfile = cwd / locals_.get("dockerfile", ".") / "Dockerfile"
        if not dockerfile.exists():
            raise StepFailed(
                "Failed",
                "Error (exit code 1): failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory",
            )
        lines: list[str] = []
        try:
            layer, config = oci.build(context, dockerfile.read_text(), self.go, lines)
        except oci.BuildError as e:
            for line in lines:
                log(line)
            raise StepFailed("Failed", f"Error (exit code 1): failed to solve: {e}") from e
        for line in lines:
            log(line)
        if opts.get("push") != "true":
            log("(image not pushed: push=false)")
            return
        if ref.host != world.registry.name:
            msg = f'failed to push {ref}: failed to do request: Head "https://{ref.host}/v2/{ref.repo}/blobs/sha256:...": dial tcp: lookup {ref.host.split(":")[0]}: no such host'
            log(msg)
            raise StepFailed("Failed", f"Error (exit code 1): {msg}")
        if not pushes_over_plain_http(ref.host, opts):
            raise StepFailed("Failed", f"Error (exit code 1): failed to push {ref}: {PLAIN_HTTP_REFUSED}")
        digest = oci.push(ref, layer, config, address=world.registry.address)
        log(f"#9 pushing manifest for {ref}@{digest} done")


PLAIN_HTTP_REFUSED = "http: server gave HTTP response to HTTPS client"  # Go net/http, BuildKit passes it on
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def pushes_over_plain_http(host: str, opts: dict[str, str]) -> bool:
    """Whether BuildKit pushes to a plain-HTTP registry at ``host`` (``name[:port]``): to a loopback name
    (``localhost``, ``127.0.0.1``, ``[::1]``) it falls back to HTTP; to any other only with the output's
    ``registry.insecure=true`` (BuildKit ``util/resolver``, containerd's ``docker.MatchLocalhost``). Checked
    against BuildKit v0.11.0 itself by ``tests/test_buildkit_real.py``."""
    if host.startswith("["):
        name = host[1 : host.find("]")]
    else:
        name = host.split(":")[0] if host.count(":") <= 1 else host
    return name in LOOPBACK or opts.get("registry.insecure") == "true"


def detect_unshare_mount() -> list[str] | None:
    """``unshare -m`` (root) or ``unshare -rm``; None when private mounts are unavailable."""
    for argv in (["unshare", "-m", "--propagation", "private"], ["unshare", "-rm", "--propagation", "private"]):
        try:
            cp = subprocess.run(
                [*argv, "sh", "-c", "mount --bind /tmp /tmp"], capture_output=True, timeout=10, check=False
            )
            if cp.returncode == 0:
                return argv
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


__all__ = ["Workflows", "detect_unshare_mount", "fnv32a", "node_id", "pod_name", "shutil"]
