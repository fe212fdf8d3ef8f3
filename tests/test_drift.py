"""manifests/tutorial/ must stay exactly what the tutorial prints (the subject under test)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.tutorial.installplan import parse_script
from argo_tutorial_suite.tutorial.text import TutorialFormatError, read_tutorial, tutorial_files

TUTORIAL_DIR = MANIFESTS / "tutorial"


@pytest.fixture(scope="module")
def printed(pytestconfig: pytest.Config) -> dict[str, str]:
    source = str(pytestconfig.getoption("tutorial"))
    if not source.startswith("http") and not Path(source).is_file():
        pytest.skip(f"tutorial text not found at {source} (../shared absent): pass --tutorial PATH_OR_URL")
    return tutorial_files(read_tutorial(source))


def test_every_printed_file_is_in_manifests(printed: dict[str, str]) -> None:
    drift = [
        p for p, text in printed.items() if not (TUTORIAL_DIR / p).is_file() or (TUTORIAL_DIR / p).read_text() != text
    ]
    assert not drift, f"manifests/tutorial/ drifted from the tutorial text: {drift}"


def test_no_extra_files_in_manifests(printed: dict[str, str]) -> None:
    ours = {str(p.relative_to(TUTORIAL_DIR)) for p in TUTORIAL_DIR.rglob("*") if p.is_file()}
    assert ours - set(printed) == {"install/plan.yaml"}


def test_plan_matches_script() -> None:
    plan = yaml.safe_load((TUTORIAL_DIR / "install" / "plan.yaml").read_text())
    assert plan == parse_script((TUTORIAL_DIR / "install" / "install.sh").read_text()).to_data()


def test_plan_keeps_the_typo() -> None:
    plan = parse_script((TUTORIAL_DIR / "install" / "install.sh").read_text())
    assert [c.program for c in plan.commands()].count("ubectl") == 1
    assert len(plan.steps) == 7


def test_drift_is_detected() -> None:
    text = (TUTORIAL_DIR / "gitops" / "rollout.yaml").read_text()
    md = "### rollout.yaml\n\n```yaml\n" + text.replace("replicas: 3", "replicas: 2") + "```\n"
    with pytest.raises(TutorialFormatError):
        tutorial_files(md)  # not the whole tutorial: a clear error, not a silent pass


def test_blockquoted_code_is_not_a_file() -> None:
    from argo_tutorial_suite.tutorial.text import extract_blocks

    md = "### secret.yaml\n\n```yaml\na: 1\n```\n\n> ```json\n> {}\n> ```\n"
    assert [b.heading for b in extract_blocks(md)] == ["secret.yaml"]
