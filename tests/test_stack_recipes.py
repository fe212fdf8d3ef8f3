"""The stack's image recipes (argo_offline_images/stackrecipes.py): chosen by repository, versions from the tag,
build facts read from the module's own files (here in the shape of the pinned tags' files)."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from argo_offline_images import debianrecipes as dr
from argo_offline_images import stackfacts as sf
from argo_offline_images import stackrecipes as sr
from argo_offline_images.gomod import RecipeError
from argo_offline_images.releasemanifests import chart_yaml, concat, crds_only, crds_template, documents

# The shape of argo-cd v2.6.3's files (Dockerfile builder stage, Makefile LDFLAGS, hack/tool-versions.sh).
ARGOCD_DOCKERFILE = """ARG BASE_IMAGE=docker.io/library/ubuntu:22.04
FROM docker.io/library/golang:1.18 AS builder
RUN apt-get update && apt-get install --no-install-recommends -y \\
    openssh-server nginx && \\
    apt-get clean
FROM $BASE_IMAGE AS argocd-base
RUN groupadd -g $ARGOCD_USER_ID argocd && \\
    apt-get update && \\
    apt-get install -y \\
    git git-lfs tini gpg tzdata && \\
    apt-get clean
FROM docker.io/library/golang:1.18 AS argocd-build
"""
# The shape of argo-cd v3.5.1's: helm 4 and kustomize 5, apt without Recommends, git-lfs from the builder, the
# gitops-engine as a nested module.
ARGOCD_V3_DOCKERFILE = """ARG BASE_IMAGE=docker.io/library/ubuntu:26.04@sha256:f3d2
FROM docker.io/library/golang:1.26.4@sha256:7924 AS builder
RUN ./install.sh helm && ./install.sh git-lfs
FROM $BASE_IMAGE AS argocd-base
RUN apt-get update && \\
    apt-get install --no-install-recommends -y \\
    git tini ca-certificates gpg gpg-agent tzdata connect-proxy openssh-client && \\
    apt-get clean
COPY --from=builder /usr/local/bin/git-lfs /usr/local/bin/git-lfs
RUN git lfs install --system
ENV GRPC_ENABLE_TXT_SERVICE_CONFIG=false
FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.26.4 AS argocd-build
"""
ARGOCD_MAKEFILE = """PACKAGE=github.com/argoproj/argo-cd/v2/common
override LDFLAGS += \\
  -X ${PACKAGE}.version=${VERSION} \\
  -X ${PACKAGE}.buildDate=${BUILD_DATE} \\
  -X ${PACKAGE}.gitCommit=${GIT_COMMIT} \\
  -X ${PACKAGE}.gitTreeState=${GIT_TREE_STATE}\\
  -X ${PACKAGE}.kubectlVersion=${KUBECTL_VERSION}
LDFLAGS += -X ${PACKAGE}.gitTag=${GIT_TAG}
"""
ROLLOUTS_MAKEFILE = """PACKAGE=github.com/argoproj/argo-rollouts
override LDFLAGS += \\
  -X ${PACKAGE}/utils/version.version=${VERSION} \\
  -X ${PACKAGE}/utils/version.gitCommit=${GIT_COMMIT}
