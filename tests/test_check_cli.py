"""The folder check as a command: a line per finding, a summary per folder, four formats, linter exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from argo_tutorial_suite.paths import MANIFESTS
from argo_tutorial_suite.static.cli import main

CLEAN = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n"
BROKEN = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  replicas: '2'\n"
    "  selectr: {}\n  template:\n    metadata: {labels: {app: web}}\n"
    "    spec: {containers: [{name: c, image: 'nginx:1.25', ports: [{containerPort: '80'}]}]}\n"
)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    good, bad = tmp_path / "alice", tmp_path / "bob"
    good.mkdir()
    bad.mkdir()
    (good / "ns.yaml").write_text(CLEAN)
    (bad / "ns.yaml").write_text(CLEAN)
    (bad / "deploy.yaml").write_text("# the app\n" + BROKEN)
    return good, bad


def test_a_clean_folder_exits_0_and_says_clean(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(folders[0])]) == 0
    assert re.fullmatch(rf"{re.escape(str(folders[0]))}: clean in \d+\.\d\ds\n", capsys.readouterr().out)


def test_findings_exit_1_one_line_each_with_file_and_line(
    folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(f) for f in folders]) == 1
    out = capsys.readouterr().out.splitlines()
    lines = [x for x in out if x.startswith(str(folders[1]) + "/deploy.yaml:2: ")]
    # every schema error of the object, each once: two types, an unknown field with the nearest one, a missing field
    assert len([x for x in lines if "SCHEMA-INVALID Deployment/demo/web" in x]) == 4, out
    assert any('unknown field "spec.selectr" (did you mean "selector"?)' in x for x in lines)
    assert out[-1] == "2 folders: 1 clean, 1 with findings or errors"


def test_a_missing_folder_or_a_bad_option_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["--format", "yaml", str(tmp_path)])
    assert e.value.code == 2


def test_json_holds_every_finding(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "json", *map(str, folders)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [d["folder"] for d in doc] == [str(f) for f in folders]
    assert doc[0]["findings"] == [] and len(doc[1]["findings"]) >= 4
    assert {"rule", "object", "message", "fix", "file", "line", "defect"} <= set(doc[1]["findings"][0])


def test_sarif_is_2_1_0_with_a_location_per_result(
    folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--format", "sarif", *map(str, folders)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert run["results"] and all(r["ruleId"] in ids for r in run["results"])
    loc = run["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("/deploy.yaml") and loc["region"]["startLine"] == 2
    assert all(r["level"] in ("error", "note") for r in run["results"])


def test_junit_is_a_suite_per_folder(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "junit", *map(str, folders)]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(f) for f in folders]
    assert suites[0].get("failures") == "0" and int(suites[1].get("failures") or 0) >= 4
    assert len(suites[1].findall("testcase/failure")) == int(suites[1].get("failures") or 0)


def test_the_tutorials_folder_names_its_defects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A participant's verbatim copy of the tutorial: findings carry the catalog's defect IDs; the tutorial-only
    summary lines of the pytest path ("defects only current") are not printed for a folder."""
    folder = MANIFESTS / "tutorial" / "gitops"
    assert main([str(folder)]) == 1
    out = capsys.readouterr().out
    assert "[D13]" in out and "[D17]" in out and "defects only" not in out


def test_the_console_script_runs_as_a_process(folders: tuple[Path, Path]) -> None:
    cp = subprocess.run([sys.executable, "-m", "argo_tutorial_suite.static.cli", str(folders[0])],
                        capture_output=True, text=True, timeout=60)  # fmt: skip
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr


def test_a_crd_in_the_folder_checks_its_custom_resources_strictly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A structural schema prunes what it does not specify; strict field validation reports it as unknown."""
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n"
        "spec:\n  group: example.com\n  scope: Namespaced\n  names: {kind: Widget, plural: widgets}\n  versions:\n"
        "  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n"
        "        properties:\n          spec:\n            type: object\n            properties:\n"
        "              replicas: {type: integer}\n              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}\n"
    )
    (tmp_path / "crd.yaml").write_text(crd)
    (tmp_path / "w.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n"
        "spec: {replicsa: 2, extra: {anything: goes}}\n"
    )
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert 'unknown field "spec.replicsa" (did you mean "replicas"?)' in out and "anything" not in out


def test_a_custom_resource_without_its_crd_is_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vs.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: default}\nspec: {}\n"
    )
    assert main([str(tmp_path)]) == 0
    assert "note: a networking.istio.io VirtualService: its CRD is neither" in capsys.readouterr().out
