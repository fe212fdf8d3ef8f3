"""Stand-ins from Debian's packages for the images of Argo CD HA that are not Go modules: redis and haproxy run as the
Docker official images' entrypoints run them, and a dex stand-in that says it is one (the tutorial configures no SSO)."""

from __future__ import annotations

from dataclasses import replace

from argo_image_refs import parse_ref
from argo_offline_images.recipes import STAND_IN, Difference
from argo_offline_images.stackfacts import (
    NO_REGISTRY,
    StackImage,
)


def official_entrypoint(program: str, flags: str = "") -> str:
    """What the Docker official image's ``docker-entrypoint.sh`` does with its arguments (redis, haproxy): when the
    first one is an option (or a ``.conf`` file), it runs ``program`` with them (argocd-redis passes only
    ``args: [--save, "", --appendonly, "no"]``; without this the kubelet tried to run ``--save``, seen on kind)."""
    text = f'#!/bin/sh\nset -e\ncase "${{1:-}}" in -*|*.conf) set -- {program} "$@" ;; esac\n'
    if flags:  # haproxy's: `haproxy ARGS` runs as `haproxy -W -db ARGS`
        text += f'if [ "$1" = {program} ]; then shift; set -- {program} {flags} "$@"; fi\n'
    return text + 'exec "$@"\n'


def _debian_daemon(ref: str, role: str, packages: tuple[str, ...], cmd: tuple[str, ...], note: str,
                   flags: str = "") -> StackImage:  # fmt: skip
    r = parse_ref(ref)
    return StackImage(
        ref, role, packages, cmd=cmd, entrypoint=("docker-entrypoint.sh",),
        texts=(("/usr/local/bin/docker-entrypoint.sh", official_entrypoint(cmd[0], flags)),),
        built_from=(f"Debian bookworm: {', '.join(packages)}",),
        differences=(Difference("base and version", f"{r.path.removeprefix('library/')}:{r.tag} (Docker official image)",
                                f"Debian bookworm's {packages[0]}", NO_REGISTRY + "; " + note, relation=STAND_IN),),
    )  # fmt: skip


# The Docker official redis image builds redis with protected mode off by default (its Dockerfile edits
# src/config.c: containers are reached from other addresses, not from localhost); Debian's is on, and Argo CD HA's
# redis.conf does not set it, so every redis answered other pods "-DENIED ... protected mode" and haproxy found no
# master (argocd-server: "error getting cached app state: EOF", seen on kind here). These wrappers restore the
# image's default, unless the arguments or the config file set protected-mode themselves.
REDIS_DEFAULTS = """#!/bin/sh
real=/usr/bin/$(basename "$0")
for a in "$@"; do case "$a" in *protected-mode*) exec "$real" "$@" ;; esac; done
if [ -f "${1:-}" ] && grep -q '^[[:space:]]*protected-mode' "$1"; then exec "$real" "$@"; fi
exec "$real" "$@" --protected-mode no
"""


def redis(ref: str) -> StackImage:
    img = _debian_daemon(ref, "redis", ("redis-server", "redis-sentinel", "redis-tools"), ("redis-server",),
                         "Argo CD HA's redis-ha runs redis-server, redis-sentinel and sh scripts in it")  # fmt: skip
    return replace(
        img,
        texts=(*img.texts, ("/usr/local/bin/redis-server", REDIS_DEFAULTS), ("/usr/local/bin/redis-sentinel", REDIS_DEFAULTS)),
        differences=(*img.differences, Difference("protected mode", "off by default (the image's build edits config.c)",
                                                  "off by default through /usr/local/bin wrappers of Debian's binaries",
                                                  "Debian builds redis with protected mode on")),
    )  # fmt: skip


def haproxy(ref: str) -> StackImage:
    return _debian_daemon(ref, "haproxy", ("haproxy",), ("haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"),
                          "Argo CD HA's haproxy reads /usr/local/etc/haproxy/haproxy.cfg", flags="-W -db")  # fmt: skip


DEX_STAND_IN = "dex is not in this image: the dex module is not served by the Go module proxy here (argo-suite)"


def dex_runtime(ref: str) -> StackImage:
    """Runs as dex's own image does (its Dockerfile: user ``dex``, uid and gid 1001): Argo CD's dex container
    sets ``runAsNonRoot``, and the kubelet refuses an image whose user is root (seen on kind here).
    ``argocd-dex rundex`` looks ``dex`` up on PATH before anything else and exits without it (v2.6.3
    ``cmd/argocd-dex/commands/argocd_dex.go``), but runs it only when SSO is configured: a ``dex`` that says
    it is not here and exits 1 stands in, so an SSO setup fails loudly instead of passing."""
    stand_in = f"#!/bin/sh\\necho '{DEX_STAND_IN}' >&2\\nexit 1\\n"
    return StackImage(
        ref, "dex", ("ca-certificates", "passwd"),
        lines=("RUN groupadd -g 1001 dex && useradd -r -u 1001 -g dex -s /usr/sbin/nologin dex",
               f"RUN printf \"{stand_in}\" > /usr/local/bin/dex && chmod 0755 /usr/local/bin/dex",
               "USER 1001:1001"),
        built_from=("Debian bookworm: ca-certificates, passwd",),
        differences=(Difference("dex binary", "dex serve", "a stand-in that exits 1 saying dex is not here",
                                "the dex module is not served by the Go module proxy here; argocd-dex needs a dex on "
                                "PATH to start, and runs it only when SSO is configured in argocd-cm (the tutorial "
                                "configures none)", "SSO login through dex", relation=STAND_IN),),
    )  # fmt: skip