"""


def argocd_facts(version: str = "v2.6.3") -> sf.ModuleFacts:
    return sf.ModuleFacts(
        "github.com/argoproj/argo-cd/v2", version, ARGOCD_DOCKERFILE, ARGOCD_MAKEFILE, "2.6.3\n",
        "helm3_version=3.10.3\nkustomize4_version=4.5.7\n", "e05298b9", "2023-02-27T14:27:28Z", "v0.24.2",
    )  # fmt: skip


def test_dockerfile_go_reads_the_builder_stage() -> None:
    assert sf.dockerfile_go(ARGOCD_DOCKERFILE) == "1.18"
    assert sf.dockerfile_go("FROM --platform=$BUILDPLATFORM golang:1.19 as builder\n") == "1.19"
    with pytest.raises(RecipeError):
        sf.dockerfile_go("FROM scratch\n")


def test_makefile_ldflags_fill_known_values_only() -> None:
    flags = sf.makefile_ldflags(ARGOCD_MAKEFILE, {"VERSION": "2.6.3", "GIT_TAG": "v2.6.3", "GIT_COMMIT": ""})
    assert "-X github.com/argoproj/argo-cd/v2/common.version=2.6.3" in flags
    assert "-X github.com/argoproj/argo-cd/v2/common.gitTag=v2.6.3" in flags
    assert "gitCommit" not in flags  # unknown: left out, not guessed
    rollouts = sf.makefile_ldflags(ROLLOUTS_MAKEFILE, {"VERSION": "1.4.1"})
    assert "-X github.com/argoproj/argo-rollouts/utils/version.version=1.4.1" in rollouts


def test_module_path_follows_the_major_version() -> None:
    assert sr.needs_module("quay.io/argoproj/argocd:v2.6.3") == ("github.com/argoproj/argo-cd/v2", "v2.6.3")
    assert sr.needs_module("quay.io/argoproj/argocd:v3.5.1") == ("github.com/argoproj/argo-cd/v3", "v3.5.1")
    assert sr.needs_module("quay.io/argoproj/argo-rollouts:v1.4.1") == ("github.com/argoproj/argo-rollouts", "v1.4.1")
    assert sr.needs_module("redis:7.0.7-alpine") is None


def test_argocd_recipe_matches_the_upstream_image_shape() -> None:
    img = sr.recipe("quay.io/argoproj/argocd:v2.6.3", argocd_facts())
    assert isinstance(img, sf.StackImage)
    dests = {dest for _, dest in img.builds}
    assert dests == {"/usr/local/bin/argocd", "/usr/local/bin/helm", "/usr/local/bin/kustomize"}
    versions = {b.module: b.version for b, _ in img.builds}
    assert versions["helm.sh/helm/v3"] == "v3.10.3" and versions["sigs.k8s.io/kustomize/kustomize/v4"] == "v4.5.7"
    assert all(b.toolchain.version == "1.19" for b, _ in img.builds)  # golang:1.18 -> Debian's 1.19, recorded
    assert any(d.what == "Go" and d.upstream == "golang:1.18" for d in img.differences)
    assert any(d.what == "web UI" and d.verifies for d in img.differences)
    assert img.debian is not None and {"git", "tini", "gpg"} <= set(img.debian)
    assert "gnupg" in img.debian  # apt's Recommends of gpg: gpg-agent, which the repo-server's keyring needs
    assert "USER 999" in img.lines
    assert any("argocd-repo-server" in line for line in img.lines)


def test_argocd_v3_recipe_follows_its_newer_dockerfile() -> None:
    gitops = ("github.com/argoproj/argo-cd/gitops-engine/v3", "./gitops-engine", "v3.6.0")
    f = sf.ModuleFacts(
        "github.com/argoproj/argo-cd/v3", "v3.5.1", ARGOCD_V3_DOCKERFILE, ARGOCD_MAKEFILE.replace("/v2/", "/v3/"),
        "3.5.1\n", "# renovate\nHELM_VERSION=4.2.1\nkustomize5_version=5.8.1\nGIT_LFS_VERSION=3.7.1\n", "abc", "2026-08-12T11:24:40Z",
        nested=(gitops,),
    )  # fmt: skip
    img = sr.recipe("quay.io/argoproj/argocd:v3.5.1", f)
    assert isinstance(img, sf.StackImage)
    moved = sr.recipe("quay.io/argoproj/argocd:v3.5.1", replace(f, version="v3.6.0", asked="v3.5.1"))
    assert isinstance(moved, sf.StackImage)
    assert [(d.what, d.upstream, d.here) for d in moved.differences[:2]] == [
        ("version", "v3.5.1", "v3.6.0"), ("version string", "v3.6.0", "v3.5.1")]  # fmt: skip
    versions = {b.module: b.version for b, _ in img.builds}
    assert versions["helm.sh/helm/v4"] == "v4.2.1" and versions["sigs.k8s.io/kustomize/kustomize/v5"] == "v5.8.1"
    argocd_b = next(b for b, dest in img.builds if dest == "/usr/local/bin/argocd")
    assert argocd_b.replaces == ((gitops[0], f"{gitops[0]}@{gitops[2]}"),)
    assert img.debian is not None and "connect-proxy" in img.debian and "git-lfs" in img.debian
    assert "gnupg" not in img.debian  # --no-install-recommends
    assert "RUN git lfs install --system" in img.lines and "ENV GRPC_ENABLE_TXT_SERVICE_CONFIG=false" in img.lines
    assert any("argocd-commit-server" in line for line in img.lines)
    what = {d.what: d for d in img.differences}
    assert what["git-lfs"].here == "Debian bookworm's git-lfs"
    assert what["base"].upstream == "docker.io/library/ubuntu:26.04 + apt-get"
    assert f"{gitops[0]}@{gitops[2]}" in img.built_from


def test_apt_packages_read_the_stage_that_installs_them() -> None:
    assert sr.apt_packages(ARGOCD_DOCKERFILE) == (("git", "git-lfs", "tini", "gpg", "tzdata"), True)
    assert sr.apt_packages(ARGOCD_V3_DOCKERFILE)[1] is False
    with pytest.raises(RecipeError, match="installs no apt packages"):
        sr.apt_packages("FROM scratch AS argocd-base\n")


def test_nested_modules_and_the_release_that_builds_as_released() -> None:
    gomod = "module x\n\nreplace github.com/a/b => ./b\n\nreplace (\n\tgithub.com/c/d v1.0.0 => ../d\n\tk8s.io/x => k8s.io/x v0.1.0\n)\n"
    assert sf.nested_replaces(gomod) == [("github.com/a/b", "./b"), ("github.com/c/d", "../d")]
    v36 = "require (\n\tgithub.com/argoproj/argo-cd/gitops-engine/v3 v3.6.1 // Tagged as gitops-engine/vX.Y.Z\n)\n" \
          "replace github.com/argoproj/argo-cd/gitops-engine/v3 => ./gitops-engine\n"  # fmt: skip
    assert sf.nested_required(v36) == [("github.com/argoproj/argo-cd/gitops-engine/v3", "./gitops-engine", "v3.6.1")]
    assert sf.nested_required("replace m => ./m\n") == [("m", "./m", "")]
    assert sf.newer_served("v3.5.1", ["v3.6.1", "v3.5.2", "v3.6.0-rc2", "v3.4.0", "v4.0.0", "v3.6.0"]) == [
        "v3.5.2", "v3.6.0", "v3.6.1"]  # fmt: skip


def test_a_release_that_cannot_be_built_as_released() -> None:
    why = "m@v3.5.1's ./gitops-engine is a nested module the module zip leaves out"
    stuck = sf.ModuleFacts("github.com/argoproj/argo-cd/v3", "v3.5.1", asked="v3.5.1", not_as_released=why)
    got = sr.recipe("quay.io/argoproj/argocd:v3.5.1", stuck)
    assert isinstance(got, sf.Unbuildable) and why in got.why
    moved = sf.ModuleFacts("github.com/argoproj/argo-cd/v3", "v3.6.0", asked="v3.5.1", not_as_released=why)
    diff = sf.substitution(moved)[0]
    assert (diff.upstream, diff.here) == ("v3.5.1", "v3.6.0") and "builds as released" in diff.why


def test_a_refused_release_falls_back_to_the_newest_served_one_below_it() -> None:
    assert sf.older_served("v4.1.2", ["v4.0.5", "v3.7.0", "v4.2.0", "v4.1.0-rc1"]) == "v4.0.5"
    assert sf.older_served("v4.1.2", ["v3.7.0"]) is None  # another major is another API
    f = sf.ModuleFacts("github.com/argoproj/argo-workflows/v4", "v4.0.5", asked="v4.1.2")
    assert "an earlier minor" in sf.substitution(f)[0].why
    assert "same minor" in sf.substitution(sf.ModuleFacts("m", "v4.1.4", asked="v4.1.2"))[0].why


def test_a_substituted_build_says_the_release_it_stands_in_for() -> None:
    """The controller names its executor ``argoexec:<its version>``: v4.1.4 built for ``argoexec:v4.1.2`` must say
    v4.1.2, or it asks for an image that is not in the set."""
    mk = "VERSION := $(GIT_TAG)\noverride LDFLAGS += -X github.com/argoproj/argo-workflows/v4.version=$(VERSION)\n"
    f = sf.ModuleFacts("github.com/argoproj/argo-workflows/v4", "v4.1.4", makefile=mk, asked="v4.1.2")
    assert sf.release_version(f) == "v4.1.2"
    assert sf.release_version(sf.ModuleFacts("m", "v1.7.6", version_file="1.7.6\n", asked="v1.7.5")) == "1.7.5"
    assert sf.release_version(sf.ModuleFacts("m", "v1.7.6", version_file="1.7.6\n")) == "1.7.6"
    assert [d.what for d in sf.substitution(f)] == ["version", "version string"]


def test_rollouts_recipe_is_scratch_with_the_controller() -> None:
    facts = sf.ModuleFacts(
        "github.com/argoproj/argo-rollouts", "v1.4.1", "FROM golang:1.19 as builder\n", ROLLOUTS_MAKEFILE
    )
    img = sr.recipe("quay.io/argoproj/argo-rollouts:v1.4.1", facts)
    assert isinstance(img, sf.StackImage)
    assert img.debian is None and img.ca_certificates
    assert img.entrypoint == ("/bin/rollouts-controller",)
    assert not [d for d in img.differences if d.what == "Go"]  # 1.19 is what upstream used


def test_plan_sorts_refs_into_built_and_not_built_with_reasons() -> None:
    refs = [
        "quay.io/argoproj/argocd:v2.6.3", "redis:7.0.7-alpine", "haproxy:2.6.2-alpine",
        "ghcr.io/dexidp/dex:v2.35.3", "quay.io/argoproj/argo-rollouts:v1.4.1", "nats:2.9.1",
        "example.org/no/such:1",
    ]  # fmt: skip
    facts: dict[tuple[str, str], sf.ModuleFacts | None] = {
        ("github.com/argoproj/argo-cd/v2", "v2.6.3"): argocd_facts(),
        ("github.com/argoproj/argo-rollouts", "v1.4.1"): None,  # not served
    }
    p = sr.plan(refs, facts)
    assert sorted(i.ref for i in p.images) == [
        "docker.io/library/haproxy:2.6.2-alpine", "docker.io/library/redis:7.0.7-alpine",
        "ghcr.io/dexidp/dex:v2.35.3", "quay.io/argoproj/argocd:v2.6.3",
    ]  # fmt: skip
    why = {u.ref: u.why for u in p.unbuildable}
    assert "not served" in why["quay.io/argoproj/argo-rollouts:v1.4.1"]
    assert "github.com/nats-io/nats-server/v2@v2.9.1" in why["nats:2.9.1"]  # its facts were not gathered
    assert why["example.org/no/such:1"] == "no recipe for this image yet"
    dex = next(i for i in p.images if i.role == "dex")
    assert dex.differences[0].verifies == "SSO login through dex"


WORKFLOWS_MAKEFILE = """override LDFLAGS += \\
  -X github.com/argoproj/argo-workflows/v3.version=$(VERSION) \\
  -X github.com/argoproj/argo-workflows/v3.gitCommit=${GIT_COMMIT}
