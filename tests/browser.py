"""A real headless browser for the tests that look at a page: Debian's chromium-headless-shell renders it,
gives back the DOM it built and a screenshot, and a small PNG reader counts the screenshot's colours (so a test
can tell that a stuck cell is painted red, not only that the markup says so)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

BROWSER = "chromium-headless-shell"


def browser() -> str:
    found = shutil.which(BROWSER) or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{BROWSER} is not installed: .ci/run installs it (apt-get install {BROWSER})")
    pytest.skip(f"{BROWSER} is not installed here: apt-get install {BROWSER} (CI installs it)")


def render(page: Path, shot: Path, width: int = 1400, height: int = 900) -> str:
    """(the DOM the browser built); the screenshot is written to ``shot``."""
    exe = browser()
    flags = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},{height}"]
    url = page.resolve().as_uri()
    dom = subprocess.run([exe, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True)
    subprocess.run([exe, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=60, check=True)
    return dom.stdout


def colours(png: Path) -> Counter[tuple[int, int, int]]:
    """Pixel counts by RGB of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    out: Counter[tuple[int, int, int]] = Counter()
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out.update(tuple(line[i : i + 3]) for i in range(0, stride, bpp))  # type: ignore[misc]
        prev = line
    return out
