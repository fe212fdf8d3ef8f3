"""The CI's and the EventBus's image recipes (argo_offline_images/cirecipes.py): chosen by repository, each
stand-in and difference recorded; the EventBus list comes from Argo Events' own controller config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from argo_offline_images import cirecipes as ci
from argo_offline_images import stackfacts as sf
from argo_offline_images import stackrecipes as sr
from argo_offline_images.gomod import RecipeError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "upstream"

# The shape of buildkit v0.11.0's Dockerfile (its ARGs and the Go builder stage).
BUILDKIT_DOCKERFILE = """ARG RUNC_VERSION=v1.1.4
ARG ROOTLESSKIT_VERSION=v1.0.1
ARG ALPINE_VERSION=3.17
FROM --platform=$BUILDPLATFORM golang:1.19-alpine${ALPINE_VERSION} AS golatest
"""


def buildkit_facts(dockerfile: str = BUILDKIT_DOCKERFILE) -> sf.ModuleFacts:
    return sf.ModuleFacts("github.com/moby/buildkit", "v0.11.0", dockerfile, commit="abc123", gomod="go 1.18\n")


def test_buildkit_rootless_tag_names_the_module_version() -> None:
    assert sr.needs_module("moby/buildkit:v0.11.0-rootless") == ("github.com/moby/buildkit", "v0.11.0")
    assert sr.needs_module("nats:2.9.1") == ("github.com/nats-io/nats-server/v2", "v2.9.1")
    assert sr.needs_module("nats-streaming:0.22.1") == ("github.com/nats-io/nats-streaming-server", "v0.22.1")
    assert sr.needs_module("alpine:3.17") is None  # a Debian stand-in reads no module


def test_buildkit_recipe_has_the_rootless_shape() -> None:
    img = sr.recipe("moby/buildkit:v0.11.0-rootless", buildkit_facts())
    assert isinstance(img, sf.StackImage)
    dests = [d for _, d in img.builds]
    assert dests == ["/usr/bin/buildkitd", "/usr/bin/buildctl", "/usr/bin/rootlesskit"]
    rootlesskit = img.builds[2][0]
    assert (rootlesskit.module, rootlesskit.version) == ("github.com/rootless-containers/rootlesskit", "v1.0.1")
    daemon = img.builds[0][0]
    assert "static_build" in daemon.tags and "-X github.com/moby/buildkit/version.Version=v0.11.0" in daemon.ldflags
    assert img.entrypoint == ("rootlesskit", "buildkitd")
    assert "USER 1000:1000" in img.lines and img.debian and "uidmap" in img.debian
    assert (
        "examples/buildctl-daemonless/buildctl-daemonless.sh",
        "/usr/bin/buildctl-daemonless.sh",
    ) in img.module_files
    toml = dict(img.texts)["/home/user/.config/buildkit/buildkitd.toml"]
    assert f'mirrors = ["{ci.BUILDKIT_MIRROR}"]' in toml and "http = true" in toml
    whats = {d.what for d in img.differences}
    assert {"base", "buildkit-runc", "buildkitd.toml"} <= whats


def test_buildkit_without_rootlesskit_pin_is_refused() -> None:
    with pytest.raises(RecipeError, match="ROOTLESSKIT_VERSION"):
        sr.recipe("moby/buildkit:v0.11.0-rootless", buildkit_facts("FROM golang:1.19-alpine3.17 AS golatest\n"))


def test_only_the_rootless_buildkit_has_a_recipe() -> None:
    got = sr.recipe("moby/buildkit:v0.11.0", buildkit_facts())
    assert isinstance(got, sf.Unbuildable) and "rootless" in got.why


def test_alpine_family_becomes_debian_with_apk_unverified() -> None:
    for ref in ("alpine:3.17", "alpine/git:v2.47.2", "curlimages/curl:8.11.1", "golang:1.20.1-alpine3.17"):
        img = sr.recipe(ref, None)
        assert isinstance(img, sf.StackImage), ref
        assert img.debian is not None
        base = next(d for d in img.differences if d.what == "base")
        assert "apk" in base.verifies, ref
    git = sr.recipe("alpine/git:v2.47.2", None)
    assert isinstance(git, sf.StackImage) and git.entrypoint == ("git",) and "git" in (git.debian or ())
    go = sr.recipe("golang:1.20.1-alpine3.17", None)
    assert isinstance(go, sf.StackImage) and "golang-1.19-go" in (go.debian or ())
    assert any("CGO_ENABLED=0" in line for line in go.lines)


def test_a_go_the_proxy_does_not_serve_is_not_built() -> None:
    got = sr.recipe("golang:1.26-alpine", None)
    assert isinstance(got, sf.Unbuildable) and "golang.org/toolchain@1.26" in got.why


def test_apk_stand_in_accepts_only_what_the_image_has(tmp_path: Path) -> None:
    img = sr.recipe("alpine:3.17", None)
    assert isinstance(img, sf.StackImage)
    script = tmp_path / "apk"
    script.write_text(dict(img.texts)["/sbin/apk"])
    script.chmod(0o755)
    for argv in (["--no-cache", "add", "sh"], ["add", "--no-cache", "sh"]):  # the tutorial's: options first
        ok = subprocess.run([str(script), *argv], capture_output=True, text=True, check=False)
        assert ok.returncode == 0 and "installs nothing" in ok.stderr, argv
    other = subprocess.run([str(script), "--no-cache", "del", "sh"], capture_output=True, text=True, check=False)
    assert other.returncode == 1  # only `add` of what is there succeeds
    missing = subprocess.run([str(script), "add", "no-such-cmd-here"], capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "no-such-cmd-here is not in this image" in missing.stderr


def test_nats_sidecar_stand_ins_say_what_they_leave_unverified() -> None:
    for ref, program in (
        ("natsio/prometheus-nats-exporter:0.9.1", "prometheus-nats-exporter"),
        ("natsio/nats-server-config-reloader:0.7.0", "nats-server-config-reloader"),
    ):
        img = sr.recipe(ref, None)
        assert isinstance(img, sf.StackImage)
        assert img.entrypoint == (f"/{program}",)
        assert dict(img.texts)[f"/usr/local/bin/{program}"].startswith("#!/bin/sh")
        assert img.differences[0].verifies


def test_nats_server_runs_as_argo_events_starts_it() -> None:
    f = sf.ModuleFacts("github.com/nats-io/nats-server/v2", "v2.9.1", gomod="go 1.19\n")
    img = sr.recipe("nats:2.9.1", f)
    assert isinstance(img, sf.StackImage) and img.entrypoint == ("/nats-server",)
    assert [d for _, d in img.builds] == ["/nats-server"]


@pytest.mark.skipif(not (SHARED / "argo-events").is_dir(), reason="../shared/upstream is absent")
@pytest.mark.parametrize("tag", ["v1.7.5", "v1.9.11"])
def test_every_eventbus_image_of_the_controller_config_has_a_recipe(tag: str) -> None:
    """Argo Events' controller config (its install.yaml) names the EventBus images: each one has a recipe."""
    docs = list(yaml.safe_load_all((SHARED / "argo-events" / tag / "manifests" / "install.yaml").read_text()))
    cfg = next(d for d in docs if d and d.get("kind") == "ConfigMap" and "controller-config" in d["metadata"]["name"])
    refs: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            refs.update(v for k, v in node.items() if str(k).endswith("Image") and isinstance(v, str))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(yaml.safe_load(next(iter(cfg["data"].values()))))
    assert len(refs) >= 4
    no_recipe = [r for r in refs if sr.kind_of(r) is None]
    assert no_recipe == []