"""


def test_workflows_v4_layout_read_from_the_module() -> None:
    """v4 embeds the UI (``ui/embed.go``; ``STATIC_FILES=false`` touches ``ui/dist/app/index.html``) and moved the
    executor's signals to ``osspecific/``; v3 builds with ``server/static/files.go.stub``."""
    df = "FROM golang:1.26.5-alpine3.23 AS builder\n"
    v4 = sf.ModuleFacts("github.com/argoproj/argo-workflows/v4", "v4.1.4", df, WORKFLOWS_MAKEFILE, asked="v4.1.2",
                        present=(sr.UI_EMBED, "workflow/executor/osspecific/signal_darwin.go"))  # fmt: skip
    cli = sr.recipe("quay.io/argoproj/argocli:v4.1.2", v4)
    exe = sr.recipe("quay.io/argoproj/argoexec:v4.1.2", v4)
    assert isinstance(cli, sf.StackImage) and isinstance(exe, sf.StackImage)
    assert cli.builds[0][0].touch == ("ui/dist/app/index.html",) and cli.builds[0][0].prepare == ()
    assert exe.builds[0][0].prepare == (("workflow/executor/osspecific/signal_darwin.go",
                                         "workflow/executor/osspecific/signal_linux.go"),)  # fmt: skip
    v3 = sf.ModuleFacts("github.com/argoproj/argo-workflows/v3", "v3.4.4", df, WORKFLOWS_MAKEFILE,
                        present=(sr.UI_STUB, "workflow/executor/os-specific/signal_darwin.go"))  # fmt: skip
    cli3 = sr.recipe("quay.io/argoproj/argocli:v3.4.4", v3)
    assert isinstance(cli3, sf.StackImage)
    assert cli3.builds[0][0].prepare == ((sr.UI_STUB, "server/static/files.go"),) and not cli3.builds[0][0].touch


