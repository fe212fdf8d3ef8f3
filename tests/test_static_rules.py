"""Unit tests of the static rules and their building blocks, including bad input."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from argo_tutorial_suite.static.engine import Bundle, Source, directory_bundle, run
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.rules.ci import argocd_enforces_json
from argo_tutorial_suite.static.rules.code import eol_parts
from argo_tutorial_suite.static.rules.gitops import image_repo
from argo_tutorial_suite.tutorial import catalog
from argo_tutorial_suite.tutorial.gotemplate import TemplateError, paths, render
from argo_tutorial_suite.tutorial.installplan import classify_url, parse_script
from argo_tutorial_suite.tutorial.payloads import bitbucket_push, canonical_header, event_data, github_push
from argo_tutorial_suite.tutorial.profiles import Pins, Profile
from argo_tutorial_suite.upstream import Upstream, UpstreamMismatch, UpstreamUnavailable

TUTORIAL_TEMPLATE = '"{{ (index .Input.body.push.changes 0).new.target.hash | substr 0 7 }}"'
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_template_bitbucket_resolves_with_quotes() -> None:
    assert render(TUTORIAL_TEMPLATE, {"Input": event_data(*bitbucket_push(SHA))}) == '"0123456"'


def test_template_github_fails_like_go() -> None:
    with pytest.raises(TemplateError, match="index of untyped nil"):
        render(TUTORIAL_TEMPLATE, {"Input": event_data(*github_push(SHA))})


def test_template_null_is_nil_pointer() -> None:
    _, body = bitbucket_push(SHA)
    body["push"]["changes"][0]["new"] = None
    with pytest.raises(TemplateError, match="nil pointer"):
        render(TUTORIAL_TEMPLATE, {"Input": event_data({}, body)})


def test_template_paths() -> None:
    assert paths(TUTORIAL_TEMPLATE) == [["body", "push", "changes", 0, "new", "target", "hash"]]
    assert render("{{ .Input.body.after | substr 0 7 }}", {"Input": event_data(*github_push(SHA))}) == "0123456"


def test_canonical_header() -> None:
    assert canonical_header("X-GitHub-Event") == "X-Github-Event"


@pytest.mark.parametrize(
    ("url", "want"),
    [
        (
            "https://raw.githubusercontent.com/argoproj/argo-cd/stable/manifests/ha/install.yaml",
            ("argo-cd", "stable", "ha/install.yaml"),
        ),
        (
            "https://github.com/argoproj/argo-rollouts/releases/latest/download/install.yaml",
            ("argo-rollouts", "latest", "install.yaml"),
        ),
        ("https://example.com/x.yaml", (None, None, None)),
    ],
)
def test_classify_url(url: str, want: tuple[str | None, ...]) -> None:
    assert classify_url(url) == want


def test_parse_script_joins_continuations() -> None:
    plan = parse_script("echo -e \"\n│ Install start x │\n\"\nkubectl patch deployment \\\n  a -p='[\n1]'\n")
    assert [c.run for c in plan.commands()] == ["kubectl patch deployment a -p='[\n1]'"]


@pytest.mark.parametrize(
    ("image", "want"),
    [
        ("juunini.azurecr.io/juunini/hello:latest", ("juunini.azurecr.io", "juunini/hello", "latest")),
        ("alpine:3.17", ("docker.io", "alpine", "3.17")),
        ("localhost:5000/a/b", ("localhost:5000", "a/b", "latest")),
    ],
)
def test_image_repo(image: str, want: tuple[str, str, str]) -> None:
    assert image_repo(image) == want


def test_eol_parts() -> None:
    assert [p[:2] for p in eol_parts("golang:1.20.1-alpine3.17")] == [("golang", "1.20"), ("alpine", "3.17")]
    assert eol_parts("alpine:3.22") == []


@pytest.mark.parametrize(("v", "want"), [("v2.6.3", False), ("v2.9.4", True), ("v2.9.3", False), ("v3.5.1", True)])
def test_argocd_content_type(v: str, want: bool) -> None:
    assert argocd_enforces_json(v) is want


def test_catalog_covers_d1_to_d37() -> None:
    ids = set(catalog.load())
    assert ids == {f"D{i}" for i in range(1, 38)}
    assert {d.id for d in catalog.load().values() if d.detect == "cluster"} == {"D9", "D31", "D34"}
    assert catalog.expected_findings("current") - catalog.expected_findings("tutorial-2023") == {
        ("D2", "INSTALL-CRD-ANNOTATION-SIZE", "install:Install start argo-cd#1"),
        ("D24", "HTTP-CONTENT-TYPE", "Sensor/ci/ci"),
        ("D37", "INSTALL-RETIRED-COMPONENT", "install:Install start ingress-nginx#0"),
    }


def _dir(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_malformed_yaml_is_a_finding(tmp_path: Path) -> None:
    findings = run(directory_bundle(_dir(tmp_path, {"a.yaml": "kind: [\n"}), Pins.load("tutorial-2023"), None))
    assert [f.rule for f in findings] == ["YAML-MALFORMED"]
    assert "line" in findings[0].message


def test_unknown_kind_is_a_finding(tmp_path: Path) -> None:
    findings = run(
        directory_bundle(
            _dir(tmp_path, {"a.yaml": "apiVersion: v1\nkind: Gizmo\nmetadata: {name: x}\n"}),
            Pins.load("tutorial-2023"),
            None,
        )
    )
    assert [f.rule for f in findings] == ["SCHEMA-UNKNOWN-KIND"]


def test_schema_error_is_a_finding(tmp_path: Path) -> None:
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: default}\nspec: {ports: [{port: eighty}]}\n"
    findings = run(directory_bundle(_dir(tmp_path, {"a.yaml": svc}), Pins.load("tutorial-2023"), None))
    assert [f.rule for f in findings] == ["SCHEMA-INVALID"]


def test_failing_kustomization_is_a_finding(tmp_path: Path) -> None:
    findings = run(
        directory_bundle(
            _dir(tmp_path, {"kustomization.yaml": "resources: [nope.yaml]\n"}), Pins.load("tutorial-2023"), None
        )
    )
    assert {f.rule for f in findings} == {"KUSTOMIZE-BUILD", "KUSTOMIZE-MISSING-FILE"}
    assert all("Traceback" not in f.message for f in findings)


def test_empty_dir_is_a_finding(tmp_path: Path) -> None:
    assert [f.rule for f in run(directory_bundle(tmp_path, Pins.load("tutorial-2023"), None))] == ["NO-MANIFESTS"]


def test_missing_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        directory_bundle(tmp_path / "nope", Pins.load("tutorial-2023"), None)


def test_clean_dir_passes(tmp_path: Path) -> None:
    ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"
    assert run(directory_bundle(_dir(tmp_path, {"ns.yaml": ns}), Pins.load("tutorial-2023"), None)) == []


def test_shared_tls_secret_rule() -> None:
    def ing(name: str, host: str) -> dict[str, object]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": name, "namespace": "n"},
            "spec": {"tls": [{"hosts": [host], "secretName": "s"}]},
        }

    from argo_tutorial_suite.static.rules.generic import ingress_tls_secret_shared

    b = Bundle(sources=[Source(ing("a", "a.test"), "a"), Source(ing("b", "b.test"), "b")])
    assert {f.obj for f in ingress_tls_secret_shared(b)} == {"Ingress/n/a", "Ingress/n/b"}
    b = Bundle(sources=[Source(ing("a", "a.test"), "a"), Source(ing("b", "a.test"), "b")])
    assert list(ingress_tls_secret_shared(b)) == []


def test_secret_rule_sees_data() -> None:
    from argo_tutorial_suite.static.rules.generic import secrets_in_git

    s = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "x", "namespace": "n"},
        "data": {"k": base64.b64encode(b"v").decode()},
    }
    found = list(secrets_in_git(Bundle(sources=[Source(s, "f")])))
    assert [f.obj for f in found] == ["Secret/n/x"]
    assert [f.defect for f in found] == [None]  # rules are general: the catalog names defects (catalog.tag)


def test_catalog_tags_only_the_tutorials_own_findings() -> None:
    from argo_tutorial_suite.static.findings import Finding
    from argo_tutorial_suite.tutorial import catalog

    d, r, o = sorted(catalog.expected_findings("tutorial-2023"))[0]
    tagged = catalog.tag([Finding(r, o, "m"), Finding(r, "Other/x/y", "m")])
    assert [f.defect for f in tagged] == [d, None]


def test_upstream_checks_sha256(tmp_path: Path) -> None:
    bad = tmp_path / "argo-cd" / "v2.6.3" / "manifests" / "install.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("tampered")
    up = Upstream(tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(UpstreamMismatch):
        up.read_bytes("argo-cd", "v2.6.3", "manifests/install.yaml")
    with pytest.raises(UpstreamUnavailable, match="--allow-download"):
        up.read_bytes("argo-cd", "v3.5.1", "manifests/install.yaml")


def test_profiles_reject_unknown_names() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        Profile.load("nope")
    with pytest.raises(ValueError, match="choose one of"):
        Pins.load("nope")


def test_corrected_fixes_are_tagged() -> None:
    """Every patch operation or file of the corrected overlay names the defect(s) it fixes."""
    import re

    from argo_tutorial_suite.paths import MANIFESTS

    for f in (MANIFESTS / "corrected").rglob("*.yaml"):
        text = f.read_text()
        assert re.search(r"D\d+", text), f"{f} names no defect"


def _folder(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "m.yaml").write_text(text)
    findings = run(directory_bundle(tmp_path, Pins.load("current"), None, None))
    return [f"{f.rule} {f.obj}: {f.message}" for f in findings]


SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  ports: [{name: http, port: 80}]\n"


def test_a_v1beta1_ingress_is_read_in_its_own_shape(tmp_path: Path) -> None:
    got = _folder(
        tmp_path,
        SERVICE + "---\napiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: i, namespace: default}\n"
        "spec:\n  rules: [{host: a.test, http: {paths: [{path: /, backend: {serviceName: web, servicePort: 80}}]}}]\n",
    )
    assert not [g for g in got if g.startswith("INGRESS-BACKEND")], got  # not "Service None does not exist"
    removed = [g for g in got if "removed in Kubernetes 1.22" in g]
    assert removed and "use networking.k8s.io/v1" in removed[0]


def test_an_ingress_port_name_is_checked(tmp_path: Path) -> None:
    got = _folder(
        tmp_path,
        SERVICE + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: default}\n"
        "spec:\n  ingressClassName: nginx\n  rules: [{host: a.test, http: {paths: [{path: /, pathType: Prefix, "
        "backend: {service: {name: web, port: {name: https}}}}]}}]\n",
    )
    assert any("backend port name 'https' names no port of Service web" in g for g in got), got


WEBHOOK_ES = (
    "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: es, namespace: ci}\n"
    "spec: {webhook: {ev: {port: '12000', endpoint: /push, method: POST}}}\n---\n"
)


def test_a_pull_request_sensor_is_not_checked_against_a_push(tmp_path: Path) -> None:
    sensor = WEBHOOK_ES + (
        "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: pr, namespace: ci}\nspec:\n"
        "  dependencies:\n  - name: d\n    eventSourceName: es\n    eventName: ev\n"
        "    filters: {data: [{path: header.X-Github-Event, type: string, value: [pull_request]}]}\n"
        "  triggers:\n  - template:\n      name: t\n      k8s:\n        operation: create\n"
        "        source: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {generateName: x-}}}\n"
        "        parameters:\n        - src: {dependencyName: d, dataTemplate: '{{ .Input.body.pull_request.head.sha }}'}\n"
        "          dest: data.sha\n"
    )
    got = _folder(tmp_path, sensor)
    assert not [g for g in got if g.startswith("SENSOR-PAYLOAD-PATH")], got
    # the same Sensor without the filter would receive a push, and there that path is nil
    got = _folder(
        tmp_path,
        sensor.replace(
            "    filters: {data: [{path: header.X-Github-Event, type: string, value: [pull_request]}]}\n", ""
        ),
    )
    hits = [g for g in got if g.startswith("SENSOR-PAYLOAD-PATH")]
    assert hits and "Bitbucket" not in " ".join(hits)


def test_a_helm_chart_is_not_malformed_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no helm here: say to render it first
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (tmp_path / "chart" / "templates" / "svc.yaml").write_text(
        "kind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"
    )
    findings = run(directory_bundle(tmp_path, Pins.load("current"), None, None))
    rules = {f.rule for f in findings}
    assert "HELM-CHART" in rules and "YAML-MALFORMED" not in rules
    assert any("helm template" in f.hint for f in findings if f.rule == "HELM-CHART")


DEPLOY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec:\n"
    "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: WEB}}\n"
    "    spec:\n      serviceAccountName: web-sa\n      containers: [{name: c, image: 'nginx:1.25', ports: [{name: http, containerPort: 80}],"
    " env: [{name: X, valueFrom: {secretKeyRef: {name: creds, key: k}}}]}]\n"
)


def test_references_between_objects(tmp_path: Path) -> None:
    svc = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n"
        "  selector: {app: web}\n  ports: [{port: 80, targetPort: web-http}]\n"
    )
    rb = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: default}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n"
        "subjects: [{kind: ServiceAccount, name: robot}]\n"
    )
    ing = (
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: default, "
        "annotations: {cert-manager.io/issuer: le}}\nspec:\n  ingressClassName: nginx\n"
        "  rules: [{host: a.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]\n"
    )
    got = _folder(tmp_path, "---\n".join([DEPLOY, svc, rb, ing]))
    assert any(g.startswith("WORKLOAD-SELECTOR Deployment/default/web") for g in got), got
    assert any(g.startswith("SERVICE-SELECTOR Service/default/web") for g in got), got
    notes = [g for g in got if g.startswith("NOT-IN-FOLDER")]
    for wanted in (
        "ServiceAccount default/web-sa",
        "Secret default/creds",
        "ServiceAccount default/robot",
        "Issuer default/le",
    ):
        assert any(wanted in n for n in notes), (wanted, notes)
    assert not any("ClusterRole view" in n for n in notes)  # every cluster has it
    fixed = DEPLOY.replace("app: WEB", "app: web")
    got = _folder(tmp_path, "---\n".join([fixed, svc]))
    assert any("targetPort 'web-http' names no container port" in g for g in got), got
    assert not any(g.startswith(("WORKLOAD-SELECTOR", "SERVICE-SELECTOR")) for g in got)


def test_a_folder_with_only_notes_passes_with_a_report(tmp_path: Path) -> None:
    from argo_tutorial_suite.static.report import folder_report, split_notes

    findings, notes = split_notes(
        run(
            directory_bundle(_write(tmp_path, DEPLOY.replace("app: WEB", "app: web")), Pins.load("current"), None, None)
        )
    )
    assert not [f for f in findings if f.rule.startswith(("WORKLOAD-", "SERVICE-"))]
    assert notes and "not in this folder (the cluster may hold them; not a failure):" in folder_report([], "d", notes)


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "m.yaml").write_text(text)
    return tmp_path


def _svc_and_deploy(target: object, declared: list[int]) -> Bundle:
    dep = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
            "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": p} for p in declared]}]}}},
    }  # fmt: skip
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
           "spec": {"selector": {"a": "b"}, "ports": [{"port": 80, "targetPort": target}]}}  # fmt: skip
    return Bundle(sources=[Source(dep, "d.yaml"), Source(svc, "s.yaml")])


def test_numeric_target_port_is_a_note_only_when_the_pods_declare_others() -> None:
    from argo_tutorial_suite.static.report import split_notes
    from argo_tutorial_suite.static.rules.refs import service_selects

    found = list(service_selects(_svc_and_deploy(9090, [8080])))
    assert [f.rule for f in found] == ["PORT-UNDECLARED"] and "8080" in found[0].message
    assert split_notes(found) == ([], found)  # never a failure
    assert list(service_selects(_svc_and_deploy(8080, [8080]))) == []
    assert list(service_selects(_svc_and_deploy(9090, []))) == []  # nothing declared: nothing to compare


def test_application_source_path_is_checked_against_the_folder(tmp_path: Path) -> None:
    from argo_tutorial_suite.static.rules.refs import application_source_path

    (tmp_path / "apps" / "web").mkdir(parents=True)
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a", "namespace": "argocd"},
           "spec": {"source": {"repoURL": "https://git.example/r.git", "path": "apps/web"},
                    "sources": [{"repoURL": "https://git.example/r.git", "path": "apps/api"},
                                {"repoURL": "https://charts.example", "chart": "x"}]}}  # fmt: skip
    b = Bundle(sources=[Source(app, "app.yaml")], root=tmp_path)
    found = list(application_source_path(b))
    assert [f.rule for f in found] == ["NOT-IN-FOLDER"]
    assert "path apps/api of https://git.example/r.git" in found[0].message
    assert list(application_source_path(Bundle(sources=[Source(app, "app.yaml")]))) == []  # no folder: no check


def test_two_findings_of_one_rule_on_one_object_are_both_kept(tmp_path: Path) -> None:
    """An Ingress with two backends that name missing Services: two INGRESS-BACKEND findings, one per backend."""
    ing = (
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: default}\nspec:\n"
        "  ingressClassName: nginx\n  rules:\n"
        "  - {host: a.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: one, port: {number: 80}}}}]}}\n"
        "  - {host: b.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: two, port: {number: 80}}}}]}}\n"
    )
    found = [f for f in run(directory_bundle(_dir(tmp_path, {"a.yaml": ing}), Pins.load("current"), None))
             if f.rule == "INGRESS-BACKEND"]  # fmt: skip
    assert sorted(f.message for f in found) == [
        "backend Service 'one' does not exist in 'default'",
        "backend Service 'two' does not exist in 'default'",
    ]


def test_a_malformed_secret_does_not_stop_the_rule_for_the_others(tmp_path: Path) -> None:
    bad = "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: default}\nstringData: [one, two]\n"
    good = "apiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: default}\nstringData: {token: s3cr3t-value}\n"
    found = run(directory_bundle(_dir(tmp_path, {"a.yaml": bad, "b.yaml": good}), Pins.load("current"), None))
    secrets = {f.obj: f.message for f in found if f.rule == "SECRET-IN-GIT"}
    assert "RULE-CRASH" not in {f.rule for f in found}
    assert secrets["Secret/default/a"].endswith("(stringData (not a mapping))")
    assert secrets["Secret/default/b"].endswith("(token)") and "s3cr3t-value" not in secrets["Secret/default/b"]


def test_rbac_outside_the_folder_is_a_note_and_a_chart_without_helm_is_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What depends on the cluster (a ServiceAccount the folder does not hold) or on a tool (helm) is a note that
    says what it would need, never a failure; a Sensor without a namespace is named as such, not as ``in ''``."""
    from argo_tutorial_suite.static.report import split_notes

    monkeypatch.setenv("PATH", "/nonexistent")
    sensor = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: ci}\nspec:\n"
        "  template: {serviceAccountName: operate-workflow-sa}\n"
        "  dependencies: [{name: d, eventSourceName: es, eventName: e}]\n"
        "  triggers:\n  - template:\n      name: t\n      k8s:\n        operation: create\n"
        "        source: {resource: {apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {generateName: x-},"
        " spec: {entrypoint: m, templates: [{name: m, container: {image: 'alpine:3.19'}}]}}}\n"
    )
    files = {"s.yaml": sensor, "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
             "chart/templates/x.yaml": "kind: {{ .Values.kind }}\n"}  # fmt: skip
    found = run(directory_bundle(_dir(tmp_path, files), Pins.load("current"), None))
    failures, notes = split_notes(found)
    assert not [f for f in failures if f.rule.startswith(("RBAC-", "HELM-"))], failures
    rules = {n.rule for n in notes}
    assert {"NOT-IN-FOLDER", "HELM-CHART"} <= rules
    assert any("ServiceAccount the namespace it is applied to/operate-workflow-sa" in n.message for n in notes)


