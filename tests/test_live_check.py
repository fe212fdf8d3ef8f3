"""The instructor's live check against stand-in API servers: read-only, bounded on bad clusters, and the
tutorial's steps told from the objects at several points (shapes as the controllers write them: Argo CD's
Application status, Rollouts' status and ReplicaSet labels, argo-workflows' node messages, argo-events' pods)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from argo_tutorial_suite.live import board, cli, kubeconfig, progress, snapshot
from argo_tutorial_suite.live.progress import Reach
from argo_tutorial_suite.live.readonly import ReadOnlyKube
from argo_tutorial_suite.tutorial.profiles import Pins
from tests.fake_apiserver import Behaviour, hanging, serving
from tests.fake_apiserver import kubeconfig as write_kubeconfig

Obj = dict[str, Any]
TOKEN = "t0ken-value-never-printed"
IMAGES = {
    "argo-cd": ("argocd", "quay.io/argoproj/argocd"),
    "argo-rollouts": ("argo-rollouts", "quay.io/argoproj/argo-rollouts"),
    "argo-workflows": ("argo", "quay.io/argoproj/workflow-controller"),
    "argo-events": ("argo-events", "quay.io/argoproj/argo-events"),
    "traefik": ("traefik", "docker.io/library/traefik"),
    "cert-manager": ("cert-manager", "quay.io/jetstack/cert-manager-controller"),
}


def meta(name: str, ns: str | None = None, **extra: Any) -> Obj:
    m: Obj = {"name": name, "creationTimestamp": "2026-12-05T08:00:00Z", **extra}
    if ns:
        m["namespace"] = ns
    return m


def pod(name: str, ns: str, labels: dict[str, str], waiting: str | None = None) -> Obj:
    state: Obj = {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, ns, labels=labels),
        "status": {
            "phase": "Pending" if waiting else "Running",
            "conditions": [{"type": "Ready", "status": "False" if waiting else "True"}],
            "containerStatuses": [{"name": "main", "ready": not waiting, "restartCount": 9, "state": state}],
        },
    }


def stack(pins: str = "current") -> list[Obj]:
    p = Pins.load(pins)
    out: list[Obj] = []
    for comp, (ns, image) in IMAGES.items():
        version = p.pinned(comp) if comp in p.data["components"] else "v3.6.12"
        name = "traefik" if comp == "traefik" else f"{comp}-controller"
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns)})
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta(name, ns, generation=1),
                "spec": {
                    "replicas": 1,
                    "template": {"spec": {"containers": [{"name": "c", "image": f"{image}:{version}"}]}},
                },
                "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
            }
        )
        out.append(pod(f"{name}-abc", ns, {"app": name}))
    out.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("argocd-application-controller", "argocd"),
                "spec": {"replicas": 1}, "status": {"replicas": 1, "readyReplicas": 1, "currentReplicas": 1,
                                                    "updatedReplicas": 1, "availableReplicas": 1}})  # fmt: skip
    out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta("argo")})
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        out.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": meta("cert-manager-webhook"),
                    "webhooks": [{"name": "w", "clientConfig": {"caBundle": "Y2E="}}]})  # fmt: skip
    out.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta("argocd-initial-admin-secret", "argocd"),
                "data": {"password": "c2VjcmV0LXZhbHVl"}})  # fmt: skip
    return out


def application(conditions: list[Obj] | None = None, sync: str = "Synced", health: str = "Healthy") -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta("my-awesome-app", "argocd"),
        "status": {"sync": {"status": sync}, "health": {"status": health}, "conditions": conditions or []},
    }


def rollout(preview: bool, paused: bool, stable: str, current: str) -> list[Obj]:
    ns = "my-awesome-app"
    bg: Obj = {"activeService": "my-awesome-app", "autoPromotionEnabled": False}
    if preview:
        bg["previewService"] = "my-awesome-app-preview"
    ro: Obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": meta("my-awesome-app", ns),
        "spec": {
            "selector": {"matchLabels": {"app": "my-awesome-app"}},
            "strategy": {"blueGreen": bg},
            "template": {"metadata": {"labels": {"app": "my-awesome-app"}}},
        },
        "status": {
            "phase": "Paused" if paused else "Healthy",
            "stableRS": stable,
            "currentPodHash": current,
            "pauseConditions": [{"reason": "BlueGreenPause"}] if paused else None,
        },
    }
    out = [ro]
    for rev, h in enumerate(sorted({stable, current}), start=1):
        out.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": meta(f"my-awesome-app-{h}", ns, labels={"rollouts-pod-template-hash": h},
                                     annotations={"rollout.argoproj.io/revision": str(rev)},
                                     ownerReferences=[{"kind": "Rollout", "name": "my-awesome-app"}]),
                    "spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"registry/hello:{h}"}]}}}})  # fmt: skip
        out.append(pod(f"my-awesome-app-{h}-x", ns, {"app": "my-awesome-app", "rollouts-pod-template-hash": h}))
    out.append({"apiVersion": "v1", "kind": "Service", "metadata": meta("my-awesome-app", ns),
                "spec": {"selector": {"app": "my-awesome-app", "rollouts-pod-template-hash": stable}}})  # fmt: skip
    preview_selector = {"app": "my-awesome-app"} | ({"rollouts-pod-template-hash": current} if preview else {})
    out.append({"apiVersion": "v1", "kind": "Service", "metadata": meta("my-awesome-app-preview", ns),
                "spec": {"selector": preview_selector}})  # fmt: skip
    return out


def ci(workflow_phase: str | None = None, node_message: str = "") -> list[Obj]:
    out: list[Obj] = [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "EventSource",
            "metadata": meta("ci", "ci"),
            "spec": {"github": {"ci": {"webhook": {"port": "12000", "endpoint": "/push"}}}},
        },
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor", "metadata": meta("ci", "ci"), "spec": {}},
        pod("ci-eventsource-x", "ci", {"eventsource-name": "ci"}),
        pod("ci-sensor-x", "ci", {"sensor-name": "ci"}),
    ]
    if workflow_phase:
        nodes = (
            {"n1": {"name": "ci-abc.clone", "type": "Pod", "phase": "Failed", "message": node_message}}
            if node_message
            else {}
        )
        out.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": meta("ci-abc", "ci"),
                    "status": {"phase": workflow_phase, "nodes": nodes}})  # fmt: skip
    return out


def read(objects: list[Obj], logs: dict[str, str] | None = None) -> list[progress.Step]:
    b = Behaviour(objects, logs or {})
    with serving(b) as url:
        target = kubeconfig.Target("p", url, "test", token=TOKEN)
        with ReadOnlyKube(target) as kube:
            snap = snapshot.read("p", kube)
    assert set(b.methods) == {"GET"}, b.methods  # read-only
    return progress.steps(snap)


def by_key(steps: list[progress.Step]) -> dict[str, progress.Step]:
    out: dict[str, progress.Step] = {}
    for s in steps:
        out.setdefault(s.key, s)
    return out


def test_an_empty_cluster_has_not_started() -> None:
    steps = read([])
    assert {s.reach for s in steps} == {Reach.NOT_YET}
    assert progress.furthest(steps) == "not started"


def test_the_stack_alone_is_reached_with_versions_against_both_pins() -> None:
    steps = by_key(read(stack("current")))
    for comp in ("argo-cd", "argo-rollouts", "argo-workflows", "argo-events", "ingress", "cert-manager"):
        assert steps[f"install:{comp}"].reach is Reach.REACHED, steps[f"install:{comp}"].detail
    assert steps["install:ingress"].detail.startswith("traefik v3.6.12")  # Traefik in ingress-nginx's place (D37)
    assert (
        "current: =" in steps["install:argo-cd"].detail and "tutorial-2023: v2.6.3" in steps["install:argo-cd"].detail
    )
    assert steps["app"].reach is Reach.NOT_YET


def test_the_uis_through_the_api_servers_proxy() -> None:
    objs = stack()
    assert by_key(read(objs))["ui:Argo CD UI"].reach is Reach.STUCK  # no argocd-server Service to reach
    objs += [
        {"apiVersion": "v1", "kind": "Service", "metadata": meta(n, ns)}
        for ns, n in (("argocd", "argocd-server"), ("argo", "argo-server"))
    ]
    steps = by_key(read(objs))
    assert steps["ui:Argo CD UI"].reach is Reach.REACHED and "answered 200" in steps["ui:Argo CD UI"].detail
    assert steps["ui:Argo Workflows UI"].reach is Reach.REACHED


def test_a_broken_controller_is_stuck_with_its_pod_problem() -> None:
    objs = stack()
    objs.append(pod("argo-rollouts-controller-def", "argo-rollouts", {"app": "x"}, waiting="ImagePullBackOff"))
    s = by_key(read(objs))["install:argo-rollouts"]
    assert s.reach is Reach.STUCK and "ImagePullBackOff" in s.detail


def test_as_written_stuck_at_d10_from_argo_cds_condition() -> None:
    cond = {"type": "ComparisonError", "message": "Failed to load target state: rpc error: kustomize build failed: "
            "evalsymlink failure on '/tmp/x/service_preview.yaml' : lstat service_preview.yaml: no such file"}  # fmt: skip
    s = by_key(read([*stack(), application([cond], sync="Unknown", health="Healthy")]))["app"]
    assert s.reach is Reach.STUCK and s.defect == "D10" and s.fix
    assert "service_preview.yaml" in s.detail


def test_an_application_stuck_for_another_reason_names_no_defect() -> None:
    cond = {"type": "ComparisonError", "message": "repository not accessible: authentication required"}
    s = by_key(read([*stack(), application([cond], sync="Unknown")]))["app"]
    assert s.reach is Reach.STUCK and s.defect is None and "authentication required" in s.detail


def test_the_sensor_log_shows_d18() -> None:
    line = (
        '{"level":"error","msg":"failed to execute trigger","error":"template: :1:14: executing '
        '\\"\\" at <.Input.body.push.changes>: error calling index: index of untyped nil"}'
    )
    logs = {"ci/ci-sensor-x": line}
    s = by_key(read([*stack(), application(), *ci()], logs))["sensor"]
    assert s.reach is Reach.STUCK and s.defect == "D18"


def test_a_failed_workflow_shows_d21_from_its_node_message() -> None:
    msg = "Error (exit code 1): failed to load artifacts: ssh: no key found"
    s = by_key(read([*stack(), application(), *ci("Failed", msg)]))["workflow"]
    assert s.reach is Reach.STUCK and s.defect == "D21" and "ssh: no key found" in s.detail


def test_no_preview_service_is_d13() -> None:
    steps = by_key(read([*stack(), application(health="Healthy"), *rollout(False, False, "aaa", "aaa")]))
    assert steps["rollout"].reach is Reach.REACHED
    assert steps["preview"].reach is Reach.STUCK and steps["preview"].defect == "D13"


def test_paused_on_the_preview_then_promoted() -> None:
    paused = by_key(
        read([*stack(), application(health="Suspended"), *rollout(True, True, "aaa", "bbb"), *ci("Succeeded")])
    )
    assert paused["preview"].reach is Reach.REACHED and "paused" in paused["preview"].detail
    assert paused["promoted"].reach is Reach.NOT_YET and "Resume" in paused["promoted"].detail
    assert paused["workflow"].reach is Reach.REACHED
    done = by_key(read([*stack(), application(), *rollout(True, False, "bbb", "bbb"), *ci("Succeeded")]))
    # a promoted Rollout keeps the old ReplicaSet (scaled down) until it is cleaned up: two revisions
    assert done["promoted"].reach in (Reach.REACHED, Reach.NOT_YET)


def test_promoted_after_two_revisions() -> None:
    objs = [*stack(), application(), *rollout(True, False, "bbb", "bbb"), *ci("Succeeded")]
    objs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": meta("my-awesome-app-aaa", "my-awesome-app", labels={"rollouts-pod-template-hash": "aaa"},
                                  annotations={"rollout.argoproj.io/revision": "1"},
                                  ownerReferences=[{"kind": "Rollout", "name": "my-awesome-app"}]),
                 "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry/hello:aaa"}]}}}})  # fmt: skip
    for o in objs:
        if o["kind"] == "ReplicaSet" and o["metadata"]["name"].endswith("bbb"):
            o["metadata"]["annotations"]["rollout.argoproj.io/revision"] = "2"
    s = by_key(read(objs))["promoted"]
    assert s.reach is Reach.REACHED and "revision 2" in s.detail


# -- bad clusters: one clear line each, bounded, nothing created -------------------------------------------
def run_cli(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main([*args, "--quiet"])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


def test_unreachable_server_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kc = write_kubeconfig(tmp_path / "alice.yaml", "https://127.0.0.1:1")
    start = time.monotonic()
    code, out, _err = run_cli(tmp_path, [str(kc)], capsys)
    assert code == 1 and time.monotonic() - start < 10
    [line] = [x for x in out.splitlines() if x.startswith("alice: cluster")]
    assert f"kubeconfig {kc}: server https://127.0.0.1:1 does not answer (Connection refused)" in line
    assert "Traceback" not in out


def test_a_hanging_server_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with hanging() as url:
        kc = write_kubeconfig(tmp_path / "bob.yaml", url)
        start = time.monotonic()
        code, out, _err = run_cli(tmp_path, [str(kc), "--deadline", "4"], capsys)
    assert code == 1 and time.monotonic() - start < 12
    assert "got no answer" in out or "deadline" in out


def test_refused_credentials_401(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serving(Behaviour(status=401)) as url:
        kc = write_kubeconfig(tmp_path / "carol.yaml", url)
        code, out, _err = run_cli(tmp_path, [str(kc)], capsys)
    assert code == 1 and "401 Unauthorized" in out


def test_rbac_limited_403_reads_what_it_may(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = Behaviour([*stack(), application()], forbidden=("/workflows", "/sensors"))
    with serving(b) as url:
        kc = write_kubeconfig(tmp_path / "dave.yaml", url)
        _code, out, _err = run_cli(tmp_path, [str(kc), "--format", "json"], capsys)
    rows = json.loads(out)
    steps = {s["key"]: s for s in rows[0]["steps"]}
    assert steps["install:argo-cd"]["reach"] == "reached" and steps["app"]["reach"] == "reached"
    assert steps["workflow"]["reach"] == "not read" and "403" in steps["workflow"]["detail"]
    assert any("403" in p for p in rows[0]["problems"])
    assert set(b.methods) == {"GET"}


def test_a_bad_kubeconfig_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "eve.yaml").write_text("not: [a kubeconfig")
    plugin = tmp_path / "frank.yaml"
    plugin.write_text(json.dumps({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                                  "clusters": [{"name": "c", "cluster": {"server": "https://x"}}],
                                  "users": [{"name": "u", "user": {"exec": {"command": "aws"}}}]}))  # fmt: skip
    code, out, _err = run_cli(tmp_path, [str(tmp_path)], capsys)
    assert code == 1
    assert "eve: cluster: kubeconfig" in out and "exec plugin" in out
    assert cli.main([str(tmp_path / "nowhere")]) == 2


def test_many_participants_one_board(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    states = {
        "p1-stack": stack(),
        "p2-d10": [
            *stack(),
            application([{"type": "ComparisonError", "message": "lstat ingress_preview.yaml: no such file"}]),
        ],
        "p3-preview": [*stack(), application(health="Suspended"), *rollout(True, True, "aaa", "bbb"), *ci("Succeeded")],
    }
    folder = tmp_path / "kubeconfigs"
    folder.mkdir()
    servers = [serving(Behaviour(objs)) for objs in states.values()]
    urls = [s.__enter__() for s in servers]
    try:
        for name, url in zip(states, urls, strict=True):
            write_kubeconfig(folder / f"{name}.yaml", url)
        code, out, _ = run_cli(tmp_path, [str(folder)], capsys)
        assert code == 1  # p2 is stuck
        assert "p2-d10: the Argo CD Application synced and healthy: stuck here:" in out and "[D10]" in out
        page = tmp_path / "board.html"
        assert cli.main([str(folder), "--format", "html", "-o", str(page), "--quiet"]) == 1
    finally:
        for s in servers:
            s.__exit__(None, None, None)
    text = page.read_text()
    assert text.count('<tr><td class="p">') == 3 and "stuck here D10" in text and "<script" not in text


def test_the_board_renders_every_format() -> None:
    rows = [board.Row("a", "x", [progress.Step("app", "Argo CD", "t", Reach.STUCK, "why", {}, "D10", "fix it")])]
    assert "a: t: stuck here: why [D10] fix: fix it" in board.text(rows)
    assert "| a | stuck here (D10) |" in board.markdown(rows)
    assert json.loads(board.as_json(rows))[0]["steps"][0]["defect"] == "D10"
    assert 'class="stuck"' in board.html_page(rows)


def test_the_html_board_in_a_real_browser(tmp_path: Path) -> None:
    """Rendered by headless Chromium: the DOM it builds has a row per participant and the stuck cell with its
    defect, and the screenshot paints stuck cells red and reached ones green (the page's own CSS, no script)."""
    from tests.browser import colours, render

    rows = [
        board.Row(
            "alice",
            "x",
            [
                progress.Step("app", "Argo CD", "the Application", Reach.REACHED, "synced"),
                progress.Step("wf", "CI", "the Workflow", Reach.NOT_YET, "none"),
            ],
        ),
        board.Row(
            "bob",
            "y",
            [
                progress.Step("app", "Argo CD", "the Application", Reach.STUCK, "kustomize", {}, "D10", "same names"),
                progress.Step("wf", "CI", "the Workflow", Reach.NOT_YET, "none"),
            ],
        ),
    ]
    page = tmp_path / "board.html"
    page.write_text(board.html_page(rows))
    dom = render(page, tmp_path / "board.png")
    assert dom.count('<td class="p">') == 2 and "stuck here D10" in dom and "1 on track, 1 stuck" in dom
    seen = colours(tmp_path / "board.png")
    assert seen[(0xF6, 0xB8, 0xB8)] > 500 and seen[(0xC8, 0xEF, 0xC8)] > 500, seen.most_common(6)


def test_the_probe_posts_once_follows_and_removes_what_it_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--probe: one GitHub push (the last Workflow's commit) to the EventSource through the API server's service
    proxy, the Workflow it starts followed, then removed; every other request a GET."""
    from argo_tutorial_suite.live import probe

    monkeypatch.setattr(probe, "FOLLOW_SECONDS", 10.0)
    last = ci("Succeeded")
    last[-1]["spec"] = {
        "templates": [{"inputs": {"artifacts": [{"git": {"revision": "652a5c0652de59cfa6711708dc9c09f6279d9231"}}]}}]
    }
    b = Behaviour([*stack(), application(), *last], trigger="Succeeded")
    with serving(b) as url:
        kc = write_kubeconfig(tmp_path / "gina.yaml", url)
        _code, out, _err = run_cli(tmp_path, [str(kc), "--probe"], capsys)
    assert [m for m in b.methods if m != "GET"] == ["POST", "DELETE"]
    [(path, body)] = b.posted
    assert path == "/api/v1/namespaces/ci/services/ci-eventsource-svc:12000/proxy/push"
    assert json.loads(body)["after"] == "652a5c0652de59cfa6711708dc9c09f6279d9231"
    assert "created (by the Sensor): Workflow ci/probe-1: Succeeded" in out
    assert "removed: Workflow ci/probe-1 (the probe's)" in out
    assert not [o for o in b.objects if o["metadata"]["name"] == "probe-1"]


def test_an_issuer_that_cannot_reach_lets_encrypt_is_d15() -> None:
    """cert-manager's Ready=False message, and the catalog's ACME-UNREACHABLE rule on the live objects: a public
    ACME CA for placeholder hosts."""
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": meta("letsencrypt", "ci"),
              "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "email": "you@example.com"}},
              "status": {"conditions": [{"type": "Ready", "status": "False",
                                         "message": "Failed to register ACME account: no such host"}]}}  # fmt: skip
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": meta("ci", "ci", annotations={"cert-manager.io/issuer": "letsencrypt"}),
               "spec": {"tls": [{"hosts": ["your.webhook.domain.com"], "secretName": "letsencrypt-tls"}]}}  # fmt: skip
    s = by_key(read([*stack(), issuer, ingress]))["issuers"]
    assert s.reach is Reach.STUCK and s.defect == "D15" and "no such host" in s.detail and s.fix


def test_two_ingresses_sharing_a_tls_secret_is_d14() -> None:
    """cert-manager makes one Certificate per secret: the other host has none; the catalog's
    INGRESS-TLS-SECRET-SHARED on the live Ingresses names D14."""
    ns = "my-awesome-app"

    def ingress(name: str, host: str) -> Obj:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta(name, ns),
                "spec": {"tls": [{"hosts": [host], "secretName": "letsencrypt-tls"}]}}  # fmt: skip

    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta("letsencrypt-tls", ns),
            "spec": {"secretName": "letsencrypt-tls", "dnsNames": ["app.example"]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}  # fmt: skip
    objs = [
        *stack(),
        ingress("my-awesome-app", "app.example"),
        ingress("my-awesome-app-preview", "preview.example"),
        cert,
    ]
    s = by_key(read(objs))["certificates"]
    assert s.reach is Reach.STUCK and s.defect == "D14" and "preview.example" in s.detail and s.fix
