"""Which program decided a verdict (argo_tutorial_suite/verdicts/components.py) and the failed containers that
narrow it (probes/predicates.failed_container_images)."""

from __future__ import annotations

from typing import Any

import pytest

from argo_tutorial_suite.probes.predicates import failed_container_images
from argo_tutorial_suite.verdicts import components as C
from argo_tutorial_suite.verdicts.components import Ran, Relation


@pytest.mark.parametrize(
    ("ref", "component"),
    [
        ("quay.io/argoproj/argocd:v2.6.3", "argo-cd"),
        ("public.ecr.aws/docker/library/redis:8.2.3-alpine", "argo-cd-redis"),
        ("haproxy:2.6.2-alpine", "argo-cd-redis"),
        ("quay.io/argoproj/argoexec:v3.4.4", "argo-workflows"),
        ("quay.io/jetstack/cert-manager-controller:v1.11.0", "cert-manager"),
        ("docker.io/library/alpine:3.17", "ci-tools"),
        ("moby/buildkit:v0.11.0-rootless", "buildkit"),
        ("registry.k8s.io/ingress-nginx/controller:v1.5.1@sha256:" + "0" * 64, "ingress-nginx"),
        ("localhost:5000/my-awesome-app:abc", None),
    ],
)
def test_an_image_names_its_component(ref: str, component: str | None) -> None:
    assert C.component_of_image(ref) == component


def test_the_furthest_relation_of_a_components_images_decides() -> None:
    images: list[dict[str, Any]] = [
        {"ref": "quay.io/argoproj/argoexec:v4.1.2", "differences": [{"what": "base", "relation": "same release"}]},
        {"ref": "quay.io/argoproj/workflow-controller:v4.1.2",
         "differences": [{"what": "version", "upstream": "v4.1.2", "here": "v4.1.4", "relation": "another release"}]},
        {"ref": "redis:7", "differences": [{"what": "base and version", "here": "Debian's redis", "upstream": "redis:7",
                                            "relation": "stand-in"}]},
        {"ref": "quay.io/argoproj/argo-rollouts:v1.4.1"},
    ]  # fmt: skip
    ran = C.from_images(images)
    assert ran["argo-workflows"].relation is Relation.ANOTHER and "v4.1.4" in ran["argo-workflows"].what
    assert ran["argo-cd-redis"].relation is Relation.STAND_IN
    assert ran["argo-rollouts"].verified


def test_a_difference_recorded_without_a_relation_is_never_taken_for_the_release() -> None:
    assert C.relation_of({"what": "version", "not_verified": "what changed"}) is Relation.STAND_IN
    assert C.relation_of({"what": "CA bundle"}) is Relation.SAME


def test_unverified_keeps_the_declared_order_and_skips_what_ran_as_released() -> None:
    ran = {
        "argo-cd": Ran("argo-cd", Relation.ANOTHER, "v3.6.0 for v3.5.1"),
        "argo-rollouts": Ran("argo-rollouts", Relation.SAME, "built here"),
        "ingress-nginx": Ran("ingress-nginx", Relation.STAND_IN, "traefik"),
    }
    assert [r.component for r in C.unverified(("ingress-nginx", "argo-rollouts", "argo-cd"), ran)] == [
        "ingress-nginx",
        "argo-cd",
    ]
    assert C.summary(ran).startswith("what ran: Argo CD: another release (v3.6.0 for v3.5.1); Argo Rollouts: the")


def test_failed_container_images_reads_init_and_main_containers() -> None:
    pod = {
        "status": {
            "initContainerStatuses": [
                {"image": "quay.io/argoproj/argoexec:v3.4.4", "state": {"terminated": {"exitCode": 1}}}
            ],
            "containerStatuses": [
                {"image": "alpine/git:v2", "state": {"waiting": {"reason": "PodInitializing"}}},
                {"image": "moby/buildkit:v0.11.0", "state": {"terminated": {"exitCode": 0}}},
            ],
        }
    }
    assert failed_container_images([pod]) == ["quay.io/argoproj/argoexec:v3.4.4"]


def test_what_ran_in_a_few_words_for_the_terminal() -> None:
    from argo_tutorial_suite.verdicts.components import short

    line = (
        "what ran: Argo CD: the pinned release; Argo CD's redis and haproxy: stand-in (docker.io/library/haproxy:"
        "2.6.2-alpine: base and version Debian bookworm's haproxy; x: y); Argo Events: another release (quay.io/"
        "argoproj/argo-events:v1.7.5: version v1.7.6 for v1.7.5); cert-manager: the pinned release"
    )
    assert short(line) == (
        "what ran: 2 of 4 components the pinned release, 2 another release or a stand-in (report.html says which)"
    )
    assert short("what ran: Argo CD: the pinned release") == "what ran: 1 of 1 components the pinned release"
