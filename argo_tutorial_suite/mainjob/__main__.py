"""``python -m argo_tutorial_suite.mainjob``: the main job (``scripts/main-job`` makes the venv, then calls this)."""

from argo_tutorial_suite.mainjob.cli import run

run()
