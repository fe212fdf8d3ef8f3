"""Names the tutorial gives its objects (the ``ci`` namespace, the ``my-awesome-app`` Application and
Rollout), shared by every role of the flow, and the app's versions as the scenarios push them."""

from __future__ import annotations

from argo_tutorial_suite.probes import traffic

APP = "my-awesome-app"
APP_NS = "my-awesome-app"
CI_NS = "ci"
ARGOCD_NS = "argocd"


def main_go(version: str, source: str) -> str:
    """v1 is the tutorial's ``main.go``; v2/v3 differ only in the greeting."""
    if version == "v1":
        return source
    return source.replace(f'"{traffic.GREETINGS["v1"]}"', f'"{traffic.GREETINGS[version]}"')
