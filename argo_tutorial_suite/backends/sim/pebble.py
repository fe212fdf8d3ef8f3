"""Let's Encrypt's test ACME server (Debian's ``pebble``) on loopback, as cert-manager's e2e runs it.

``pebble-challtestsrv`` is the DNS server Pebble's validation authority asks: every name resolves to
127.0.0.1, so an HTTP-01 validation of ``my-awesome-app.argo-tutorial.test`` reaches the ingress twin on
``httpPort``. Pebble's own listener uses a certificate made here (it ships none); issued certificates
chain to the root served at ``/roots/0`` on the management port.
"""

from __future__ import annotations

import json
import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx

from argo_tutorial_suite.backends.host import free_port
from argo_tutorial_suite.backends.sim.procs import Procs, wait_port
from argo_tutorial_suite.backends.tls import self_signed


@dataclass(frozen=True)
class Pebble:
    directory: str  # the ACME directory URL (``spec.acme.server``)
    ca_bundle: Path  # PEM of Pebble's listener certificate (``spec.acme.caBundle``)
    management: str

    def root_pem(self) -> str:
        """The root CA of the certificates Pebble issues (changes at every Pebble start)."""
        ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        return httpx.get(f"{self.management}/roots/0", verify=ctx, timeout=10).text


def start_pebble(procs: Procs, http_port: int, tls_port: int) -> Pebble:
    pebble, chall = shutil.which("pebble"), shutil.which("pebble-challtestsrv")
    if not pebble or not chall:
        raise RuntimeError(
            "pebble and pebble-challtestsrv are needed for TLS on the simulated backend: sudo scripts/install-sim-deps"
        )
    d = procs.dir("pebble")
    crt, key = self_signed("pebble", ["localhost", "pebble"], d, ip="127.0.0.1")
    dns, mgmt_dns = free_port(), free_port()
    procs.start(
        "challtestsrv",
        [
            chall,
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
            "-dns01",
            f"127.0.0.1:{dns}",
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-management",
            f"127.0.0.1:{mgmt_dns}",
        ],
    )
    listen, mgmt = free_port(), free_port()
    cfg = d / "pebble-config.json"
    cfg.write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"127.0.0.1:{listen}",
                    "managementListenAddress": f"127.0.0.1:{mgmt}",
                    "certificate": str(crt),
                    "privateKey": str(key),
                    "httpPort": http_port,
                    "tlsPort": tls_port,
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                }
            }
        )
    )
    proc = procs.start(
        "pebble",
        [pebble, "-config", str(cfg), "-dnsserver", f"127.0.0.1:{dns}", "-strict=false"],
        env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"},
    )
    wait_port(listen, 15, proc, "pebble")
    # the root is read from the management port, which Pebble opens after its ACME port: wait for both
    wait_port(mgmt, 15, proc, "pebble management")
    return Pebble(f"https://127.0.0.1:{listen}/dir", crt, f"https://127.0.0.1:{mgmt}")
