"""The kind backend's whole ``up()``/``close()`` sequence, offline: stand-in ``docker``/``kind``/``kubectl``
scripts record every command, and the local API server plays the cluster's API (a small loop marks
Deployments available, as kube-controller-manager would). What is checked is the suite's own
orchestration: the order, the flags, the files handed to each command, and the per-step outcomes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from argo_tutorial_suite.backends.capabilities import Capability
from argo_tutorial_suite.backends.kind import shared
from argo_tutorial_suite.backends.kind.backend import KindBackend
from argo_tutorial_suite.backends.sim.apiserver import ApiHTTPServer, make_store
from argo_tutorial_suite.backends.sim.resources import BUILTIN
from argo_tutorial_suite.tools import Tool
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.tutorial.stack import COMPONENT_NS
from argo_tutorial_suite.verdicts.components import Relation
from tests.standins import calls, recorder

NAME = "argo-suite-as-written-tutorial-2023"


@pytest.fixture
def api() -> Iterator[ApiHTTPServer]:
    srv = ApiHTTPServer(make_store()).start()
    store = srv.store
    ns = store.res("", "namespaces")
    for n in ("default", "kube-public", "kube-system"):
        store.create(ns, None, {"metadata": {"name": n}})
    node = store.create(store.res("", "nodes"), None, {"metadata": {"name": f"{NAME}-control-plane"}})
    store.patch(
        store.res("", "nodes"),
        None,
        node["metadata"]["name"],
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        "merge",
        "status",
    )
    stop = threading.Event()

    def controller_manager() -> None:
        dep = next(r for r in BUILTIN if r.kind == "Deployment")
        while not stop.is_set():
            for d in store.list(dep)[0]:
                n = d["spec"].get("replicas", 1)
                want = {
                    "observedGeneration": d["metadata"]["generation"],
                    "replicas": n,
                    "updatedReplicas": n,
                    "availableReplicas": n,
                    "readyReplicas": n,
                }
                if d.get("status") != want:
                    store.patch(
                        dep, d["metadata"]["namespace"], d["metadata"]["name"], {"status": want}, "merge", "status"
                    )
            stop.wait(0.1)

    t = threading.Thread(target=controller_manager, daemon=True)
    t.start()
    yield srv
    stop.set()
    srv.stop()


@pytest.fixture(autouse=True)
def private_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's backend shares no lock with a real kind run on the machine."""
    monkeypatch.setattr(shared, "ALIVE", tmp_path / "alive.lock")
    monkeypatch.setattr(shared, "MAKE", tmp_path / "make.lock")


