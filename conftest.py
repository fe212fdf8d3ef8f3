"""Root conftest. The suite's pytest plugin (``fixtures/``: options, fixtures, the verdict table) is registered by
the installed package's ``pytest11`` entry points (``pip install -e .``); run straight from a checkout that was
never installed, it is registered from here under its folder's name instead."""

from importlib.util import find_spec

_INSTALLED = find_spec("argo_tutorial_suite") is not None and find_spec("argo_tutorial_suite.fixtures") is not None
pytest_plugins: list[str] = [] if _INSTALLED else ["fixtures.plugin", "fixtures.cluster"]