def test_ldflags_without_a_package_variable() -> None:
    flags = sf.makefile_ldflags(WORKFLOWS_MAKEFILE, {"VERSION": "3.4.4", "GIT_COMMIT": "abc"})
    assert (
        flags
        == "-s -w -X github.com/argoproj/argo-workflows/v3.version=3.4.4 -X github.com/argoproj/argo-workflows/v3.gitCommit=abc"
    )
    with pytest.raises(RecipeError):
        sf.makefile_ldflags("LDFLAGS += -X $(PKG_VAR_WE_DONT_READ)", {})


def test_neighbours_try_the_same_minor_fix_first() -> None:
    assert sf.neighbours("v1.7.5") == ["v1.7.6", "v1.7.4", "v1.7.7", "v1.7.3", "v1.7.8", "v1.7.2"]
    assert sf.neighbours("v1.0.0", 2) == ["v1.0.1", "v1.0.2"]
    assert sf.neighbours("latest") == []


def test_workflows_images_follow_their_dockerfile_stages() -> None:
    f = sf.ModuleFacts(
        "github.com/argoproj/argo-workflows/v3", "v3.4.4", "FROM golang:1.18 as builder\n", WORKFLOWS_MAKEFILE
    )
    cli = sr.recipe("quay.io/argoproj/argocli:v3.4.4", f)
    exe = sr.recipe("quay.io/argoproj/argoexec:v3.4.4", f)
    assert isinstance(cli, sf.StackImage) and isinstance(exe, sf.StackImage)
    assert cli.builds[0][0].prepare == (("server/static/files.go.stub", "server/static/files.go"),)
    assert cli.entrypoint == ("argo",) and "USER 8737" in cli.lines
    assert exe.entrypoint == ("argoexec",) and not exe.lines  # argoexec runs as the pod says
    assert any(d.what == "kubectl and jq" and d.verifies for d in exe.differences)


