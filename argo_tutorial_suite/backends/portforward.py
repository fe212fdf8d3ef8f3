"""An own ``kubectl port-forward``: one process, the port kubectl bound, a ready pod, always cleaned up.

pytest-kind's ``port_forward`` never leaves its retry loop (10 processes for one ``with``), passes only
``KUBECONFIG`` in the environment (no PATH: exec credential plugins break) and picks random ports that
may be taken (harness-anchors 1.6 #2-3). Here kubectl binds local port 0 and prints
``Forwarding from 127.0.0.1:NNNNN -> 8080`` (``k8s.io/client-go/tools/portforward``: ``"Forwarding from %s -> %d"``),
which we parse; the target is a pod that is Ready and not terminating, named explicitly so kubectl does
not pick a terminating one.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from argo_tutorial_suite.probes.readiness import pod_ready

FORWARDING = re.compile(r"^Forwarding from (?:127\.0\.0\.1|\[::1\]):(?P<port>\d+) -> (?P<remote>\d+)")


class PortForwardError(RuntimeError):
    pass


def parse_forwarding(line: str) -> int | None:
    """The local port from one line of kubectl's output, or None (IPv6 lines give the same port)."""
    m = FORWARDING.match(line.strip())
    return int(m.group("port")) if m else None


def pick_pod(pods: Sequence[dict[str, Any]]) -> str:
    """The name of the newest Ready, non-terminating pod; raises with what was seen."""
    ready = [p for p in pods if pod_ready(p)]
    if not ready:
        seen = ", ".join(f"{p['metadata']['name']}={p.get('status', {}).get('phase')}" for p in pods) or "no pods"
        raise PortForwardError(f"no ready pod to forward to ({seen})")
    ready.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
    return str(ready[0]["metadata"]["name"])


def command(kubectl: str, namespace: str, target: str, remote_port: int, kube_args: Sequence[str] = ()) -> list[str]:
    return [kubectl, *kube_args, "-n", namespace, "port-forward", target, f":{remote_port}", "--address", "127.0.0.1"]


@contextmanager
def port_forward(
    kubectl: str,
    namespace: str,
    target: str,
    remote_port: int,
    kube_args: Sequence[str] = (),
    timeout: float = 30.0,
) -> Iterator[int]:
    """Yield the local port of a ``kubectl port-forward`` to ``target`` (``pod/NAME``); kill it on exit."""
    argv = command(kubectl, namespace, target, remote_port, kube_args)
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ), start_new_session=True
    )
    lines: queue.Queue[str | None] = queue.Queue()
    err: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err.append(line)

    threading.Thread(target=pump, daemon=True).start()
    err_thread = threading.Thread(target=pump_err, daemon=True)
    err_thread.start()
    try:
        deadline = time.monotonic() + timeout
        port: int | None = None
        while port is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PortForwardError(
                    f"port-forward to {namespace}/{target}:{remote_port} printed no port in {timeout:.0f}s"
                )
            try:
                line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                proc.wait(timeout=5)
                err_thread.join(timeout=5)  # stderr may still be in the pipe when stdout closes
                raise PortForwardError(
                    f"kubectl port-forward {namespace}/{target}:{remote_port} exited {proc.returncode}: {''.join(err).strip()[:500]}"
                )
            port = parse_forwarding(line)
        yield port
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