def _provider_folder(tmp_path: Path, source: str, template: str, events: str = "") -> list[str]:
    """An EventSource of type ``source`` and a Sensor whose parameter reads ``template``."""
    spec = {
        "webhook": "{port: '12000', endpoint: /push, method: POST}",
        "github": "{webhook: {endpoint: /push, port: '12000', method: POST}"
        + (f", events: [{events}]" if events else "")
        + "}",
        "gitlab": "{webhook: {endpoint: /push, port: '12000', method: POST}"
        + (f", events: [{events}]" if events else "")
        + "}",
        "bitbucket": "{webhook: {endpoint: /push, port: '12000', method: POST}"
        + (f", events: ['{events}']" if events else "")
        + "}",
    }[source]
    text = (
        f"apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {{name: es, namespace: ci}}\n"
        f"spec: {{{source}: {{ev: {spec}}}}}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s, namespace: ci}\nspec:\n"
        "  dependencies:\n  - {name: d, eventSourceName: es, eventName: ev}\n"
        "  triggers:\n  - template:\n      name: t\n      k8s:\n        operation: create\n"
        "        source: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {generateName: x-}}}\n"
        f"        parameters:\n        - src: {{dependencyName: d, dataTemplate: '{template}'}}\n"
        "          dest: data.sha\n"
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    return [g for g in _folder(tmp_path, text) if g.startswith("SENSOR-PAYLOAD-PATH")]


@pytest.mark.parametrize(
    ("source", "template", "fails"),
    [
        # argo-events event-data.go: WebhookEventData json:"header"; GithubEventData json:"headers"
        ("webhook", '{{ index .Input.header "X-Github-Event" 0 }}', False),
        ("webhook", '{{ index .Input.headers "X-Github-Event" 0 }}', True),
        ("github", '{{ index .Input.headers "X-Github-Event" 0 }}', False),
        ("github", '{{ index .Input.header "X-Github-Event" 0 }}', True),
        ("github", "{{ .Input.body.after }}", False),
        ("gitlab", "{{ .Input.body.checkout_sha }}", False),
        ("gitlab", '{{ index .Input.headers "X-Gitlab-Event" 0 }}', False),
        ("gitlab", "{{ .Input.body.head_commit.id }}", True),
        ("bitbucket", "{{ (index .Input.body.push.changes 0).new.target.hash }}", False),
        ("bitbucket", "{{ .Input.body.after }}", True),
    ],
)
def test_a_parameter_is_tested_on_the_delivery_its_eventsource_wraps(
    tmp_path: Path, source: str, template: str, fails: bool
) -> None:
    hits = _provider_folder(tmp_path, source, template)
    assert bool(hits) == fails, hits
    if hits:
        assert f"a {'github' if source == 'webhook' else source} push" in hits[0]


def test_an_eventsource_that_subscribes_to_no_push_is_not_tested_on_a_push(tmp_path: Path) -> None:
    assert not _provider_folder(tmp_path / "a", "github", "{{ .Input.body.pull_request.number }}", "pull_request")
    assert _provider_folder(tmp_path / "b", "github", "{{ .Input.body.pull_request.number }}", "push")
    assert not _provider_folder(
        tmp_path / "c", "gitlab", "{{ .Input.body.object_attributes.iid }}", "MergeRequestsEvents"
    )
    assert not _provider_folder(tmp_path / "d", "bitbucket", "{{ .Input.body.pullrequest.id }}", "pullrequest:created")


def test_an_eventsource_outside_the_folder_is_a_note_not_a_guess(tmp_path: Path) -> None:
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s, namespace: ci}\nspec:\n"
        "  dependencies:\n  - {name: d, eventSourceName: elsewhere, eventName: ev}\n"
        "  triggers:\n  - template:\n      name: t\n      k8s:\n        operation: create\n"
        "        source: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {generateName: x-}}}\n"
        "        parameters:\n        - src: {dependencyName: d, dataTemplate: '{{ .Input.body.nope.x }}'}\n"
        "          dest: data.sha\n"
    )
    got = _folder(tmp_path, text)
    assert not [g for g in got if g.startswith("SENSOR-PAYLOAD-PATH")]
    assert any(g.startswith("NOT-IN-FOLDER") and "EventSource/ci/elsewhere" in g for g in got), got