def test_up_and_close_on_stand_ins(api: ApiHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # pytest-kind writes .pytest-kind/ into the CWD
    bin_dir = tmp_path / "bin"
    kubeconfig = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": f"kind-{NAME}",
            "clusters": [{"name": f"kind-{NAME}", "cluster": {"server": api.url}}],
            "contexts": [{"name": f"kind-{NAME}", "context": {"cluster": f"kind-{NAME}", "user": "u"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
        }
    )
    write_kc = (
        'for a in "$@"; do case "$a" in --kubeconfig=*) cat > "${a#--kubeconfig=}" <<\'EOF\'\n'
        + kubeconfig
        + "EOF\n;; esac; done"
    )
    docker = recorder(
        bin_dir,
        "docker",
        {
            "inspect*": "exit 1",
            "run *": "echo 0123456789ab",
            "exec -i*": f"cat >> {bin_dir}/hosts.toml.seen",
            "network inspect kind": "echo '[{\"Containers\": {}}]'",
        },
    )
    kind = recorder(
        bin_dir,
        "kind",
        {
            "get clusters": "echo 'No kind clusters found.'",
            "create cluster*": write_kc,
            "get nodes*": f"echo {NAME}-control-plane",
        },
    )
    kubectl = recorder(
        bin_dir,
        "kubectl",
        {"rollout status deployment -n *": "echo 'error: required resource not specified' >&2; exit 1"},
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    b = KindBackend(
        Profile.load("as-written", "tutorial-2023"),
        Tool("kind", str(kind), "test"),
        Tool("kubectl", str(kubectl), "test"),
        Tool("docker", str(docker), "test"),
        tmp_path / ".pytest-kind" / NAME,
        upstream=None,
        preload=False,
    )
    waited: list[list[str] | None] = []
    monkeypatch.setattr(
        KindBackend, "wait_components", lambda self, components=None, timeout=None: waited.append(components)
    )
    b.up()

    assert [p.name for p in b.phases] == [
        "registry container",
        "cluster",
        "registry on nodes",
        "nodes ready",
        "git server",
        "install the stack",
        "on top of the tutorial's install",
        "components ready",
        "git server ready",  # awaited after the install: the install does not need it
    ]
    want = [c for c in COMPONENT_NS if c != "traefik"]  # as written: ingress-nginx, not its successor (D37)
    assert waited == [want], "every component the profile installs is waited on after the install"
    d = calls(bin_dir, "docker")
    assert any(
        c.startswith("run -d --restart=always -p 127.0.0.1:") and c.endswith("--name kind-registry registry:3.0.0")
        for c in d
    )
    assert f"exec {NAME}-control-plane mkdir -p /etc/containerd/certs.d/kind-registry:5000" in d
    assert "network connect kind kind-registry" in d
    assert any(c.startswith("build -q -t argo-suite/gitserver:1 ") for c in d)
    assert '[host."http://kind-registry:5000"]' in (bin_dir / "hosts.toml.seen").read_text()
    k = calls(bin_dir, "kind")
    create = next(c for c in k if c.startswith("create cluster"))
    config = yaml.safe_load((tmp_path / ".pytest-kind" / NAME / "kind-config.yaml").read_text())
    assert "--config" in create and "--image=kindest/node:v1.25.3@sha256:" in create
    assert [n["role"] for n in config["nodes"]] == ["control-plane"]
    # the git server's image goes to the cluster's registry once (no kind load into every node), pulled from there
    assert not any(c.startswith("load docker-image") for c in k)
    assert any(c.startswith("push -q 127.0.0.1:") and "/argo-suite/gitserver:" in c for c in d)
    git = b.kube.get("apps/v1", "Deployment", "gitserver", "argo-suite-git")
    container = (git or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
    assert container.get("image", "").startswith("kind-registry:5000/argo-suite/gitserver:"), git
    assert container.get("imagePullPolicy") == "IfNotPresent"
    assert api.store.try_get(api.store.res("", "configmaps"), "kube-public", "local-registry-hosting") is not None
    assert api.store.try_get(api.store.res("apps", "deployments"), "argo-suite-git", "gitserver") is not None
    # the tutorial's script ran command by command, with its outcomes
    outcomes = {c.object: c for s in b.install_outcomes for c in s.commands}
    assert outcomes["install:Install start argo-events#2"].returncode == 127  # ubectl
    assert outcomes["install:Install start argo-cd#1"].resolved == {"argo-cd@stable": "v2.6.3"}
    kubectl_calls = calls(bin_dir, "kubectl")
    assert any("argo-cd/v2.6.3/manifests/ha/install.yaml" in c for c in kubectl_calls)
    # on top (as written, one node): Argo CD without HA (D3) and ingress-nginx's kind provider (D6)
    assert any(
        c.startswith("apply --server-side --force-conflicts -n argocd") and "v2.6.3/manifests/install.yaml" in c
        for c in kubectl_calls
    )
    assert any("controller-v1.5.1/deploy/static/provider/kind/deploy.yaml" in c for c in kubectl_calls)
    on_top = [c for st in b.install_outcomes if st.title.startswith("On top") for c in st.commands]
    assert on_top and all(c.status == "ok" for c in on_top)
    assert b.git_remote("code") == f"http://127.0.0.1:{b.ports.git}/code.git"
    assert b.substitutions()["registry.argo-tutorial.test"] == "kind-registry:5000"
    assert json.loads(json.dumps(b.label)).startswith("real (kind v0.17.0")

    other = shared.Alive()  # a second kind run on this machine, alive: the shared registry stays
    other.hold()
    line = b.close(failed=False)
    assert "deleted" in line and "kept: another kind run here is alive" in line
    assert calls(bin_dir, "kind")[-1].startswith(f"delete cluster --name={NAME}")
    assert not any(c.startswith("rm -f kind-registry") for c in calls(bin_dir, "docker"))
    other.release()


def test_offline_a_cert_manager_that_cannot_be_built_gets_a_stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With current pins cert-manager v1.21.1's images are not built (no module proxy serves its binaries); the
    v1.11.0 release the as-written profile needs is, with its rendered manifest: it stands in, the install step
    is skipped with that note, and ``cannot("cert-manager")`` says so (the TLS steps then read not verified)."""
    from argo_tutorial_suite.backends.kind.localbuild import LocalBuild
    from argo_tutorial_suite.paths import UPSTREAM
    from argo_tutorial_suite.tutorial.images import cert_manager_images, stack_images
    from argo_tutorial_suite.upstream import Upstream

    if not UPSTREAM.is_dir():
        pytest.skip("../shared/upstream absent: the stack's image list is read from the install manifests")
    upstream = Upstream(UPSTREAM)
    profile = Profile.load("corrected", "current")
    every = [r for refs in stack_images(upstream, profile.versions()).values() for r in refs]
    built = [r for r in every if "cert-manager" not in r] + cert_manager_images("v1.11.0")
    manifest = tmp_path / "v1.11.0.yaml"
    manifest.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: cert-manager}\n")
    url = "https://github.com/cert-manager/cert-manager/releases/download/{}/cert-manager.yaml"
    why = "github.com/cert-manager/cert-manager@v1.21.1 has no cmd/controller"
    stack = {
        "images": [{"ref": r, "id": "sha256:0"} for r in built],
        "not_built": [{"ref": r, "why": why} for r in cert_manager_images("v1.21.1")],
        "install_sources": [{"url": url.format("v1.11.0"), "path": str(manifest), "how": "helm template"}],
    }
    local = LocalBuild("current", tmp_path / "current.json", {"node_image": {"ref": "n", "id": "i"}, "stack": stack})
    tool = Tool("x", "/bin/true", "test")
    b = KindBackend(profile, tool, tool, tool, tmp_path, upstream=upstream, local=local, registry_mirror=True)
    from argo_tutorial_suite.backends.base import substitutions_for

    monkeypatch.setattr(b, "substitutions", lambda: substitutions_for("kind-registry:5000", "http://git.test"))
    assert b.mode.plan() is not None
    note = b.mode.skipped["cert-manager"]
    assert note.startswith("not verified here (cert-manager v1.21.1 substituted: v1.11.0") and why in note
    assert b.mode.stand_ins["cert-manager"].manifest == manifest
    ran = b.ran()["cert-manager"]
    assert ran.relation is Relation.ANOTHER and ran.what.startswith("v1.11.0 for v1.21.1")


def test_a_kept_cluster_is_reused_only_from_the_same_stack_build(tmp_path: Path) -> None:
    from argo_tutorial_suite.backends.kind.localbuild import LocalBuild

    profile = Profile.load("corrected", "current")
    tool = Tool("x", "/bin/true", "test")

    def backend(stack_hash: str | None, mirror: bool = True) -> KindBackend:
        stack = {"images": [{"ref": "quay.io/argoproj/argocd:v3.5.1", "id": "i"}], "input_hash": stack_hash}
        local = LocalBuild("current", tmp_path / "m.json", {"node_image": {"ref": "n", "id": "i"}, "stack": stack})
        return KindBackend(profile, tool, tool, tool, tmp_path, local=local, registry_mirror=mirror)

    assert backend("a").install_key() == backend("a").install_key()
    assert backend("a").install_key() != backend("b").install_key()  # another build: install again
    assert backend("a", mirror=False).install_key() == backend("b", mirror=False).install_key()  # online: pins only


def _offline_backend(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    built: Sequence[Mapping[str, object]],
    pins: str = "tutorial-2023",
    profile: str = "as-written",
) -> KindBackend:
    """A kind backend in offline mirror mode over a stack manifest of ``built`` images (nothing is started)."""
    from argo_tutorial_suite.backends.base import substitutions_for
    from argo_tutorial_suite.backends.kind.localbuild import LocalBuild
    from argo_tutorial_suite.paths import UPSTREAM
    from argo_tutorial_suite.upstream import Upstream

    if not UPSTREAM.is_dir():
        pytest.skip("../shared/upstream absent: the stack's image list is read from the install manifests")
    local = LocalBuild(
        pins,
        tmp_path / f"{pins}.json",
        {"node_image": {"ref": "n", "id": "i"}, "stack": {"images": [dict(i) for i in built]}},
    )
    tool = Tool("x", "/bin/true", "test")
    b = KindBackend(
        Profile.load(profile, pins), tool, tool, tool, tmp_path, upstream=Upstream(UPSTREAM), local=local,
        registry_mirror=True,
    )  # fmt: skip
    monkeypatch.setattr(b, "substitutions", lambda: substitutions_for("kind-registry:5000", "http://git.test"))
    return b


def _every_image(b: KindBackend) -> list[str]:
    from argo_tutorial_suite.tutorial.images import stack_images

    assert b.upstream is not None
    return sorted(
        {r for refs in stack_images(b.upstream, b.profile.versions()).values() for r in refs} | set(b.ci_images())
    )


def test_every_cannot_branch_of_the_kind_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ingress-nginx substituted, the CI unable to run (an image not built), the CI's images built with
    differences, and each answered None when it does not apply."""
    from argo_tutorial_suite.backends.kind import ingress as ingress_substitute

    b = _offline_backend(tmp_path, monkeypatch, [])
    every = _every_image(b)
    ci = b.ci_images()
    assert ci, "the tutorial's CI names images"
    # only Argo CD built: the CI cannot run, naming the images it misses
    b = _offline_backend(tmp_path, monkeypatch, [{"ref": next(r for r in every if "argocd" in r), "id": "i"}])
    none_built = b.cannot(Capability.CI_RUN)
    assert none_built is not None and ci[0] in none_built
    # everything built but ingress-nginx, for which the substitute is built
    stand_in = [{"ref": r, "id": "i"} for r in every if "ingress-nginx" not in r] + [
        {"ref": ingress_substitute.IMAGE, "id": "i"}
    ]
    b = _offline_backend(tmp_path, monkeypatch, stand_in)
    assert b.mode.plan() is not None
    assert b.cannot(Capability.CI_RUN) is None
    assert b.cannot(Capability.CI_IMAGES) is None  # built with no difference that leaves something unverified
    assert b.cannot(Capability.INGRESS_NGINX) == ingress_substitute.note(ingress_substitute.IMAGE)
    # a CI image built with a difference that leaves something unverified
    curl = next(r for r in ci if r.startswith("alpine"))
    with_diff = [
        {**i, "differences": [{"what": "curl", "upstream": "8", "here": "Debian's curl", "why": "w",
                               "not_verified": "curl's own release", "relation": "stand-in"}]}
        if i["ref"] == curl else i
        for i in stand_in
    ]  # fmt: skip
    b = _offline_backend(tmp_path, monkeypatch, with_diff)
    got = b.cannot(Capability.CI_IMAGES)
    assert got is not None and curl in got and "curl's own release" in got


def test_what_ran_per_component_follows_the_recorded_relations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from argo_tutorial_suite.backends.kind import ingress as ingress_substitute
    from argo_tutorial_suite.verdicts.components import Relation

    b = _offline_backend(tmp_path, monkeypatch, [], pins="current")
    every = _every_image(b)

    def diff(relation: str, what: str = "version") -> dict[str, str]:
        return {"what": what, "upstream": "v3.5.1", "here": "v3.6.0", "why": "w", "relation": relation}

    built = []
    for r in every:
        if "ingress-nginx" in r:
            continue
        d = []
        if "argoproj/argocd" in r:
            d = [diff("another release"), diff("same release", "web UI")]
        if "library/redis" in r or r.startswith("redis"):
            d = [diff("stand-in", "base and version")]
        built.append({"ref": r, "id": "i", "differences": d})
    built.append({"ref": ingress_substitute.IMAGE, "id": "i"})
    b = _offline_backend(tmp_path, monkeypatch, built, pins="current")
    assert b.mode.plan() is not None
    ran = b.ran()
    assert ran["argo-cd"].relation is Relation.ANOTHER and "v3.6.0" in ran["argo-cd"].what
    assert ran["argo-cd-redis"].relation is Relation.STAND_IN
    assert ran["ingress-nginx"].relation is Relation.STAND_IN and "traefik" in ran["ingress-nginx"].what
    assert ran["argo-rollouts"].relation is Relation.SAME
    # online (images pulled as users pull them): nothing differs
    b = _offline_backend(tmp_path, monkeypatch, built, pins="current")
    b.mode.registry_mirror = False
    assert b.ran() == {}


def test_what_ran_is_judged_on_the_profiles_own_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One build holds both profiles' images: as written, Argo Events v1.7.5 (built from v1.7.6, another release);
    corrected, v1.9.11 (as released). The corrected run's Argo Events is its own release, whatever the other's is."""
    other = {"what": "version", "upstream": "v1.7.5", "here": "v1.7.6", "why": "w", "relation": "another release"}
    built: list[dict[str, object]] = [
        {"ref": "quay.io/argoproj/argo-events:v1.7.5", "id": "i", "differences": [other]},
        {"ref": "quay.io/argoproj/argo-events:v1.9.11", "id": "i", "differences": []},
    ]
    for profile, relation in (("corrected", Relation.SAME), ("as-written", Relation.ANOTHER)):
        b = _offline_backend(tmp_path, monkeypatch, built, pins="current", profile=profile)
        assert b.ran()["argo-events"].relation is relation, profile
