"""Root conftest: loads the suite's pytest plugin for scenarios/ and tests/."""

pytest_plugins = ["fixtures.plugin", "fixtures.cluster_plugin"]