def test_events_records_the_neighbour_it_was_built_from() -> None:
    f = sf.ModuleFacts(
        "github.com/argoproj/argo-events", "v1.7.6", gomod="module x\n\ngo 1.19\n", asked="v1.7.5", sumdb=False
    )
    img = sr.recipe("quay.io/argoproj/argo-events:v1.7.5", f)
    assert isinstance(img, sf.StackImage)
    assert img.ref == "quay.io/argoproj/argo-events:v1.7.5"  # named as the install manifest asks
    assert img.builds[0][0].version == "v1.7.6" and img.builds[0][0].nosumdb
    version = img.differences[0]
    assert (version.what, version.upstream, version.here) == ("version", "v1.7.5", "v1.7.6")
    assert "GONOSUMDB" in version.why


CERT_MANAGER_MAKEFILE = """GOLDFLAGS := -w -s \\
\t-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$(RELEASE_VERSION) \\
    -X github.com/cert-manager/cert-manager/pkg/util.AppGitCommit=$(GITCOMMIT)

include make/tools.mk
"""


def test_cert_manager_parts_follow_their_containerfiles() -> None:
    f = sf.ModuleFacts("github.com/cert-manager/cert-manager", "v1.11.0", makefile=CERT_MANAGER_MAKEFILE,
                       commit="2a0ef53b", gomod="module github.com/cert-manager/cert-manager\n\ngo 1.19\n",
                       tools_mk="TOOLS += kind=v0.17.0\nTOOLS += helm=v3.10.0\n",
                       main_dirs=("acmesolver", "cainjector", "controller", "ctl", "webhook"))  # fmt: skip
    img = sr.recipe("quay.io/jetstack/cert-manager-webhook:v1.11.0", f)
    assert isinstance(img, sf.StackImage)
    b, dest = img.builds[0]
    assert (b.packages, dest) == (("./cmd/webhook",), "/app/cmd/webhook/webhook")
    assert "-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=v1.11.0" in b.ldflags
    assert "AppGitCommit=2a0ef53b" in b.ldflags
    assert img.lines == ("USER 1000",) and img.entrypoint == ("/app/cmd/webhook/webhook",)
    assert sf.tools_mk_version(f.tools_mk, "helm") == "v3.10.0"
    with pytest.raises(RecipeError):
        sf.tools_mk_version(f.tools_mk, "ko")


