"""Static verdict on the tutorial's files: no cluster, no network, seconds.

As-written: every statically detectable defect of the catalog is reported exactly (defect, rule,
object). Corrected: no finding at all. ``--manifests-dir DIR``: every finding in DIR fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from argo_tutorial_suite.static.engine import directory_bundle, profile_bundle, run
from argo_tutorial_suite.static.findings import Finding, render_all
from argo_tutorial_suite.static.report import finding_detail, folder_report, for_a_folder, record_profile, split_notes
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts.steps import FAILED, NOT_VERIFIED, PASSED, Steps

pytestmark = pytest.mark.static


@pytest.fixture
def manifests_dir(pytestconfig: pytest.Config) -> Path | None:
    value = pytestconfig.getoption("manifests_dir")
    return Path(value) if value else None


def _profile_findings(profile_name: str, pins_name: str, upstream: Upstream, kubectl: str | None) -> list[Finding]:
    return run(profile_bundle(Profile.load(profile_name, pins_name), upstream, kubectl))


@pytest.mark.profiles
def test_profile(
    profile_name: str,
    pins_name: str,
    upstream: Upstream,
    kubectl: str | None,
    manifests_dir: Path | None,
    static_steps: Steps,
) -> None:
    """The profile's static verdict is exactly what the catalog says; every finding is a row of the verdict."""
    everything = _profile_findings(profile_name, pins_name, upstream, kubectl)
    static_steps.profile = f"{profile_name}@{pins_name}"
    expected = set() if profile_name == "corrected" else catalog.expected_findings(pins_name)
    record_profile(static_steps, everything, expected, profile_name == "corrected")
    findings, _notes = split_notes(everything)
    if profile_name == "corrected":
        assert not findings, f"the corrected profile must be clean; found:\n{render_all(findings)}"
        return
    got = {f.key for f in findings}
    want = catalog.expected_findings(pins_name)
    missing, unexpected = sorted(want - got), sorted(got - want)
    assert not missing and not unexpected, (
        f"as-written@{pins_name} differs from the catalog.\nmissing (catalog says they show):\n"
        + "\n".join(map(str, missing))
        + "\nunexpected:\n"
        + render_all([f for f in findings if f.key in set(unexpected)])
    )


@pytest.mark.profiles
def test_every_static_defect_is_reported(
    pins_name: str, upstream: Upstream, kubectl: str | None, manifests_dir: Path | None
) -> None:
    """Each catalog defect marked static is reported at least once on the as-written profile."""
    reported = {f.defect for f in split_notes(_profile_findings("as-written", pins_name, upstream, kubectl))[0]}
    static = {d.id for d in catalog.load().values() if any(e.applies(pins_name) for e in d.static)}
    assert static - reported == set(), f"catalog defects not reported: {sorted(static - reported)}"


@pytest.mark.manifests_dir
def test_manifests_dir(
    manifests_dir: Path | None, pytestconfig: pytest.Config, kubectl: str | None, static_steps: Steps
) -> None:
    """A user's directory (e.g. a workshop participant's copy): a report grouped by file and object; any finding
    fails the run (each one is also a row of the verdict, JUnit and Markdown)."""
    assert manifests_dir is not None
    ref = Path(pytestconfig.getoption("upstream_dir"))
    upstream = Upstream(ref if ref.is_dir() else None, allow_download=bool(pytestconfig.getoption("allow_download")))
    pins = Pins.load((pytestconfig.getoption("pins") or ["tutorial-2023"])[0])
    findings = run(directory_bundle(manifests_dir, pins, upstream if ref.is_dir() else None, kubectl))
    findings, notes = split_notes(for_a_folder(findings, catalog.expected_findings(pins.name)))
    static_steps.profile = str(manifests_dir)
    for f in findings:
        static_steps.record(f"{f.rule} {f.obj}", f.file or "static", FAILED, finding_detail(f))
    for n in notes:
        static_steps.record(f"{n.obj}: needs what is not in the folder", n.file or "static", NOT_VERIFIED, n.message)
    if findings:
        pytest.fail(folder_report(findings, str(manifests_dir), notes), pytrace=False)
    if notes:
        print("\n" + folder_report([], str(manifests_dir), notes))
    static_steps.record("no finding", "static", PASSED, f"every rule passed on {manifests_dir}")
