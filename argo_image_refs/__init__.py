"""Container image references as Docker's reference grammar reads them (distribution
``reference.ParseNormalizedNamed``): shared by the suite and the offline image builder, which import nothing of
each other."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Names that containerd and Docker treat as the same registry (k8s.gcr.io redirects to registry.k8s.io).
ALIASES: dict[str, str] = {
    "index.docker.io": "docker.io",
    "registry-1.docker.io": "docker.io",
    "k8s.gcr.io": "registry.k8s.io",
}


class RefError(ValueError):
    """An image reference that cannot be read."""


@dataclass(frozen=True)
class ImageRef:
    """``host/path:tag@digest`` with Docker's defaults filled in (``docker.io``, ``library/``, ``latest``)."""

    host: str
    path: str
    tag: str
    digest: str = ""

    @property
    def tagged(self) -> str:
        """The reference without its digest (what a local build can be named)."""
        return f"{self.host}/{self.path}:{self.tag}"

    def __str__(self) -> str:
        return self.tagged + (f"@{self.digest}" if self.digest else "")


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def parse_ref(ref: str) -> ImageRef:
    """Read an image reference as Docker's reference grammar does (distribution ``reference.ParseNormalizedNamed``):
    the first component is a host only if it has a ``.`` or ``:`` or is ``localhost``."""
    text = ref.strip()
    if not text or any(c.isspace() for c in text):
        raise RefError(f"{ref!r} is not an image reference")
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise RefError(f"{ref!r}: the digest is not sha256:<64 hex digits>")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, remainder = first, rest
    else:
        host, remainder = "docker.io", name
    host = ALIASES.get(host, host)
    last = remainder.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = remainder.rsplit(":", 1)
    else:
        path, tag = remainder, "latest"
    if host == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if not path or path != path.lower():
        raise RefError(f"{ref!r}: the repository name must be lower-case and not empty")
    return ImageRef(host, path, tag, digest)