def test_cert_manager_binaries_in_modules_of_their_own_are_not_buildable() -> None:
    f = sf.ModuleFacts("github.com/cert-manager/cert-manager", "v1.21.1", makefile=CERT_MANAGER_MAKEFILE)
    got = sr.recipe("quay.io/jetstack/cert-manager-controller:v1.21.1", f)
    assert isinstance(got, sf.Unbuildable)
    assert "controller-binary" in got.why and "no cmd/controller" in got.why


def test_release_manifest_helpers() -> None:
    chart = chart_yaml("apiVersion: v1\nname: cert-manager\nversion: v0.1.0\nappVersion: v0.1.0\n"
                       'annotations:\n  artifacthub.io/prerelease: "{{IS_PRERELEASE}}"\n', "v1.11.0")  # fmt: skip
    assert "version: v1.11.0\nappVersion: v1.11.0" in chart and '"false"' in chart
    render = "---\n# Source: a\nkind: CustomResourceDefinition\nmetadata: {name: x}\n---\nkind: Deployment\n---\n"
    assert len(documents(render)) == 2
    assert crds_only(render) == ["# Source: a\nkind: CustomResourceDefinition\nmetadata: {name: x}"]
    assert concat(["a: 1"], ["b: 2"]) == "a: 1\n---\nb: 2\n"


def test_tags_without_v_and_the_substitutes() -> None:
    assert sr.needs_module("ghcr.io/letsencrypt/pebble:2.6.0") == ("github.com/letsencrypt/pebble/v2", "v2.6.0")
    assert sr.needs_module("traefik:v2.10.7") == ("github.com/traefik/traefik/v2", "v2.10.7")
    f = sf.ModuleFacts("github.com/traefik/traefik/v2", "v2.10.7", dockerfile="FROM alpine:3.18\n", gomod="go 1.21\n")
    img = sr.recipe("traefik:v2.10.7", f)
    assert isinstance(img, sf.StackImage)
    assert img.builds[0][0].toolchain.version == "1.21.0"
    assert "-X github.com/traefik/traefik/v2/pkg/version.Version=v2.10.7" in img.builds[0][0].ldflags
    gone = sr.recipe("ghcr.io/letsencrypt/pebble:2.6.0", None)
    assert isinstance(gone, sf.Unbuildable) and "github.com/letsencrypt/pebble/v2@v2.6.0" in gone.why


def test_dex_runtime_is_not_root() -> None:
    """Argo CD's dex container sets runAsNonRoot: the kubelet refuses an image that runs as root."""
    img = sr.recipe("ghcr.io/dexidp/dex:v2.35.3", None)
    assert isinstance(img, sf.StackImage)
    assert img.lines[-1] == "USER 1001:1001"
    assert any("/usr/local/bin/dex" in line and "exit 1" in line for line in img.lines)  # argocd-dex looks it up


def test_helm_knows_the_kubernetes_version_of_its_client_go() -> None:
    flags = sf.helm_ldflags("v3.10.0", "module helm.sh/helm/v3\n\nrequire (\n\tk8s.io/client-go v0.25.2\n)\n")
    assert "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=25" in flags
    assert "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1" in flags
    with pytest.raises(RecipeError):
        sf.helm_ldflags("v3.10.0", "module x\n")


def test_crds_template_wraps_the_crds_as_the_release_does() -> None:
    text = crds_template(["kind: CustomResourceDefinition\nmetadata: {name: a}\n", "kind: CustomResourceDefinition\n"])
    assert text.startswith("{{- if .Values.installCRDs }}\n") and text.endswith("{{- end }}\n")
    assert text.count("---") == 1


