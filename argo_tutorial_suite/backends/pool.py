"""Builds the backend for a (profile, pins) once per session and tears everything down at the end.

A backend that cannot run here raises :class:`BackendUnavailable` with the reason and the fix; the
plugin turns it into a failure, so a run that could not run its scenarios is never green, unless the user
asked for skipping (``--allow-skip`` or ``ARGO_SUITE_ALLOW_SKIP=1``; ``--require-cluster`` overrides that).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from argo_tutorial_suite.signals import teardown_shield
from argo_tutorial_suite.tutorial.profiles import Profile


class BackendUnavailable(RuntimeError):
    """The chosen backend cannot run on this host; the message says why and what to do."""


class BackendFailed(RuntimeError):
    """The backend was tried and failed to come up (a failure, not a skip); later tests see the same reason."""


def gate(error: BackendUnavailable, skip_allowed: bool) -> tuple[str, str]:
    """("skip" | "fail", message) for an unavailable backend: a failure unless skipping was asked for."""
    if skip_allowed:
        return "skip", str(error)
    return "fail", f"{error} (to skip instead: --allow-skip)"


def _yes(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def skip_allowed(allow: bool, require: bool, env: dict[str, str] | None = None) -> bool:
    """Whether an unavailable backend may skip: only when asked (``--allow-skip``, ``ARGO_SUITE_ALLOW_SKIP``),
    and never when a cluster is required (``--require-cluster``, ``ARGO_SUITE_REQUIRE_CLUSTER``)."""
    env = dict(os.environ) if env is None else env
    if require or _yes(env.get("ARGO_SUITE_REQUIRE_CLUSTER")):
        return False
    return allow or _yes(env.get("ARGO_SUITE_ALLOW_SKIP"))


class Closable(Protocol):
    def close(self, failed: bool) -> str: ...


B = TypeVar("B", bound=Closable)


@dataclass
class Pool(Generic[B]):
    """One backend per (profile, pins, stage) for the whole session."""

    build: Callable[[Profile, str], B]  # (profile, stage): stage "stack" (installed) or "cluster" (bare)
    backends: dict[str, B] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)  # any failure to come up, remembered
    closed: list[str] = field(default_factory=list)  # teardown lines of backends closed along the way
    failed: bool = False  # a test failed: --keep-on-failure keeps the kind cluster it ran on
    one_at_a_time: bool = False

    def get(self, profile: Profile, stage: str = "stack") -> B:
        key = profile.id if stage == "stack" else f"{profile.id}#{stage}"
        if key in self.errors:
            raise self.errors[key]
        if key not in self.backends:
            if self.one_at_a_time:
                # one world at a time (a corrected kind cluster is 4 nodes): the tests are ordered by profile
                # and pins (see cluster_plugin), so a backend is not needed again once another is asked for
                self.closed += self.close(failed=self.failed)
            try:
                self.backends[key] = self.build(profile, stage)
            except Exception as e:
                # remembered: the next test of this profile fails at once with the same reason instead of
                # bringing the backend up again (a kind cluster is minutes)
                self.errors[key] = (
                    e if isinstance(e, BackendUnavailable | BackendFailed) else BackendFailed(f"{key}: {e}")
                )
                raise
        return self.backends[key]

    def close(self, failed: bool) -> list[str]:
        out = []
        with teardown_shield("the teardown of the backends"):
            for key, b in list(self.backends.items()):
                try:
                    out.append(f"{key}: {b.close(failed)}")
                except Exception as e:
                    out.append(f"{key}: teardown failed: {e}")
                del self.backends[key]
        return out
