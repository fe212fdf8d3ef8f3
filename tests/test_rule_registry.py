"""Every static rule ID can fire and can stay quiet: a rule made to never fire (or to always fire) turns a test red.

The registry is what the rules declare (``@rule("ID", ...)``, :func:`argo_tutorial_suite.static.engine.registry`). Each ID
has either explicit cases here (a small folder where it fires, and the same folder fixed where it stays quiet),
or catalog expectations: the tutorial's as-written files fire it and the corrected files, which fix exactly
those defects, are quiet. A rule ID with neither fails :func:`test_every_registered_rule_id_has_both_cases`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from argo_tutorial_suite.static.engine import directory_bundle, profile_bundle, registry, run
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.upstream import Upstream

NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"
DEPLOY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo}\nspec:\n"
    "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
    "    spec: {containers: [{name: c, image: 'nginx:1.25', ports: [{name: http, containerPort: 80}]}]}\n"
)
SVC = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
    "spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}\n"
)
ING = (
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: demo}\nspec:\n"
    "  ingressClassName: nginx\n"
    "  rules: [{host: a.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, "
    "port: {number: 80}}}}]}}]\n"
)
ROLLOUT = (
    "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: app, namespace: demo}\nspec:\n"
    "  selector: {matchLabels: {app: app}}\n"
    "  strategy: {blueGreen: {activeService: app, previewService: app-preview}}\n"
    "  template:\n    metadata: {labels: {app: app}}\n"
    "    spec: {containers: [{name: c, image: 'nginx:1.25', readinessProbe: {httpGet: {path: /, port: 80}}}]}\n"
)


def svc(name: str, selector: str) -> str:
    return (
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: demo}}\n"
        f"spec: {{selector: {selector}, ports: [{{port: 80}}]}}\n"
    )


EVENTSOURCE = (
    "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: hook, namespace: demo}\n"
    "spec: {webhook: {push: {port: '12000', endpoint: /push, method: POST}}}\n"
)


def sensor(*, param: str, event: str = "push", sa: str = "sensor", entry: str = "main", task_dep: str = "") -> str:
    deps = f", depends: {task_dep}" if task_dep else ""
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {{name: ci, namespace: demo}}
spec:
  template: {{serviceAccountName: {sa}}}
  dependencies: [{{name: dep, eventSourceName: hook, eventName: {event}}}]
  triggers:
  - template:
      name: wf
      k8s:
        operation: create
        source:
          resource:
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {{generateName: ci-}}
            spec:
              entrypoint: {entry}
              serviceAccountName: runner
              arguments: {{parameters: [{{name: tag, value: x}}]}}
              templates:
              - name: main
                inputs: {{parameters: [{{name: tag}}]}}
                dag: {{tasks: [{{name: a, template: step}}, {{name: b, template: step{deps}}}]}}
              - name: step
                container: {{image: 'alpine:3.19', command: [echo, '{{{{inputs.parameters.tag}}}}']}}
        parameters:
        - src: {{dependencyName: dep, dataTemplate: '{param}'}}
          dest: spec.arguments.parameters.0.value
"""


RBAC = """apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ci, namespace: demo}
rules:
- {apiGroups: [argoproj.io], resources: [workflows, workflowtaskresults], verbs: [create, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci, namespace: demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ci}
subjects: [{kind: ServiceAccount, name: sensor}, {kind: ServiceAccount, name: runner}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sensor, namespace: demo}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner, namespace: demo}
"""
OTHER_SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: other, namespace: demo}\n"
GOOD_PARAM = "{{ .Input.body.after }}"
CI_OK = "---\n".join([NS, EVENTSOURCE, sensor(param=GOOD_PARAM), RBAC])


def env_pod(value: str) -> str:
    return DEPLOY.replace("ports: [", f"env: [{{name: GITHUB_TOKEN, {value}}}], ports: [")