def test_a_floating_go_tag_takes_the_newest_served_patch() -> None:
    versions = [
        "v0.0.1-go1.26.9.linux-amd64",
        "v0.0.1-go1.26.11.linux-amd64",
        "v0.0.1-go1.26.10.linux-amd64",
        "v0.0.1-go1.26.11.linux-arm64",
        "v0.0.1-go1.26rc1.linux-amd64",
        "v0.0.1-go1.27.0.linux-amd64",
    ]
    assert ci.served_patch("1.26", versions) == "1.26.11"  # numeric, not text, order; rc and arm64 left out
    assert ci.served_patch("1.25", versions) is None
    assert ci.toolchain_version("1.26.11") == "v0.0.1-go1.26.11.linux-amd64"


def test_go_from_121_on_comes_from_the_toolchain_module() -> None:
    assert sr.needs_module("golang:1.26-alpine") == ("golang.org/toolchain", "1.26")
    assert sr.needs_module("golang:1.20.1-alpine3.17") is None  # Debian's package
    f = sf.ModuleFacts("golang.org/toolchain", "v0.0.1-go1.26.11.linux-amd64", asked="1.26")
    img = sr.recipe("golang:1.26-alpine", f)
    assert isinstance(img, sf.StackImage)
    assert img.tree == ("golang.org/toolchain", "v0.0.1-go1.26.11.linux-amd64", "/usr/local/go")
    assert not any("CGO_ENABLED" in line for line in img.lines)  # Go >= 1.20 turns cgo off without gcc itself
    assert any(d.what == "Go" and "1.26.11" in d.here for d in img.differences)
