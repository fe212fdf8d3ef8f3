"""Registry mirror mode (argo_tutorial_suite/backends/kind/mirror_config.py), on the real install manifests in ../shared/upstream."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from argo_image_refs import RefError, parse_ref
from argo_tutorial_suite.backends.kind import mirror_config as mirror
from argo_tutorial_suite.tutorial.images import images_in

SHARED = Path(__file__).resolve().parents[2] / "shared" / "upstream"
INSTALLS = [
    "argo-cd/v2.6.3/manifests/ha/install.yaml",
    "argo-cd/v3.5.1/manifests/ha/install.yaml",
    "argo-rollouts/v1.4.1/manifests/install.yaml",
    "argo-events/v1.7.5/manifests/install.yaml",
    "ingress-nginx/controller-v1.5.1/deploy/static/provider/kind/deploy.yaml",
    "ingress-nginx/controller-v1.15.1/deploy/static/provider/kind/deploy.yaml",
]


def load(rel: str) -> list[dict[str, object]]:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"{path} is absent: the upstream reference copy (../shared/upstream) is not beside the project")
    return [
        d
        for d in yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if isinstance(d, dict)
    ]


@pytest.mark.parametrize(
    ("ref", "host", "path", "tag"),
    [
        ("redis:7.0.7-alpine", "docker.io", "library/redis", "7.0.7-alpine"),
        ("haproxy", "docker.io", "library/haproxy", "latest"),
        ("moby/buildkit:v0.11.2-rootless", "docker.io", "moby/buildkit", "v0.11.2-rootless"),
        ("quay.io/argoproj/argocd:v2.6.3", "quay.io", "argoproj/argocd", "v2.6.3"),
        ("k8s.gcr.io/pause:3.8", "registry.k8s.io", "pause", "3.8"),
        ("localhost:5000/app:1", "localhost:5000", "app", "1"),
        ("kind-registry:5000/hello:abc", "kind-registry:5000", "hello", "abc"),
    ],
)
def test_parse_ref_applies_dockers_defaults(ref: str, host: str, path: str, tag: str) -> None:
    r = parse_ref(ref)
    assert (r.host, r.path, r.tag, r.digest) == (host, path, tag, "")


@pytest.mark.parametrize("bad", ["", "two words", "Upper/Case:1", "x@sha256:short"])
def test_parse_ref_refuses_what_is_not_a_reference(bad: str) -> None:
    with pytest.raises(RefError):
        parse_ref(bad)


@pytest.mark.parametrize("rel", INSTALLS)
def test_every_upstream_install_image_has_a_mirror(rel: str) -> None:
    refs = images_in(load(rel))
    assert refs
    assert set(mirror.hosts_of(refs)) <= set(mirror.UPSTREAMS)
    assert all(parse_ref(r).host in mirror.UPSTREAMS for r in refs), refs


def test_kind_before_v020_gets_mirrors_patches_that_are_toml_and_cover_aliases() -> None:
    patches = mirror.containerd_patches("v0.17.0", ["registry.k8s.io", "quay.io"])
    merged = [tomllib.loads(p) for p in patches]
    mirrors: dict[str, list[str]] = {}
    for m in merged:
        for name, entry in m["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["mirrors"].items():
            mirrors[name] = entry["endpoint"]
    assert mirrors["quay.io"][0] == "http://argo-suite-mirror-quay-io:5000"
    assert mirrors["k8s.gcr.io"][0] == mirrors["registry.k8s.io"][0] == "http://argo-suite-mirror-registry-k8s-io:5000"
    assert mirrors["quay.io"][-1] == "https://quay.io"
    assert mirror.hosts_files("v0.17.0", ["quay.io"]) == {}


def test_kind_from_v020_gets_hosts_toml_per_host() -> None:
    assert mirror.containerd_patches("v0.30.0", ["docker.io"]) == []
    files = mirror.hosts_files("v0.30.0", ["docker.io", "quay.io"])
    assert set(files) == {
        "/etc/containerd/certs.d/docker.io/hosts.toml",
        "/etc/containerd/certs.d/index.docker.io/hosts.toml",
        "/etc/containerd/certs.d/quay.io/hosts.toml",
    }
    docker = tomllib.loads(files["/etc/containerd/certs.d/docker.io/hosts.toml"])
    assert docker["server"] == "https://registry-1.docker.io"
    assert docker["host"]["http://argo-suite-mirror-docker-io:5000"]["capabilities"] == ["pull", "resolve"]


def test_registry_config_proxies_only_online() -> None:
    online = yaml.safe_load(mirror.registry_config("https://quay.io"))
    offline = yaml.safe_load(mirror.registry_config(None))
    assert online["proxy"] == {"remoteurl": "https://quay.io"}
    assert "proxy" not in offline
    assert offline["http"]["addr"] == ":5000"


def test_push_target_keeps_the_repository_path() -> None:
    assert mirror.push_target("redis:7.0.7-alpine", 41000) == "127.0.0.1:41000/library/redis:7.0.7-alpine"


def test_digest_rewrite_only_for_images_built_here() -> None:
    objs = load("ingress-nginx/controller-v1.5.1/deploy/static/provider/kind/deploy.yaml")
    pinned = [i for i in images_in(objs) if "@sha256:" in i]
    assert len(pinned) == 2
    controller = parse_ref(next(i for i in pinned if "/controller:" in i)).tagged
    new, rewrites = mirror.rewrite_digests(objs, {controller})
    assert [r.here for r in rewrites] == ["registry.k8s.io/ingress-nginx/controller:v1.5.1"]
    assert "Deployment/ingress-nginx-controller" in rewrites[0].where
    left = images_in(new)
    assert "registry.k8s.io/ingress-nginx/controller:v1.5.1" in left
    assert any("kube-webhook-certgen" in i and "@sha256:" in i for i in left)  # not built: untouched
    assert images_in(objs) == pinned + [i for i in images_in(objs) if i not in pinned]  # originals unchanged


def test_runs_side_by_side_fill_the_shared_mirrors_one_at_a_time(tmp_path: Path) -> None:
    import threading
    import time
    from collections.abc import Sequence
    from typing import Any

    from argo_tutorial_suite.backends.kind import mirrors as kind_mirrors
    from argo_tutorial_suite.proc import Runner

    active: list[int] = []
    overlap: list[bool] = []

    class Recorder(Runner):
        def run(self, argv: Sequence[str], **kw: Any) -> Any:
            if argv[1] == "push":
                active.append(1)
                overlap.append(len(active) > 1)
                time.sleep(0.05)  # a push in progress, long enough for the other thread to try
                active.pop()
            return None

    ms = [kind_mirrors.Mirror("ghcr.io", 5001, online=False)]
    refs = ["ghcr.io/letsencrypt/pebble:2.6.0", "ghcr.io/letsencrypt/pebble-challtestsrv:2.6.0"]
    lock = tmp_path / "fill.lock"
    threads = [
        threading.Thread(target=kind_mirrors.fill, args=(ms, refs, "docker", Recorder(), lock)) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(overlap) == 4 and not any(overlap)
