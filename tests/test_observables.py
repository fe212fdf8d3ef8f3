"""The catalog's observables (argo_tutorial_suite/verdicts/observables.py): what each test reads, and the catalog's own."""

from __future__ import annotations

import re

import pytest

from argo_tutorial_suite.paths import ROOT
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.verdicts.observables import Observable, ObservableError, parse, text_of


def test_matches_reads_only_the_named_evidence() -> None:
    obs = parse({"evidence": "sensor log", "matches": "index of untyped nil"}, "t")
    assert obs is not None
    assert obs.seen({"sensor log": "x: index of untyped nil"}) == "sensor log: 'index of untyped nil'"
    assert obs.seen({"other": "index of untyped nil"}) is None
    assert "no 'sensor log' in the evidence (evidence: other)" in obs.missing({"other": "x"})


def test_the_first_present_key_is_read_and_structures_are_read_as_text() -> None:
    obs = Observable(("conditions", "operationState"), matches=r"service_preview\.yaml")
    assert obs.seen({"operationState": {"message": "accumulating: service_preview.yaml: no such file"}})
    assert obs.seen({"conditions": [{"message": "ingress_preview.yaml missing"}]}) is None
    assert text_of({"a": [1, {"b": "c"}]}) == "a: 1\nb: c"


def test_counts_include_needs_every_named_answer() -> None:
    obs = Observable(("requests per version",), counts_include=("v1", "v2"))
    assert obs.seen({"requests per version": {"v1": 3, "v2": 1}}) == "requests per version: v1=3, v2=1"
    assert obs.seen({"requests per version": {"v1": 3}}) is None
    assert obs.seen({"requests per version": {"v1": 3, "v2": 0}}) is None
    assert obs.seen({"requests per version": "v1 v2"}) is None  # not counts


def test_equal_needs_both_fields_present_and_the_same() -> None:
    obs = Observable(("rollout revision",), equal=("before", "after"))
    assert obs.seen({"rollout revision": {"before": "abc", "after": "abc"}}) == (
        "rollout revision: before and after both abc"
    )
    assert obs.seen({"rollout revision": {"before": "abc", "after": "def"}}) is None
    assert obs.seen({"rollout revision": {"before": None, "after": None}}) is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("v1.*v2", "must be a mapping"),
        ({"matches": "x"}, "evidence must name"),
        ({"evidence": "log", "matches": "x", "equal": ["a", "b"]}, "exactly one"),
        ({"evidence": "log", "matches": "("}, "not a regexp"),
        ({"evidence": "log", "matches": ".*"}, "empty text"),
        ({"evidence": "log", "counts_include": "v1"}, "must list"),
        ({"evidence": "log", "equal": ["a"]}, "two fields"),
        ({"evidence": "log", "matches": "x", "where": 1}, "unknown observable field"),
    ],
)
def test_bad_observables_are_refused_with_where_they_are(data: object, error: str) -> None:
    with pytest.raises(ObservableError, match=re.escape(error)) as e:
        parse(data, "manifests/defects.yaml D99")
    assert "D99" in str(e.value)


# a step's defect as the scenarios declare it: ``defect="D18"``, or ``"D14" if ...`` / ``"D24" if ...``
DECLARED = re.compile(r"defect=\"(D\d+)\"|\"(D\d+)\"\s+if\b")


def test_every_defect_a_scenario_declares_on_a_step_has_an_observable() -> None:
    """A step declared with a defect can only ever be "known defect Dn" through Dn's observable: every one the
    scenarios declare has one."""
    declared = {
        d
        for path in (ROOT / "scenarios").glob("*.py")
        for m in DECLARED.finditer(path.read_text())
        for d in m.groups()
        if d
    }
    assert {"D10", "D13", "D14", "D18", "D20", "D21", "D24"} <= declared
    cat = catalog.load()
    assert not sorted(d for d in declared if cat[d].observable is None)


def test_the_catalog_observables_parse() -> None:
    cat = catalog.load()
    assert cat["D13"].observable == Observable(("requests per version",), counts_include=("v1", "v2"))
    assert all(isinstance(d.observable, (Observable, type(None))) for d in cat.values())

    assert parse(None, "x") is None and parse("", "x") is None


@pytest.mark.parametrize(
    ("defect", "output"),
    [
        # kubectl v1.34.1 against Kubernetes 1.34, as seen here on kind (current pins)
        ("D2", 'The CustomResourceDefinition "applicationsets.argoproj.io" is invalid: metadata.annotations: Too '
               "long: may not be more than 262144 bytes"),
        ("D2", "metadata.annotations: Too long: must have at most 262144 bytes"),  # before Kubernetes 1.32
        ("D1", "bash: line 3: ubectl: command not found"),
        ("D4", 'Waiting for deployment "argocd-redis-ha-haproxy" rollout to finish: 1 of 3\ntimed out after 240s'),
        # stopped once what it waits for cannot happen, as seen here on kind (tutorial-2023, one node, D3)
        ("D4", 'Waiting for deployment "argocd-redis-ha-haproxy" rollout to finish: 0 of 1 updated replicas are '
               "available...\nstopped after 5s: it cannot end: argocd/argocd-redis-ha-haproxy-56c86bf674-47s54 is "
               "never scheduled: 0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules."),
    ],
)  # fmt: skip
def test_install_observables_match_what_the_commands_print(defect: str, output: str) -> None:
    obs = catalog.load()[defect].observable
    assert obs is not None and obs.seen({"command output": output})


def test_a_rollout_status_that_ended_by_itself_is_not_d4() -> None:
    obs = catalog.load()["D4"].observable
    assert obs is not None and not obs.seen({"command output": 'deployment "argocd-server" successfully rolled out'})
