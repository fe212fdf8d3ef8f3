"""Existing-cluster mode (workshop instructors): ``pytest scenarios -m existing --kubeconfig PATH``.

The same read-only path as ``argo-tutorial-live`` (GET only, bounded; no backend, Docker, kind or kubectl): one
test per section of the tutorial, failing where the participant is stuck (with the evidence and the defect),
skipped where they have not got yet. The board goes to the artifacts folder (board.md, board.html, board.json).
Deselected without ``--kubeconfig``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from argo_tutorial_suite.live import board, cli, kubeconfig
from argo_tutorial_suite.live.progress import Reach

pytestmark = [pytest.mark.existing]
SECTIONS = ("Cluster", "Install", "Argo CD", "Blue-green", "CI", "TLS")


@pytest.fixture(scope="session")
def live_rows(pytestconfig: pytest.Config) -> list[board.Row]:
    path = Path(str(pytestconfig.getoption("kubeconfig")))
    context = pytestconfig.getoption("kube_context")
    rows = [cli.check(t, 20.0, False, board.to_stderr) for t in kubeconfig.read(path, [context] if context else None)]
    out = Path(str(pytestconfig.getoption("artifacts")))
    out.mkdir(parents=True, exist_ok=True)
    (out / "board.md").write_text(board.markdown(rows))
    (out / "board.html").write_text(board.html_page(rows))
    (out / "board.json").write_text(board.as_json(rows))
    return rows


@pytest.mark.parametrize("section", SECTIONS)
def test_progress(live_rows: list[board.Row], section: str) -> None:
    steps = [(r.participant, s) for r in live_rows for s in r.steps if s.section == section]
    stuck = [
        f"{who}: {s.title}: {s.detail}" + (f" [{s.defect}] fix: {s.fix}" if s.defect else "")
        for who, s in steps
        if s.reach is Reach.STUCK
    ]
    if stuck:
        pytest.fail("\n".join(stuck), pytrace=False)
    if not steps or all(s.reach is not Reach.REACHED for _w, s in steps):
        why = "; ".join(f"{s.title}: {s.reach.value}: {s.detail}" for _w, s in steps[:3]) or "nothing here yet"
        pytest.skip(f"{section}: not reached yet ({why})")
