"""How far a backend is brought up, and the capabilities a scenario may ask a backend about.

``STACK``: the cluster with the profile's install (every tutorial scenario). ``CLUSTER``: the suite's cluster,
local registry and git server only (the smoke scenario). A backend answers :data:`CAPABILITIES` with
``cannot(what)``: ``None`` when it models that thing for real, else the reason, which the scenario reports as
"not verified here" (never a pass).
"""

from __future__ import annotations

STACK = "stack"
CLUSTER = "cluster"

CAPABILITIES = (
    "node-config",  # the cluster was created from the suite's generated kind config, with nodes to read
    "host-port",  # a pod's hostPort is reachable on 127.0.0.1 through the node's port mapping
    "pod-command",  # a pod runs any image's command (not only the suite's app images)
    "ci-images",  # the CI's steps run in their own images (BuildKit, alpine/git, curl; `apk add` for real)
    "ci-run",  # the CI can run at all: every image its Workflow and EventBus need is there
    "ingress-nginx",  # the ingress controller is ingress-nginx itself (which certificate it serves, its redirects)
)
