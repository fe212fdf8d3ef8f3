"""The offline build's pure rules: module rewrites, version stamps, recipes read from upstream's own files,
the pins reader without PyYAML, the node's CNI manifest, and the local-build manifest the backend reads.

Upstream inputs are excerpts of the real files at the pinned tags (kind v0.17.0 and v0.30.0
``images/base/Dockerfile``, ``pkg/build/nodeimage/*.go``; Kubernetes ``go.mod``); where the Go module cache of
this machine holds the real files, the same rules also run on them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from argo_offline_images import gomod, pins, recipes
from argo_offline_images.build import raised_toolchain
from argo_offline_images.nodefiles import clean_install_packages, cni_manifest, go_directive
from argo_tutorial_suite.backends.kind import localbuild as local

ROOT = Path(__file__).resolve().parent.parent

K8S_GOMOD = """module k8s.io/kubernetes

go 1.19

require (
\tk8s.io/api v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/foo/bar => github.com/foo/bar v1.2.3
)
"""

KIND_017_DOCKERFILE = """ARG BASE_IMAGE=ubuntu:22.04
FROM $BASE_IMAGE as build
ARG CONTAINERD_VERSION="1.6.9"
ARG CRICTL_VERSION="v1.25.0"
ARG CNI_PLUGINS_VERSION="v1.1.1"
RUN echo "Installing Packages ..." \\
    && DEBIAN_FRONTEND=noninteractive clean-install \\
      systemd \\
      conntrack iptables iproute2 ethtool socat util-linux mount ebtables kmod \\
      libseccomp2 pigz \\
      bash ca-certificates curl rsync \\
      nfs-common fuse-overlayfs open-iscsi \\
      jq \\
    && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete
"""
KIND_030_ARGS = """ARG BASE_IMAGE=debian:bookworm-slim
FROM go-build AS build-containerd
ARG CONTAINERD_VERSION="v2.1.4"
ARG RUNC_VERSION="v1.3.0"
ARG CRICTL_VERSION="v1.33.0"
ARG CNI_PLUGINS_VERSION="v1.7.1"
"""


def facts(dockerfile: str = KIND_017_DOCKERFILE, **kw: str) -> recipes.KindFacts:
    base = dict(
        kind_version="v0.17.0",
        kind_go="1.19.2",
        base_dockerfile=dockerfile,
        defaults_go='const DefaultBaseImage = "docker.io/kindest/base:v20221025-014d1502"',
        const_cni_go='const kindnetdImage = "docker.io/kindest/kindnetd:v20221004-44d545d1"',
        const_storage_go='const storageProvisionerImage = "docker.io/kindest/local-path-provisioner:v0.0.22-kind.0"\n'
        'const storageHelperImage = "docker.io/kindest/local-path-helper:v20220607-9a4d8d2a"',
        containerd_toml='[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.7"\n',
        kubernetes_version="v1.25.3",
        kubernetes_go="1.19.2",
        kubernetes_commit="434bfd82814af038ad94d62ebe59b133fcb50506",
        kubernetes_date="2022-10-12T10:47:25Z",
        containerd_runc="v1.1.4\n",
    )
    base.update(kw)
    return recipes.KindFacts(**base)


# -- go.mod and version stamps ---------------------------------------------------------------------------------------
def test_staging_replaces_point_at_published_versions() -> None:
    text, modules = gomod.rewrite_staging_replaces(K8S_GOMOD, "v1.25.3")
    assert modules == ["k8s.io/api", "k8s.io/client-go"]
    assert "\tk8s.io/api => k8s.io/api v0.25.3" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.25.3" in text
    assert "github.com/foo/bar => github.com/foo/bar v1.2.3" in text  # other replaces untouched
    assert "./staging" not in text


def test_staging_rewrite_refuses_other_gomods_and_versions() -> None:
    with pytest.raises(gomod.RecipeError, match=r"no \./staging replace"):
        gomod.rewrite_staging_replaces("module x\n\ngo 1.19\n", "v1.25.3")
    with pytest.raises(gomod.RecipeError, match=r"vMAJOR\.MINOR\.PATCH"):
        gomod.staging_version("1.25")


def _real_gomod(module: str, version: str) -> str:
    """A release's go.mod, through the Go module proxy (``go list -m`` fetches the .mod file alone, not the zip)."""
    cp = subprocess.run(["go", "list", "-m", "-json", f"{module}@{version}"], capture_output=True, text=True,
                        timeout=120, check=False, env={**os.environ, "GOFLAGS": "-mod=mod"}, cwd="/")  # fmt: skip
    assert cp.returncode == 0, f"go list -m {module}@{version}: {cp.stderr[-500:]}"
    return Path(json.loads(cp.stdout)["GoMod"]).read_text()


