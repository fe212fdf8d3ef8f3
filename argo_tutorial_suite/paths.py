"""Where things are: the project, its manifests, and the read-only ``../shared`` references.

From a checkout, the project is the folder above this package, with its ``manifests/``. Installed from the
wheel, the manifests ship inside the package (``argo_tutorial_suite/manifests``), the artifacts go to the
current folder, and ``../shared`` is found only through ``ARGO_SUITE_SHARED`` (or the options that name its
parts: ``--upstream-dir``, ``--tutorial``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE.parent
FROM_CHECKOUT = (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "manifests" / "defects.yaml").is_file()

ROOT = _CHECKOUT if FROM_CHECKOUT else PACKAGE
MANIFESTS = ROOT / "manifests"
SHARED = Path(os.environ.get("ARGO_SUITE_SHARED", str(_CHECKOUT.parent / "shared")))
TUTORIAL_TEXT = SHARED / "tutorial" / "argo-hands-on.ko.md"
UPSTREAM = SHARED / "upstream"
ARTIFACTS = Path(os.environ.get("ARGO_SUITE_ARTIFACTS", str((ROOT if FROM_CHECKOUT else Path.cwd()) / "artifacts")))