# rule ID -> (a folder where it fires, the same folder where it stays quiet)
Files = Mapping[str, str | bytes]
CASES: dict[str, tuple[Files, Files]] = {
    "FILE-BINARY": ({"a.yaml": b"\x00\x01binary"}, {"a.yaml": NS}),
    "YAML-MALFORMED": ({"a.yaml": "kind: [\n"}, {"a.yaml": NS}),
    "YAML-NOT-OBJECT": ({"a.yaml": "- just\n- a list\n"}, {"a.yaml": NS}),
    # a custom resource whose CRD is nowhere: a note; the same with its CRD in the folder: checked, quiet
    "SCHEMA-NO-CRD": (
        {"a.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n"},
        {
            "a.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n---\n"
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            "metadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  scope: Cluster\n"
            "  names: {kind: Widget, plural: widgets}\n  versions:\n  - name: v1\n    served: true\n"
            "    storage: true\n    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, "
            "properties: {size: {type: integer}}}}}}\n"
        },
    ),
    # an alias bomb (each level repeats the one before nine times): go-yaml refuses it, so does the check
    "INPUT-LIMIT": (
        {
            "a.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=False))
        },
        {"a.yaml": "a: &a [x, x, x]\nb: [*a, *a]\n" + NS.replace("apiVersion", "---\napiVersion", 1)},
    ),
    "KUSTOMIZE-BUILD": (
        {"kustomization.yaml": "resources: [ns.yml]\n", "ns.yaml": NS},
        {"kustomization.yaml": "resources: [ns.yaml]\n", "ns.yaml": NS},
    ),
    "KUSTOMIZE-MISSING-FILE": (
        {"kustomization.yaml": "resources: [ns.yml]\n", "ns.yaml": NS},
        {"kustomization.yaml": "resources: [ns.yaml]\n", "ns.yaml": NS},
    ),
    "NO-MANIFESTS": ({"README.md": "notes\n"}, {"a.yaml": NS}),
    "SCHEMA-INVALID": ({"a.yaml": SVC.replace("port: 80", "port: eighty")}, {"a.yaml": "---\n".join([NS, SVC])}),
    "SCHEMA-UNKNOWN-KIND": ({"a.yaml": "apiVersion: v1\nkind: Gizmo\nmetadata: {name: x}\n"}, {"a.yaml": NS}),
    "INGRESS-BACKEND": (
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC, ING.replace("number: 80", "number: 8080")])},
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC, ING])},
    ),
    "WORKLOAD-SELECTOR": (
        {"a.yaml": "---\n".join([NS, DEPLOY.replace("labels: {app: web}", "labels: {app: WEB}")])},
        {"a.yaml": "---\n".join([NS, DEPLOY])},
    ),
    "SERVICE-SELECTOR": (
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC.replace("selector: {app: web}", "selector: {app: api}")])},
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC])},
    ),
    "SERVICE-TARGETPORT": (
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC.replace("targetPort: http", "targetPort: web-http")])},
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC])},
    ),
    "PORT-UNDECLARED": (
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC.replace("targetPort: http", "targetPort: 8080")])},
        {"a.yaml": "---\n".join([NS, DEPLOY, SVC.replace("targetPort: http", "targetPort: 80")])},
    ),
    "NOT-IN-FOLDER": (
        {"a.yaml": "---\n".join([NS, DEPLOY.replace("spec: {containers", "spec: {serviceAccountName: x, containers")])},
        {"a.yaml": "---\n".join([NS, DEPLOY])},
    ),
    "ROLLOUT-SERVICE-MISSING": (
        {"a.yaml": "---\n".join([NS, ROLLOUT, svc("app", "{app: app}")])},
        {"a.yaml": "---\n".join([NS, ROLLOUT, svc("app", "{app: app}"), svc("app-preview", "{app: app}")])},
    ),
    "ROLLOUT-SERVICE-SELECTOR": (
        {"a.yaml": "---\n".join([NS, ROLLOUT, svc("app", "{app: app}"), svc("app-preview", "{app: other}")])},
        {"a.yaml": "---\n".join([NS, ROLLOUT, svc("app", "{app: app}"), svc("app-preview", "{app: app}")])},
    ),
    "SENSOR-DEPENDENCY": (
        {"ci.yaml": CI_OK.replace("eventName: push", "eventName: pull")},
        {"ci.yaml": CI_OK},
    ),
    "SENSOR-PAYLOAD-QUOTES": (
        {"ci.yaml": CI_OK.replace(f"'{GOOD_PARAM}'", f"'\"{GOOD_PARAM}\"'")},
        {"ci.yaml": CI_OK},
    ),
    "DAG-DEPENDENCY": (
        {"ci.yaml": "---\n".join([NS, EVENTSOURCE, sensor(param=GOOD_PARAM, task_dep="c"), RBAC])},
        {"ci.yaml": "---\n".join([NS, EVENTSOURCE, sensor(param=GOOD_PARAM, task_dep="a"), RBAC])},
    ),
    "RBAC-SENSOR-TRIGGER": (
        {"ci.yaml": "---\n".join([NS, EVENTSOURCE, sensor(param=GOOD_PARAM, sa="other"), RBAC, OTHER_SA])},
        {"ci.yaml": CI_OK},
    ),
    "RBAC-EXECUTOR": (
        {"ci.yaml": CI_OK.replace("workflows, workflowtaskresults", "workflows")},
        {"ci.yaml": CI_OK},
    ),
    "ENV-CREDENTIAL": (
        {"a.yaml": "---\n".join([NS, env_pod("value: ghp_notreallyatoken")])},
        {"a.yaml": "---\n".join([NS, env_pod("valueFrom: {secretKeyRef: {name: s, key: k}}")])},
    ),
    "ROLE-CLUSTER-SCOPED": (
        {"a.yaml": "---\n".join([NS, RBAC.replace("resources: [workflows,", "resources: [nodes, workflows,")])},
        {"a.yaml": "---\n".join([NS, RBAC])},
    ),
}


def _folder(root: Path, files: Files) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def _rules(root: Path, files: Files) -> set[str]:
    return {f.rule for f in run(directory_bundle(_folder(root, files), Pins.load("current"), None))}


