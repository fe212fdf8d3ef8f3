"""Credentials found by their published format wherever they sit, never printed (tokens below are made up here
to each issuer's documented shape; none is a real credential)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from argo_tutorial_suite.static.credentials import formats_in, may_hold_token
from argo_tutorial_suite.static.engine import directory_bundle, run
from argo_tutorial_suite.static.rules.tokens import registry_credentials
from argo_tutorial_suite.tutorial.profiles import Pins

GH = "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"  # 36 characters after the prefix
FINE = "github_pat_" + "11ABCDEFG0" * 3 + "_xyz"
GL = "glpat-" + "Ab3De6Gh9Jk2Mn5Pq8St"
SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (GH, "a GitHub token"),
        (f"token={FINE}", "a GitHub fine-grained token"),
        (GL, "a GitLab token"),
        (SLACK, "a Slack token"),
        ("https://hooks.slack.com/services/T0000/B1111/abcdefXYZ", "a Slack webhook URL"),
        (f"aws_access_key_id = {AWS}", "an AWS access key ID"),
        (PEM, "a private key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
    ],
)
def test_each_published_format_is_found(text: str, what: str) -> None:
    assert formats_in(text) == [what]


@pytest.mark.parametrize(
    "text",
    ["ghp_short", "ghp_" + "x" * 10, "AKIAlowercase12345678", "-----BEGIN PUBLIC KEY-----", "xoxb-", "my-token", ""],
)
def test_look_alikes_are_not_tokens(text: str) -> None:
    assert formats_in(text) == []


def test_registry_credentials_in_a_docker_config() -> None:
    assert registry_credentials(json.dumps({"auths": {"r.example": {"auth": base64.b64encode(b"u:p").decode()}}}))
    assert registry_credentials(json.dumps({"r.example": {"password": "x"}}))  # the old .dockercfg shape
    assert not registry_credentials(json.dumps({"auths": {"r.example": {}}}))
    assert not registry_credentials(json.dumps({"credsStore": "desktop"}))
    assert not registry_credentials("not json")


def _check(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "m.yaml").write_text(text)
    return [
        f"{f.rule} {f.obj} {f.message} {f.hint}" for f in run(directory_bundle(tmp_path, Pins.load("current"), None))
    ]


def test_a_token_under_any_name_in_any_object_is_found_and_never_printed(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n"
        f"data:\n  GH_LOGIN: {GH}\n  note: plain words\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: default}\nspec:\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
        f"    spec: {{containers: [{{name: c, image: 'x:1', env: [{{name: SETTING, value: '{AWS}'}}]}}]}}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\n"
        f"data:\n  k: {base64.b64encode(GL.encode()).decode()}\n"
    )
    got = [g for g in _check(tmp_path, text) if g.startswith("SECRET-VALUE")]
    assert any("ConfigMap/default/c data.GH_LOGIN holds a GitHub token" in g for g in got), got
    assert any("Deployment/default/d spec.template.spec.containers[0].env[0].value holds an AWS access key ID" in g
               for g in got), got  # fmt: skip
    assert any("Secret/default/s data.k holds a GitLab token" in g for g in got), got
    for secret in (GH, AWS, GL, base64.b64encode(GL.encode()).decode()):
        assert secret not in "\n".join(_check(tmp_path, text))


def test_a_dockerconfigjson_with_an_auth_is_found(tmp_path: Path) -> None:
    config = json.dumps({"auths": {"registry.example": {"auth": base64.b64encode(b"me:pw").decode()}}})
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: r, namespace: default}\ntype: kubernetes.io/dockerconfigjson\n"
        f"data:\n  .dockerconfigjson: {base64.b64encode(config.encode()).decode()}\n"
    )
    assert any("registry credentials" in g for g in _check(tmp_path, text) if g.startswith("SECRET-VALUE"))
    empty = json.dumps({"auths": {"registry.example": {}}})
    quiet = text.replace(base64.b64encode(config.encode()).decode(), base64.b64encode(empty.encode()).decode())
    assert not [g for g in _check(tmp_path, quiet) if g.startswith("SECRET-VALUE")]


def test_a_clean_folder_is_quiet(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata: {TOKEN_NAME: github}\n"
    assert not [g for g in _check(tmp_path, text) if g.startswith("SECRET-VALUE")]


def test_the_one_pass_file_check_agrees_with_the_formats() -> None:
    """A file is skipped only when no format can be in it: every format found field by field is found in the bytes."""
    for text in (GH, FINE, GL, SLACK, AWS, PEM, "https://hooks.slack.com/services/T0000/B1111/abcdefXYZ"):
        assert may_hold_token(f"data:\n  k: {text!r}\n".encode())
    assert not may_hold_token(b"data:\n  k: plain words ghp_short\n")


def test_a_docker_config_in_a_configmap_is_looked_into(tmp_path: Path) -> None:
    config = json.dumps({"auths": {"registry.example": {"password": "pw"}}})
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata:\n  config.json: '"
        + config
        + "'\n"
    )
    assert any("registry credentials" in g for g in _check(tmp_path, text) if g.startswith("SECRET-VALUE"))
