"""Root conftest. The suite's pytest plugin (``fixtures/``: options, fixtures, the verdict table) is registered by
the installed package's ``pytest11`` entry points (``pip install -e .``); run straight from a checkout that was
never installed, it is registered from here under its folder's name instead."""

from importlib.metadata import entry_points

_INSTALLED = any(ep.value.startswith("argo_tutorial_suite.fixtures.") for ep in entry_points(group="pytest11"))
pytest_plugins: list[str] = [] if _INSTALLED else ["fixtures.plugin", "fixtures.cluster"]