def catalog_rules() -> dict[str, set[str]]:
    """rule ID -> the pins sets with which the tutorial's as-written files must fire it."""
    out: dict[str, set[str]] = {}
    for d in catalog.load().values():
        for e in d.static:
            out.setdefault(e.rule, set()).update(e.pins or ("tutorial-2023", "current"))
    return out


# rule IDs whose cases need more than a folder: each has its own test below
SPECIAL = {
    "INGRESS-ANNOTATION-UNSUPPORTED",  # test_static_rules: needs an install plan that installs Traefik
    "HELM-CHART",
    "HELM-TEMPLATE",
    "RULE-CRASH",
    "FILE-UNREADABLE",
    "SECRET-VALUE",
}  # + test_secret_values  # FILE-UNREADABLE: test_folder_safety


def test_every_registered_rule_id_has_both_cases() -> None:
    reg = registry()
    covered = set(CASES) | set(catalog_rules()) | SPECIAL
    assert not sorted(set(reg) - covered), "rule IDs with no case where they fire and none where they stay quiet"
    assert not sorted(covered - set(reg)), "cases for rule IDs no rule declares"


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_rule_fires_and_stays_quiet(rule_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fires, quiet = CASES[rule_id]
    assert rule_id in _rules(tmp_path / "fires", fires), f"{rule_id} did not fire"
    assert rule_id not in _rules(tmp_path / "quiet", quiet), f"{rule_id} fired on the fixed folder"


_PROFILE_RULES: dict[tuple[str, str], frozenset[str]] = {}


def _profile_rules(profile: str, pins: str, upstream: Upstream) -> frozenset[str]:
    if (profile, pins) not in _PROFILE_RULES:
        findings = run(profile_bundle(Profile.load(profile, pins), upstream))
        _PROFILE_RULES[(profile, pins)] = frozenset(f.rule for f in findings)
    return _PROFILE_RULES[(profile, pins)]


@pytest.mark.parametrize("rule_id", sorted(catalog_rules()))
def test_a_catalog_rule_fires_as_written_and_is_quiet_corrected(rule_id: str, upstream: Upstream) -> None:
    for pins in sorted(catalog_rules()[rule_id]):
        assert rule_id in _profile_rules("as-written", pins, upstream), f"{rule_id} silent on {pins}"
        assert rule_id not in _profile_rules("corrected", pins, upstream), f"{rule_id} fires corrected"


def test_a_finding_never_names_an_undeclared_rule(tmp_path: Path) -> None:
    reg = registry()
    for rule_id, (fires, _quiet) in CASES.items():
        found = _rules(tmp_path / rule_id, fires)
        assert found <= set(reg), f"undeclared rule IDs reported: {sorted(found - set(reg))}"


CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "chart/templates/ns.yaml": "kind: Namespace\nmetadata:\n  name: {{ .Release.Name }}\n",
}


def _fake_helm(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "helm").write_text("#!/bin/sh\n" + script)
    (bin_dir / "helm").chmod(0o755)


def test_helm_chart_fires_without_helm_and_is_quiet_once_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nobin"))
    assert "HELM-CHART" in _rules(tmp_path / "a", CHART)
    _fake_helm(tmp_path / "bin", f"printf '{NS}'\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    rules = _rules(tmp_path / "b", CHART)
    assert "HELM-CHART" not in rules and "HELM-TEMPLATE" not in rules


def test_helm_template_fires_when_the_chart_does_not_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_helm(tmp_path / "bin", "echo 'Error: parse error in ns.yaml' >&2; exit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert "HELM-TEMPLATE" in _rules(tmp_path / "a", CHART)


def test_rule_crash_is_a_finding_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from argo_tutorial_suite.static import engine

    registry()  # the rules are registered

    def crashes(b: engine.Bundle) -> list[object]:
        raise TypeError("boom")

    assert "RULE-CRASH" not in _rules(tmp_path / "a", {"a.yaml": NS})
    monkeypatch.setattr(engine, "RULES", [*engine.RULES, crashes])
    found = run(directory_bundle(_folder(tmp_path / "b", {"a.yaml": NS}), Pins.load("current"), None))
    assert [(f.rule, f.obj) for f in found] == [("RULE-CRASH", "Namespace/demo")]
    assert "rule crashes failed on this object: TypeError: boom" in found[0].message


def test_a_rule_crashing_on_one_object_still_checks_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One malformed object is its own finding; the rule's findings on the objects before and after it stay."""
    from argo_tutorial_suite.static import engine
    from argo_tutorial_suite.static.findings import Finding

    registry()

    def picky(b: engine.Bundle) -> list[Finding]:
        out = []
        for o in b.objects:
            out.append(Finding("PICKY", o["metadata"]["name"], "seen"))  # a malformed object has no metadata
        return out

    monkeypatch.setattr(engine, "RULES", [picky])
    files = {"a.yaml": NS.replace("demo", "first") + "---\nkind: Namespace\n---\n" + NS.replace("demo", "last")}
    found = run(directory_bundle(_folder(tmp_path, files), Pins.load("current"), None))
    assert sorted((f.rule, f.obj) for f in found) == [
        ("PICKY", "first"),
        ("PICKY", "last"),
        ("RULE-CRASH", "Namespace/"),
    ]
