"""Rules over the code repository: Dockerfile base images and the Go module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from argo_tutorial_suite.static.engine import Bundle, rule
from argo_tutorial_suite.static.findings import Finding

# End-of-life dates (go.dev/doc/devel/release: a release is supported until two newer majors exist;
# alpinelinux.org/releases). Only dates already past when this table was written are listed.
EOL = {
    ("golang", "1.19"): date(2023, 8, 8),
    ("golang", "1.20"): date(2024, 2, 6),
    ("golang", "1.21"): date(2024, 8, 13),
    ("golang", "1.22"): date(2025, 2, 11),
    ("golang", "1.23"): date(2025, 8, 12),
    ("alpine", "3.14"): date(2023, 5, 1),
    ("alpine", "3.15"): date(2023, 11, 1),
    ("alpine", "3.16"): date(2024, 5, 23),
    ("alpine", "3.17"): date(2024, 11, 22),
    ("alpine", "3.18"): date(2025, 5, 9),
    ("alpine", "3.19"): date(2025, 11, 1),
}


def eol_parts(image: str) -> list[tuple[str, str, date]]:
    """The EOL components of an image reference such as ``golang:1.20.1-alpine3.17``."""
    name, _, tag = image.partition(":")
    out = []
    base = name.rsplit("/", 1)[-1]
    m = re.match(r"(\d+\.\d+)", tag)
    if m and (base, m.group(1)) in EOL:
        out.append((base, m.group(1), EOL[(base, m.group(1))]))
    a = re.search(r"alpine(\d+\.\d+)", tag)
    if a and ("alpine", a.group(1)) in EOL:
        out.append(("alpine", a.group(1), EOL[("alpine", a.group(1))]))
    return out


@rule("DOCKERFILE-EOL-BASE")
def dockerfile_bases(b: Bundle) -> Iterator[Finding]:
    """Dockerfile base images past their end of life."""
    for line in b.code.get("Dockerfile", "").splitlines():
        m = re.match(r"\s*FROM\s+(\S+)", line, re.I)
        if not m:
            continue
        for base, ver, when in eol_parts(m.group(1)):
            yield Finding(
                "DOCKERFILE-EOL-BASE",
                f"Dockerfile:{m.group(1)}",
                f"{base} {ver} reached end of life on {when}",
                "use a supported release",
                "code/Dockerfile",
            )


@rule("GO-NO-MODULE")
def go_module(b: Bundle) -> Iterator[Finding]:
    """A Go program without go.mod builds only in GOPATH-mode fallbacks."""
    if "main.go" in b.code and "go.mod" not in b.code:
        yield Finding(
            "GO-NO-MODULE",
            "code/main.go",
            "no go.mod beside main.go",
            "add go.mod (go mod init)",
            "code/main.go",
        )