def test_staging_rewrite_on_the_real_gomod() -> None:
    text, modules = gomod.rewrite_staging_replaces(_real_gomod("k8s.io/kubernetes", "v1.34.0"), "v1.34.0")
    assert len(modules) >= 25 and "./staging" not in text


def test_ldflags_stamp_both_version_packages() -> None:
    ld = gomod.k8s_ldflags("v1.25.3", "434bfd8", "2022-10-12T10:47:25Z")
    for pkg in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        assert f"-X {pkg}.gitVersion=v1.25.3" in ld
        assert f"-X {pkg}.gitMinor=25" in ld and f"-X {pkg}.gitCommit=434bfd8" in ld
    assert ld.startswith("-s -w")
    assert gomod.cgo_for("kubelet") and not gomod.cgo_for("kube-apiserver")


def test_toolchains_before_and_after_go_1_21() -> None:
    old, new = recipes.toolchain_for("1.19.2"), recipes.toolchain_for("1.24.6")
    assert old.debian and old.version == "1.19" and old.env("/usr/bin")["PATH"].startswith("/usr/lib/go-1.19/bin:")
    assert not new.debian and new.env("/usr/bin") == {"GOTOOLCHAIN": "go1.24.6"}
    assert recipes.toolchain_for("1.23").version == "1.23.0"


def test_a_substituted_module_raises_the_toolchain_its_gomod_needs() -> None:
    b = recipes.GoBuild("sigs.k8s.io/cri-tools", "v1.34.0", ("./cmd/crictl",), recipes.toolchain_for("1.19.2"))
    raised = raised_toolchain(b, "module sigs.k8s.io/cri-tools\n\ngo 1.24.1\n")
    assert raised.toolchain.version == "1.24.1" and raised.toolchain.upstream == "1.19.2"
    assert raised_toolchain(b, "go 1.18\n") is b


