"""Which version answers on a host (argo_tutorial_suite/probes/traffic.py): the predicates behind every "serves only vN" row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest

from argo_tutorial_suite.probes import traffic
from argo_tutorial_suite.verdicts.waits import State, WaitFailed, expect_consistently


def answers(*bodies: str | int | Exception) -> Callable[[], httpx.Response]:
    """A ``get`` answering each of ``bodies`` in turn, then the last one forever (a greeting, a status code, or a
    connection error)."""
    it: Iterator[str | int | Exception] = iter(bodies)
    last: list[str | int | Exception] = [bodies[-1]]

    def get() -> httpx.Response:
        b = next(it, last[0])
        if isinstance(b, Exception):
            raise b
        if isinstance(b, int):
            return httpx.Response(b, text="error")
        return httpx.Response(200, text=b + "\n")

    return get


V1, V2 = traffic.GREETINGS["v1"], traffic.GREETINGS["v2"]


def test_version_of_reads_the_greeting_exactly() -> None:
    assert traffic.version_of(V1 + "\n") == "v1" and traffic.version_of(V2) == "v2"
    assert traffic.version_of("Hello, World v2!!").startswith("other(")


def test_only_is_ok_when_every_answer_is_the_version() -> None:
    seen = traffic.only(answers(V2), "v2", n=5)()
    assert seen.state is State.OK and seen.evidence["counts"] == {"v2": 5}


@pytest.mark.parametrize(
    ("bodies", "counted"),
    [
        ((V1, V2), {"v1": 1, "v2": 7}),  # one old answer among new ones is not "only v2"
        ((V1,), {"v1": 8}),
        ((503, V2), {"HTTP 503": 1, "v2": 7}),
        ((httpx.ConnectError("refused"), V2), {"error: ConnectError": 1, "v2": 7}),
    ],
)
def test_only_is_pending_on_any_other_answer(
    bodies: tuple[str | int | Exception, ...], counted: dict[str, int]
) -> None:
    seen = traffic.only(answers(*bodies), "v2")()
    assert seen.state is State.PENDING and seen.evidence["counts"] == counted


def test_a_tally_adds_up_every_answer_across_calls() -> None:
    tally: Counter[str] = Counter()
    probe = traffic.only(answers(V1, V2, V1, V2), "v2", n=2, tally=tally)
    probe()
    probe()
    assert tally == {"v1": 2, "v2": 2}


def test_consistently_only_fails_on_the_first_other_answer_with_its_counts() -> None:
    tally: Counter[str] = Counter()
    probe = traffic.consistently_only(answers(*([V2] * 8), V1, V2), "v2", tally=tally)
    with pytest.raises(WaitFailed) as e:
        expect_consistently(probe, "preview serves only v2", 5, every=0, sleep=lambda _: None)
    assert e.value.evidence["counts"] == {"v1": 1, "v2": 7} and tally == {"v2": 15, "v1": 1}