@pytest.mark.parametrize(
    ("makefile", "version_file", "expected"),
    [
        # argo-workflows v3.4.4: a release sets VERSION to its tag (the executor image is argoexec:v3.4.4)
        ("VERSION               := latest\nifeq ($(RELEASE_TAG),true)\nVERSION               := $(GIT_TAG)\nendif\n", "", "v3.4.4"),
        # argo-rollouts v1.4.1: the tag without its v (its VERSION file still says 1.2.0)
        ('VERSION=$(shell if [ ! -z "${GIT_TAG}" ] ; then echo "${GIT_TAG}" | sed -e "s/^v//"  ; else cat VERSION ; fi)\n',
         "1.2.0\n", "3.4.4"),
        # argo-cd v2.6.3: the VERSION file
        ("VERSION=$(shell cat ${CURRENT_DIR}/VERSION)\n", "3.4.4\n", "3.4.4"),
        ("", "", "3.4.4"),
    ],
)  # fmt: skip
def test_release_version_follows_the_makefile(makefile: str, version_file: str, expected: str) -> None:
    f = sf.ModuleFacts("example.org/m/v3", "v3.4.4", makefile=makefile, version_file=version_file)
    assert sf.release_version(f) == expected


def _entry(script: str, tmp_path: Path, *args: str) -> str:
    f = tmp_path / "entry"
    f.write_text(script)
    return subprocess.run(["sh", str(f), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_the_official_entrypoint_runs_the_program_for_option_only_args(tmp_path: Path) -> None:
    # `echo` stands in for the program, so each call prints what would run
    redis = dr.official_entrypoint("redis-server").replace("set -- redis-server", "set -- echo redis-server")
    assert _entry(redis, tmp_path, "--save", "", "--appendonly", "no") == "redis-server --save  --appendonly no"
    assert _entry(redis, tmp_path, "echo", "sentinel") == "sentinel"  # a command is run as it is
    haproxy = dr.official_entrypoint("haproxy", "-W -db").replace('exec "$@"', 'echo "$@"')
    assert _entry(haproxy, tmp_path, "-f", "/c.cfg") == "haproxy -W -db -f /c.cfg"
    assert _entry(haproxy, tmp_path, "haproxy", "-f", "/c.cfg") == "haproxy -W -db -f /c.cfg"
    img = sr.recipe("redis:7.0.7-alpine", None)
    assert isinstance(img, sf.StackImage) and img.entrypoint == ("docker-entrypoint.sh",)


def test_redis_keeps_the_official_images_protected_mode_default(tmp_path: Path) -> None:
    real = tmp_path / "bin"
    real.mkdir()
    (real / "redis-server").write_text('#!/bin/sh\necho "$@"\n')
    (real / "redis-server").chmod(0o755)
    wrapper = tmp_path / "redis-server"
    wrapper.write_text(dr.REDIS_DEFAULTS.replace("/usr/bin/", f"{real}/"))
    conf = tmp_path / "redis.conf"
    conf.write_text("port 6379\n")

    def run(*args: str) -> str:
        return subprocess.run(["sh", str(wrapper), *args], capture_output=True, text=True, check=True).stdout.strip()

    assert run(str(conf)) == f"{conf} --protected-mode no"  # Argo CD HA's redis.conf says nothing of it
    conf.write_text("protected-mode yes\n")
    assert run(str(conf)) == str(conf)  # a config that sets it wins
    assert run("--protected-mode", "yes") == "--protected-mode yes"


def test_a_bundled_tool_falls_back_to_the_nearest_patch_that_builds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from argo_offline_images import build, stackimages
    from argo_offline_images.recipes import GoBuild, toolchain_for

    tried: list[str] = []

    def go_build(b: GoBuild, root: Path) -> Path:
        tried.append(b.version)
        if b.version in ("v5.8.3", "v5.8.4"):
            raise build.BuildError("reading https://proxy.golang.org/k8s.io/kube-openapi/...zip: 403 Forbidden")
        return tmp_path

    monkeypatch.setattr(build, "go_build", go_build)
    monkeypatch.setattr(build, "module_served", lambda m, v, root, nosumdb=False: v != "v5.8.5")
    b = GoBuild("sigs.k8s.io/kustomize/kustomize/v5", "v5.8.3", (".",), toolchain_for("1.27"))
    out, used = stackimages.tool_build(b, tmp_path)
    assert (out, used.version) == (tmp_path, "v5.8.2") and tried == ["v5.8.3", "v5.8.4", "v5.8.2"]

    def broken(b: GoBuild, root: Path) -> Path:
        raise build.BuildError("syntax error")  # not a refusal: no fallback, the error stands

    monkeypatch.setattr(build, "go_build", broken)
    with pytest.raises(build.BuildError, match="syntax error"):
        stackimages.tool_build(b, tmp_path)