def test_a_module_is_fetched_with_the_machines_go_not_the_recipes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """argo-rollouts v1.9.1's Dockerfile says golang:1.24 but its go.mod needs 1.24.9: ``go mod download`` with
    ``GOTOOLCHAIN=go1.24.0`` refuses it (seen here), so the source is fetched first and the toolchain raised."""
    from argo_offline_images import build

    seen: dict[str, str] = {}

    def module_dir(module: str, version: str, env: dict[str, str], cwd: Path) -> Path:
        seen.update(env)
        raise build.BuildError("stop here")

    monkeypatch.setattr(build, "module_dir", module_dir)
    b = recipes.GoBuild("github.com/argoproj/argo-rollouts", "v1.9.1", ("./cmd/rollouts-controller",),
                        recipes.toolchain_for("1.24"), nosumdb=True)  # fmt: skip
    with pytest.raises(build.BuildError, match="stop here"):
        build.go_build(b, tmp_path)
    assert "PATH" not in seen
    assert seen == {"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "auto", "GONOSUMDB": "github.com/argoproj/argo-rollouts"}


def test_go_directive_prefers_toolchain_line() -> None:
    assert go_directive("module x\n\ngo 1.23.7\n") == "1.23.7"
    assert go_directive("module x\n\ngo 1.22\n\ntoolchain go1.23.4\n") == "1.23.4"
    with pytest.raises(gomod.RecipeError):
        go_directive("module x\n")


# -- recipes from upstream's files --------------------------------------------------------------------------------
def test_parsers_read_upstream_text() -> None:
    args = recipes.dockerfile_args(KIND_030_ARGS)
    assert args == {
        "BASE_IMAGE": "debian:bookworm-slim",
        "CONTAINERD_VERSION": "v2.1.4",
        "RUNC_VERSION": "v1.3.0",
        "CRICTL_VERSION": "v1.33.0",
        "CNI_PLUGINS_VERSION": "v1.7.1",
    }
    assert recipes.sandbox_image('  sandbox_image = "registry.k8s.io/pause:3.10"') == "registry.k8s.io/pause:3.10"
    assert recipes.kubernetes_version_of("kindest/node:v1.25.3@sha256:" + "f" * 64) == "v1.25.3"
    with pytest.raises(gomod.RecipeError):
        recipes.kubernetes_version_of("kindest/node:latest")
    assert recipes.upstream_go(None, 'name: "golang: upstream version"\n    version: 1.19.2\n') == "1.19.2"
    assert recipes.upstream_go("1.24.6\n", None) == "1.24.6"
    assert recipes.split_ref("docker.io/kindest/kindnetd:v1") == ("docker.io/kindest/kindnetd", "v1")
    with pytest.raises(gomod.RecipeError):
        recipes.split_ref("localhost:5000/x")


def test_clean_install_packages_of_kinds_base() -> None:
    pkgs = clean_install_packages(KIND_017_DOCKERFILE)
    assert pkgs[0] == "systemd" and "iptables" in pkgs and "jq" in pkgs and "open-iscsi" in pkgs
    assert "&&" not in pkgs and "\\" not in pkgs and "find" not in pkgs


def test_node_recipe_for_the_2023_pins() -> None:
    r = recipes.node_recipe(facts(), served={"sigs.k8s.io/cri-tools@v1.25.0": False})
    assert r.node_image == "kindest/node:v1.25.3" and r.base_image == "docker.io/kindest/base:v20221025-014d1502"
    assert r.sandbox == "registry.k8s.io/pause:3.7" and r.cni_image.startswith("docker.io/kindest/kindnetd:")
    assert (
        r.builds["containerd"].module == "github.com/containerd/containerd"
        and r.builds["containerd"].version == "v1.6.9"
    )
    assert r.builds["runc"].version == "v1.1.4" and r.builds["runc"].cgo  # containerd's own runc-version
    assert r.builds["crictl"].version == "v1.34.0"  # not served at v1.25.0: the fallback, recorded
    whats = {d.what for d in r.differences}
    assert {"crictl", "runc", "base rootfs", "image digest"} <= whats
    assert r.builds["kubelet"].cgo and not r.builds["kubernetes"].cgo
    assert r.toolchain.debian and r.kind_toolchain.debian


def test_node_recipe_for_current_pins() -> None:
    f = facts(
        KIND_030_ARGS,
        kind_version="v0.30.0",
        kind_go="1.24.6",
        kubernetes_version="v1.34.0",
        kubernetes_go="1.24.6",
        kubernetes_commit="",
        containerd_runc="",
    )
    r = recipes.node_recipe(f, served={})
    assert r.builds["containerd"].module == "github.com/containerd/containerd/v2"
    assert r.builds["runc"].version == "v1.3.0" and r.builds["crictl"].version == "v1.33.0"
    assert r.toolchain.version == "1.24.6" and not any(d.what == "Go" for d in r.differences)
    assert any(d.what == "Kubernetes gitCommit" for d in r.differences)


def test_node_recipe_needs_a_containerd_version() -> None:
    with pytest.raises(gomod.RecipeError, match="CONTAINERD_VERSION"):
        recipes.node_recipe(facts("ARG BASE_IMAGE=x\n"), served={})


# -- the CNI manifest kind templates ------------------------------------------------------------------------------------
def test_cni_manifest_is_a_template_kind_fills() -> None:
    text = cni_manifest("localhost/argo-suite-cni:abc")
    assert "would you kindly template this file" in text and "would you kindly patch this file" in text
    # kind's installcni executes it as a Go template with .PodSubnet
    rendered = text.replace("{{ .PodSubnet }}", "10.244.0.0/16")
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    c = ds["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "localhost/argo-suite-cni:abc" and c["imagePullPolicy"] == "IfNotPresent"
    assert {"name": "POD_SUBNET", "value": "10.244.0.0/16"} in c["env"]
    assert ds["spec"]["template"]["spec"]["hostNetwork"] is True
    assert {d["kind"] for d in docs} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"}


def test_cni_daemon_is_gofmt_clean_and_vets() -> None:
    src = ROOT / "argo_offline_images/cni"
    if subprocess.run(["go", "version"], capture_output=True, check=False).returncode != 0:
        pytest.skip("no go command")
    fmt = subprocess.run(["gofmt", "-l", str(src)], capture_output=True, text=True, check=False)
    assert fmt.stdout.strip() == ""
    vet = subprocess.run(
        ["go", "vet", "."], cwd=src, capture_output=True, text=True, check=False, env={**os.environ, "GOFLAGS": ""}
    )
    assert vet.returncode == 0, vet.stderr


# -- pins without PyYAML ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", pins.PINS)
def test_pins_reader_equals_pyyaml(name: str) -> None:
    assert pins.read_pins(name) == yaml.safe_load((pins.VERSIONS / f"{name}.yaml").read_text())


def test_pins_reader_names_the_bad_line() -> None:
    with pytest.raises(pins.PinsError, match="pins:2"):
        pins.parse("kind:\n  - v0.17.0\n")
    with pytest.raises(pins.PinsError, match="unknown pins"):
        pins.read_pins("2019")


def test_pinned_tools_runs_without_pyyaml(tmp_path: Path) -> None:
    """The nightly runs scripts/pinned-tools.py before `pip install -e .`: the standard library must do."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"}
    cp = subprocess.run(
        [sys.executable, "-S", "-I", str(ROOT / "scripts/pinned-tools.py"), "tutorial-2023"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert cp.returncode == 0, cp.stderr
    assert "dl/v0.17.0/kind-" in cp.stdout and "v1.25.3/bin/" in cp.stdout


# -- the manifest the backend reads ----------------------------------------------------------------------------------
def test_local_build_manifest(tmp_path: Path) -> None:
    data = {
        "pins": "current",
        "node_image": {"ref": "kindest/node:v1.34.0", "id": "sha256:abc", "replaces": "kindest/node:v1.34.0@sha256:7"},
        "tools": {"kind": str(tmp_path / "kind"), "kubectl": str(tmp_path / "missing")},
        "images": [
            {"ref": "kindest/node:v1.34.0", "id": "sha256:abc", "role": "kind node", "differences": [
                {"what": "CNI", "upstream": "kindnetd", "here": "ours", "why": "x", "not_verified": "network policies"}
            ]},
        ],
    }  # fmt: skip
    (tmp_path / "kind").write_text("#!/bin/sh\n")
    b = local.parse("current", tmp_path / "m.json", json.dumps(data))
    assert b.node_image == "kindest/node:v1.34.0" and b.tool("kind") and b.tool("kubectl") is None
    assert b.not_verified() == ["kindest/node:v1.34.0: network policies"]
    assert "node image built locally" in b.header and "kindest/node:v1.34.0" in b.header
    # the one reader refuses what it cannot read, saying how to rebuild
    no_id = {**data, "images": [{"ref": "x"}]}
    with pytest.raises(local.LocalBuildError, match="without a ref and an id"):
        _ = local.parse("current", tmp_path / "m.json", json.dumps(no_id)).node_images
    newer = {**data, "manifest_version": 2}
    with pytest.raises(local.LocalBuildError, match="manifest version 2, this suite reads 1"):
        local.parse("current", tmp_path / "m.json", json.dumps(newer))
    with pytest.raises(local.LocalBuildError, match="offline-images --pins current"):
        local.parse("current", tmp_path / "m.json", "{not json")
    with pytest.raises(local.LocalBuildError, match="not an offline-images manifest for tutorial-2023"):
        local.parse("tutorial-2023", tmp_path / "m.json", json.dumps(data))
    assert local.find("current", tmp_path / "nowhere") is None


def test_offline_images_warns_before_a_build_the_disk_cannot_hold() -> None:
    from argo_offline_images.cli import disk_warning

    assert disk_warning(40 * 10**9) is None
    warning = disk_warning(9 * 10**9)
    assert warning is not None and "only 9.0 GB free" in warning and "go clean -cache" in warning


def test_the_builder_refuses_a_bad_image_list(tmp_path: Path) -> None:
    from argo_offline_images.cli import read_image_list

    good = tmp_path / "good.json"
    good.write_text('{"registry": "registry:3.0.0", "stack": ["b:1", "a:1", "a:1"]}')
    assert read_image_list(good).stack == ["a:1", "b:1"]
    for text, says in (("{", "--images"), ('{"stack": []}', "'registry'"), ('{"registry": "r", "stack": [1]}', "list")):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ValueError, match=says):
            read_image_list(bad)


def test_a_kept_rootfs_image_needs_no_debootstrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The README says to prune the offline cache's ``rootfs/`` tars to free disk: an image Docker still has must
    then not be debootstrapped again (seen: every Debian-based image re-ran debootstrap after the prune)."""
    from argo_offline_images import build, stackimages

    def no_debootstrap(*a: object) -> Path:
        raise AssertionError("debootstrap ran although Docker has the image")

    monkeypatch.setattr(build, "rootfs_tar", no_debootstrap)
    monkeypatch.setattr(build, "image_id", lambda ref: "sha256:1")
    ref = stackimages.base_ref(("curl", "ca-certificates"), tmp_path)
    assert ref == f"localhost/argo-suite-rootfs:stack-{build.rootfs_key('bookworm', ['ca-certificates', 'curl'])}"
