"""How far a backend is brought up (:class:`Stage`), and the capabilities a scenario may ask a backend about
(:class:`Capability`).

A backend answers ``cannot(capability)``: ``None`` when it models that thing for real, else the reason, which the
scenario reports as "not verified here" (never a pass). Which program ran for each component of the stack is
another question, answered by ``ran()`` (:mod:`argo_tutorial_suite.verdicts.components`).
"""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    STACK = "stack"  # the cluster with the profile's install (every tutorial scenario)
    CLUSTER = "cluster"  # the suite's cluster, local registry and git server only (the smoke scenario)


class Capability(enum.StrEnum):
    NODE_CONFIG = "node-config"  # the cluster was created from the suite's generated kind config, with nodes to read
    HOST_PORT = "host-port"  # a pod's hostPort is reachable on 127.0.0.1 through the node's port mapping
    POD_COMMAND = "pod-command"  # a pod runs any image's command (not only the suite's app images)
    CI_IMAGES = "ci-images"  # the CI's steps run in their own images (BuildKit, alpine/git, curl; `apk add` for real)
    CI_RUN = "ci-run"  # the CI can run at all: every image its Workflow and EventBus need is there
    INGRESS_NGINX = "ingress-nginx"  # the ingress controller is ingress-nginx itself


STACK = Stage.STACK
CLUSTER = Stage.CLUSTER