def _annotated(pins: str, annotations: dict[str, str]) -> list[Finding]:
    """INGRESS-ANNOTATION-UNSUPPORTED on the corrected profile at ``pins`` with ``annotations`` on its Ingresses."""
    from argo_tutorial_suite.paths import UPSTREAM
    from argo_tutorial_suite.static.engine import profile_bundle
    from argo_tutorial_suite.tutorial.profiles import Profile
    from argo_tutorial_suite.upstream import Upstream

    bundle = profile_bundle(Profile.load("corrected", pins), Upstream(UPSTREAM if UPSTREAM.is_dir() else None))
    for o in bundle.objects:
        if o.get("kind") == "Ingress":
            o.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)
    return [f for f in run(bundle) if f.rule == "INGRESS-ANNOTATION-UNSUPPORTED"]


def test_an_nginx_annotation_traefik_ignores_is_a_finding_where_traefik_serves() -> None:
    """corrected@current installs Traefik's Ingress NGINX provider (D37): an ingress-nginx annotation it does not
    read (annotations.go at v3.6.12) is a finding; one it reads is not; where ingress-nginx serves, neither."""
    assert not _annotated("current", {"nginx.ingress.kubernetes.io/ssl-redirect": "true"})
    got = _annotated("current", {"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers x"})
    assert got and all("configuration-snippet is not one Traefik v3.6.12" in f.message for f in got)
    assert not _annotated("tutorial-2023", {"nginx.ingress.kubernetes.io/x": "1"})


def test_a_retired_component_is_judged_as_of_the_pins_day() -> None:
    from argo_tutorial_suite.paths import UPSTREAM
    from argo_tutorial_suite.static.engine import profile_bundle
    from argo_tutorial_suite.tutorial.profiles import Profile
    from argo_tutorial_suite.upstream import Upstream

    up = Upstream(UPSTREAM if UPSTREAM.is_dir() else None)
    today = [
        f
        for f in run(profile_bundle(Profile.load("as-written", "current"), up))
        if f.rule == "INSTALL-RETIRED-COMPONENT"
    ]
    then = [f for f in run(profile_bundle(Profile.load("as-written", "tutorial-2023"), up))
            if f.rule == "INSTALL-RETIRED-COMPONENT"]  # fmt: skip
    assert [f.obj for f in today] == ["install:Install start ingress-nginx#0"] and "2025-11-11" in today[0].message
    assert then == []  # on 2023-02-27 ingress-nginx was maintained
