"""Workloads: the Deployment, ReplicaSet and StatefulSet controllers and the kubelet.

Rules (kubernetes ``pkg/controller/deployment``, ``replicaset``, ``statefulset``, ``pkg/kubelet``):

* a Deployment owns one ReplicaSet per pod template, named ``<deploy>-<pod-template-hash>`` and labelled
  ``pod-template-hash``; the old ReplicaSets are scaled to 0 once the new one is available (rolling update
  collapsed into one step);
* a ReplicaSet creates or deletes pods ``<rs>-<5 chars>`` to match ``spec.replicas``; a StatefulSet creates
  ``<sts>-0..n-1`` in order (``OrderedReady``: the next only after the previous is Ready);
* status counts (``replicas``, ``readyReplicas``, ``availableReplicas``, ``updatedReplicas``,
  ``observedGeneration``) as ``kubectl rollout status`` reads them;
* the kubelet: a pod whose image is in the suite's registry is pulled for real and its entrypoint run in
  a network namespace of its own (:mod:`argo_tutorial_suite.backends.sim.podnet`); a failed pull is ``ErrImagePull``
  then ``ImagePullBackOff``; a container without a readiness probe is Ready when it started, with an
  ``httpGet`` probe when the probe answers 2xx/3xx; a process that exits is restarted (``CrashLoopBackOff``
  after 3 restarts). Pods of the stack's own controllers (EventSource, Sensor, EventBus) are marked
  ``runtime: twin``: their behaviour is the twin's, they become Ready after ``pod_ready_delay``.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from argo_tutorial_suite.backends import oci
from argo_tutorial_suite.backends.sim.api_semantics import ApiError, label_match, selector_of
from argo_tutorial_suite.backends.sim.store import now
from argo_tutorial_suite.backends.sim.world import Endpoint, World, template_hash
from argo_tutorial_suite.objects import Obj

RUNTIME = "sim.argo-suite.test/runtime"
WORKLOAD = "sim.argo-suite.test/workload"
CREATED = "sim.argo-suite.test/created-at"
PODNET = Path(__file__).resolve().parent.parent / "podnet.py"


def suffix(n: int = 5) -> str:
    return "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=n))


def pod_from_template(world: World, owner: Obj, name: str, template: Obj, extra_labels: dict[str, str]) -> Obj:
    meta = template.get("metadata") or {}
    ann = dict(meta.get("annotations") or {})
    ann[CREATED] = str(time.monotonic())
    ann.setdefault(WORKLOAD, (owner["metadata"].get("annotations") or {}).get(WORKLOAD, owner["metadata"]["name"]))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": {**(meta.get("labels") or {}), **extra_labels},
            "annotations": ann,
            "ownerReferences": [world.owner_ref(owner)],
        },
        "spec": template.get("spec") or {},
        "status": {"phase": "Pending"},
    }


class Controllers:
    """Deployment, ReplicaSet and StatefulSet controllers."""

    def close(self, world: World) -> None:
        """Nothing of its own to stop (what it started, the kubelet twin stops)."""

    def reconcile(self, world: World) -> None:
        for d in world.list("apps/v1", "Deployment"):
            self.deployment(world, d)
        for rs in world.list("apps/v1", "ReplicaSet"):
            self.replicaset(world, rs)
        for s in world.list("apps/v1", "StatefulSet"):
            self.statefulset(world, s)

    def deployment(self, world: World, d: Obj) -> None:
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        tmpl = d["spec"].get("template") or {}
        h = template_hash(tmpl)
        owned = [rs for rs in world.list("apps/v1", "ReplicaSet", ns) if world.owned_by(rs, d)]
        new = next((rs for rs in owned if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == h), None)
        want = int(d["spec"].get("replicas", 1))
        if new is None:
            t = world_template(tmpl, {"pod-template-hash": h})
            ann = {WORKLOAD: (d["metadata"].get("annotations") or {}).get(WORKLOAD, name)}
            new = world.create(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{name}-{h}",
                        "namespace": ns,
                        "labels": t["metadata"]["labels"],
                        "annotations": ann,
                        "ownerReferences": [world.owner_ref(d)],
                    },
                    "spec": {
                        "replicas": want,
                        "selector": {
                            "matchLabels": {
                                **(d["spec"].get("selector", {}).get("matchLabels") or {}),
                                "pod-template-hash": h,
                            }
                        },
                        "template": t,
                    },
                }
            )
            owned.append(new)
        elif int(new["spec"].get("replicas", 0)) != want:
            world.patch(new, {"spec": {"replicas": want}})
        new_avail = int((new.get("status") or {}).get("availableReplicas", 0))
        for rs in owned:
            if (
                rs["metadata"]["uid"] != new["metadata"]["uid"]
                and new_avail >= want
                and int(rs["spec"].get("replicas", 0)) != 0
            ):
                world.patch(rs, {"spec": {"replicas": 0}})
        total = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in owned)
        st = new.get("status") or {}
        conds = [
            {
                "type": "Available",
                "status": "True" if new_avail >= want else "False",
                "reason": "MinimumReplicasAvailable" if new_avail >= want else "MinimumReplicasUnavailable",
            }
        ]
        world.patch_status(
            d,
            {
                "observedGeneration": d["metadata"]["generation"],
                "replicas": total,
                "updatedReplicas": int(st.get("replicas", 0)),
                "readyReplicas": int(st.get("readyReplicas", 0)),
                "availableReplicas": new_avail,
                "conditions": conds,
            },
        )

    def replicaset(self, world: World, rs: Obj) -> None:
        ns = rs["metadata"]["namespace"]
        want = int(rs["spec"].get("replicas", 1))
        sel = selector_of(rs["spec"].get("selector"))
        pods = [
            p
            for p in world.list("v1", "Pod", ns)
            if world.owned_by(p, rs) and label_match(p["metadata"].get("labels") or {}, sel)
        ]
        for _ in range(want - len(pods)):
            pods.append(
                world.create(
                    pod_from_template(world, rs, f"{rs['metadata']['name']}-{suffix()}", rs["spec"]["template"], {})
                )
            )
        if len(pods) > want:
            for p in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)[: len(pods) - want]:
                world.delete(p)
                pods.remove(p)
        ready = sum(1 for p in pods if _ready(p))
        world.patch_status(
            rs,
            {
                "observedGeneration": rs["metadata"]["generation"],
                "replicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "fullyLabeledReplicas": len(pods),
            },
        )

    def statefulset(self, world: World, s: Obj) -> None:
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        want = int(s["spec"].get("replicas", 1))
        pods = {p["metadata"]["name"]: p for p in world.list("v1", "Pod", ns) if world.owned_by(p, s)}
        for i in range(want):
            pname = f"{name}-{i}"
            if pname not in pods:
                world.create(
                    pod_from_template(
                        world, s, pname, s["spec"]["template"], {"statefulset.kubernetes.io/pod-name": pname}
                    )
                )
                break  # OrderedReady: one at a time
            if not _ready(pods[pname]):
                break
        ready = sum(1 for p in pods.values() if _ready(p))
        world.patch_status(
            s,
            {
                "observedGeneration": s["metadata"]["generation"],
                "replicas": len(pods),
                "readyReplicas": ready,
                "currentReplicas": len(pods),
                "updatedReplicas": len(pods),
                "availableReplicas": ready,
            },
        )


def world_template(tmpl: Obj, labels: dict[str, str]) -> Obj:
    t = {"metadata": dict(tmpl.get("metadata") or {}), "spec": tmpl.get("spec") or {}}
    t["metadata"]["labels"] = {**(t["metadata"].get("labels") or {}), **labels}
    return t


def _ready(p: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (p.get("status") or {}).get("conditions") or []
    )


class Kubelet:
    """Runs pods: real processes for images from the suite's registry, twin pods for the stack's controllers."""

    def __init__(self, unshare: list[str]):
        self.unshare = unshare
        self.running: dict[str, subprocess.Popen[bytes]] = {}  # pod uid -> process
        self.next_try: dict[str, float] = {}
        self.restarts: dict[str, int] = {}
        self.probed: dict[str, tuple[float, bool]] = {}  # pod uid -> (when, result): probe period 1 s

    def reconcile(self, world: World) -> None:
        live = set()
        for p in world.list("v1", "Pod"):
            uid = p["metadata"]["uid"]
            live.add(uid)
            labels = p["metadata"].get("labels") or {}
            if "workflows.argoproj.io/workflow" in labels:
                continue  # the workflow twin runs these
            if (p["metadata"].get("annotations") or {}).get(RUNTIME) == "twin":
                self.twin_pod(world, p)
            else:
                self.image_pod(world, p)
        for uid in list(self.running):
            if uid not in live:
                world.procs.stop(self.running.pop(uid))

    def close(self, world: World) -> None:
        for proc in self.running.values():
            world.procs.stop(proc)
        self.running.clear()

    # -- twin pods ------------------------------------------------------------------------------------------
    def twin_pod(self, world: World, p: Obj) -> None:
        workload = (p["metadata"].get("annotations") or {}).get(WORKLOAD, "")
        if _ready(p) or workload in world.faults.never_ready:
            if not (p.get("status") or {}).get("phase") == "Running" and workload in world.faults.never_ready:
                world.patch_status(p, running_status(p, ready=False))
            return
        if world.elapsed(p) >= world.settings.pod_ready_delay:
            world.patch_status(p, running_status(p, ready=True))

    # -- image pods -----------------------------------------------------------------------------------------
    def image_pod(self, world: World, p: Obj) -> None:
        uid, ns, name = p["metadata"]["uid"], p["metadata"]["namespace"], p["metadata"]["name"]
        workload = (p["metadata"].get("annotations") or {}).get(WORKLOAD, "")
        containers = p["spec"].get("containers") or []
        if not containers:
            return
        c = containers[0]
        proc = self.running.get(uid)
        if proc is None:
            if time.monotonic() < self.next_try.get(uid, 0):
                return
            try:
                proc = self.start(world, p, c)
            except oci.PullError as e:
                tries = self.restarts.get(uid + "/pull", 0) + 1
                self.restarts[uid + "/pull"] = tries
                self.next_try[uid] = time.monotonic() + min(5.0, 0.5 * tries)
                reason = "ErrImagePull" if tries == 1 else "ImagePullBackOff"
                world.patch_status(p, waiting_status(p, c, reason, str(e)))
                if tries == 1:
                    world.event(p, "Failed", f'Failed to pull image "{c.get("image")}": {e}', "Warning", "kubelet")
                return
            except (OSError, ValueError) as e:
                world.patch_status(p, waiting_status(p, c, "CreateContainerError", str(e)))
                return
            self.running[uid] = proc
            world.event(p, "Started", f"Started container {c['name']}", "Normal", "kubelet")
        code = proc.poll()
        if code is not None:
            self.running.pop(uid, None)
            n = self.restarts.get(uid, 0) + 1
            self.restarts[uid] = n
            self.next_try[uid] = time.monotonic() + min(10.0, 0.5 * 2**n)
            reason = "CrashLoopBackOff" if n >= 3 else "Error"
            world.patch_status(p, waiting_status(p, c, reason, f"container exited with code {code}", restarts=n))
            return
        last = self.probed.get(uid)
        if last is None or time.monotonic() - last[0] >= 1.0 or not last[1]:
            last = (time.monotonic(), self.probe(world, ns, name, c))
            self.probed[uid] = last
        ready = workload not in world.faults.never_ready and last[1]
        if ready != _ready(p) or (p.get("status") or {}).get("phase") != "Running":
            world.patch_status(p, running_status(p, ready=ready, restarts=self.restarts.get(uid, 0)))

    def start(self, world: World, p: Obj, c: Obj) -> subprocess.Popen[bytes]:
        ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
        ref = oci.Ref.parse(str(c.get("image", "")))
        if ref.host != world.registry.name:
            raise oci.PullError(
                f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": failed to do request: '
                f'Head "https://{ref.host}/v2/{ref.repo}/manifests/{ref.tag}": dial tcp: lookup {ref.host}: no such host'
            )
        podroot = world.procs.dir(f"pods/{ns}/{name}-{p['metadata']['uid'][:8]}")
        rootfs = podroot / "rootfs"
        config = oci.pull(ref, rootfs, address=world.registry.address)
        cfg = config.get("config") or {}
        argv = list(c.get("command") or cfg.get("Entrypoint") or []) + list(c.get("args") or cfg.get("Cmd") or [])
        if not argv:
            raise ValueError(f"image {ref} has no entrypoint and the container no command")
        exe = rootfs / argv[0].lstrip("/")
        if not exe.exists():
            raise ValueError(f'exec: "{argv[0]}": stat {argv[0]}: no such file or directory')
        exe.chmod(0o755)
        ports = sorted(
            {int(pt["containerPort"]) for pt in c.get("ports") or [] if pt.get("containerPort")} | probe_ports(c)
        )
        socks = podroot / "net"
        socks.mkdir(exist_ok=True)
        cwd = rootfs / str(c.get("workingDir") or cfg.get("WorkingDir") or "/").lstrip("/")
        cwd.mkdir(parents=True, exist_ok=True)
        proc = world.procs.start(
            f"pod-{ns}-{name}",
            [
                *self.unshare,
                sys.executable,
                str(PODNET),
                "--sock-dir",
                str(socks),
                "--ports",
                ",".join(map(str, ports)),
                "--cwd",
                str(cwd),
                "--",
                str(exe),
                *argv[1:],
            ],
            log=podroot / "main.log",
        )
        with world.lock:
            world.endpoints[(ns, name)] = {port: Endpoint("unix", str(socks / f"{port}.sock")) for port in ports}
        world.store.log(ns, name, c["name"], f"(simulated) started {ref} entrypoint {argv}")
        return proc

    def probe(self, world: World, ns: str, name: str, c: Obj) -> bool:
        ep = world.endpoints.get((ns, name), {})
        probe = c.get("readinessProbe")
        if not probe:
            return True  # kubelet: no readiness probe -> Ready once started
        http = probe.get("httpGet")
        if http:
            port = int(http.get("port"))
            e = ep.get(port)
            if e is None:
                return False
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=e.address), timeout=1) as cl:
                    r = cl.get(f"http://pod{http.get('path', '/')}")
                return 200 <= r.status_code < 400
            except httpx.HTTPError:
                return False
        tcp = probe.get("tcpSocket")
        if tcp:
            e = ep.get(int(tcp["port"]))
            if e is None:
                return False

            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                try:
                    s.connect(e.address)
                    return True
                except OSError:
                    return False
        return True


def probe_ports(c: Obj) -> set[int]:
    out = set()
    for key in ("readinessProbe", "livenessProbe"):
        pr = c.get(key) or {}
        for kind in ("httpGet", "tcpSocket"):
            port = (pr.get(kind) or {}).get("port")
            if isinstance(port, int):
                out.add(port)
    return out


def pod_ip(p: Obj) -> str:
    n = int(p["metadata"]["uid"].replace("-", "")[:6], 16)
    return f"10.244.{(n >> 8) % 250 + 1}.{n % 250 + 2}"


def running_status(p: Obj, ready: bool, restarts: int = 0) -> Obj:
    t = now()
    c = ((p.get("spec") or {}).get("containers") or [{}])[0]
    r = "True" if ready else "False"
    return {
        "phase": "Running",
        "podIP": pod_ip(p),
        "hostIP": "172.18.0.2",
        "startTime": (p.get("status") or {}).get("startTime") or t,
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": r},
            {"type": "Ready", "status": r},
        ],
        "containerStatuses": [
            {
                "name": c.get("name", "main"),
                "ready": ready,
                "restartCount": restarts,
                "image": c.get("image"),
                "state": {"running": {"startedAt": t}},
            }
        ],
    }


def waiting_status(p: Obj, c: Obj, reason: str, message: str, restarts: int = 0) -> Obj:
    return {
        "phase": "Pending" if reason in ("ErrImagePull", "ImagePullBackOff", "CreateContainerError") else "Running",
        "podIP": pod_ip(p),
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
        ],
        "containerStatuses": [
            {
                "name": c.get("name", "main"),
                "ready": False,
                "restartCount": restarts,
                "image": c.get("image"),
                "state": {"waiting": {"reason": reason, "message": message}},
            }
        ],
    }


def detect_unshare() -> list[str]:
    """``unshare -n`` (root) or ``unshare -rn`` (user namespaces); a clear error when neither works."""
    for argv in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            if subprocess.run([*argv, "true"], capture_output=True, timeout=10, check=False).returncode == 0:
                return argv
        except (OSError, subprocess.TimeoutExpired):
            continue
    raise ApiError(
        500,
        "InternalError",
        "network namespaces are not available (unshare -n and unshare -rn failed): run as root or enable user namespaces",
    )
