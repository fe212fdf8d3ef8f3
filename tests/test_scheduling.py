"""The sim scenarios' order for xdist: the longest first, one per worker, each followed by a short one."""

from __future__ import annotations

from argo_tutorial_suite.backends.side_by_side import longest_spread
from argo_tutorial_suite.verdicts import evidence


def test_every_worker_starts_with_one_long_test_and_a_short_one() -> None:
    weights = {"a": 70.0, "b": 68.0, "c": 40.0, "d": 38.0, "e": 5.0, "f": 1.0, "g": 0.0, "h": 0.0}
    order = longest_spread(list(weights), weights.__getitem__)
    assert sorted(order) == sorted(weights)  # nothing lost or doubled
    # xdist's load scheduler hands each worker two consecutive tests first: one long, one short per pair
    pairs = [order[i : i + 2] for i in range(0, 8, 2)]
    assert [p[0] for p in pairs] == ["a", "b", "c", "d"]
    assert all(weights[p[1]] <= 5.0 for p in pairs)
    assert longest_spread([], weights.__getitem__) == [] and longest_spread(["a"], weights.__getitem__) == ["a"]


def test_the_weights_come_from_the_committed_kind_evidence() -> None:
    weights = evidence.scenario_weights()
    assert weights, "no kind evidence committed (manifests/evidence/kind-*.json)"
    longest = max(weights, key=weights.__getitem__)
    assert longest.startswith("test_tutorial[corrected-")
