"""A second signal during teardown is said, not raised (argo_tutorial_suite/signals.py)."""

from __future__ import annotations

import os
import signal

import pytest

from argo_tutorial_suite.signals import teardown_shield


def test_signals_inside_the_shield_are_noted_not_raised() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with teardown_shield("a test teardown") as received:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert received == [signal.SIGTERM, signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_shield_sigint_raises_again() -> None:
    """The shield restores the handler it found: here Python's own (a process started in the background by a
    non-interactive shell inherits SIGINT ignored, so the test sets Python's handler first, and puts back what
    it found)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with teardown_shield("nothing"):
            pass
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs at the next bytecode boundary
                pass
    finally:
        signal.signal(signal.SIGINT, previous)
