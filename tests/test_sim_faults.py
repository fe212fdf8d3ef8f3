"""Fault injection on the simulated backend: the suite must fail fast with the right diagnosis.

Each test starts its own simulated world (about a second) with one fault, plays the tutorial up to the
step the fault hits, and checks how the suite reports it. Also: nothing is left behind afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from argo_tutorial_suite.backends.sim.api_semantics import ApiError
from argo_tutorial_suite.backends.sim.backend import SimBackend, start_sim
from argo_tutorial_suite.backends.sim.store import Res
from argo_tutorial_suite.backends.sim.world import Faults, Settings
from argo_tutorial_suite.flow import Tutorial
from argo_tutorial_suite.paths import ROOT
from argo_tutorial_suite.tutorial.profiles import Profile
from argo_tutorial_suite.upstream import Upstream
from argo_tutorial_suite.verdicts.steps import FAILED, Steps
from argo_tutorial_suite.verdicts.waits import Seen, WaitFailed, expect

Factory = Callable[..., tuple[SimBackend, Tutorial]]


@pytest.fixture
def sim(upstream: Upstream, tmp_path: Path) -> Iterator[Factory]:
    started: list[SimBackend] = []

    def make(faults: Faults | None = None, settings: Settings | None = None) -> tuple[SimBackend, Tutorial]:
        profile = Profile.load("corrected", "current")
        b = start_sim(profile, upstream, tmp_path / "artifacts", settings, faults)
        started.append(b)
        steps = Steps("fault", profile.id, b.label)
        return b, Tutorial.start(b, profile, steps, tmp_path / "work")

    yield make
    for b in started:
        b.close()


def prepared(t: Tutorial) -> Tutorial:
    t.given().code_pushed("v1").gitops_pushed().application_created().ci_applied()
    return t


def test_failing_workflow_step_fails_the_wait_at_once(sim: Factory) -> None:
    _, t = sim(Faults(fail_templates={"image": "simulated fault: the registry refused the push"}))
    prepared(t).then().eventsource_listening().sensor_subscribed()
    t.when().webhook_fired("github", "v1")
    start = time.monotonic()
    with pytest.raises(WaitFailed) as e:
        t.then().workflow_started().workflow_succeeded()
    assert time.monotonic() - start < 15, "a Failed workflow must stop the wait at once"
    assert not e.value.timed_out and "the registry refused the push" in str(e.value)
    assert t.steps.records[-1].verdict == FAILED and "image" in t.steps.records[-1].detail


def test_component_that_never_gets_ready_is_named(sim: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGO_SUITE_TIMEOUT_FACTOR", "0.01")  # install: 600 s -> 6 s
    _, t = sim(Faults(never_ready={"ci"}))
    prepared(t)
    with pytest.raises(WaitFailed) as e:
        t.then().eventsource_listening()
    assert e.value.timed_out
    # the EventBus is up, so the wait names the EventSource's pod, before any /health budget is spent
    assert "the EventSource pod Ready" in str(e.value) and "ci-eventsource-" in str(e.value), str(e.value)


def test_webhook_not_listening_yet_is_waited_for(sim: Factory) -> None:
    _, t = sim(Faults(webhook_late=2.0))
    prepared(t)
    start = time.monotonic()
    t.then().eventsource_listening()
    assert time.monotonic() - start >= 2.0
    assert t.steps.records[-1].verdict == "passed"


def test_slow_sync_is_waited_for_with_progress(sim: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    _, t = sim(Faults(sync_delay=2.0))
    prepared(t).then().eventsource_listening().sensor_subscribed()
    t.when().webhook_fired("github", "v1")
    t.progress.every = 0.0
    t.progress.after = 0.0  # (by default a wait says nothing for its first 5 s)
    t.progress.stream = sys.stderr  # (by default the live sink: the terminal reporter, past pytest's capture)
    t.then().workflow_started().workflow_succeeded().app_synced()
    assert t.steps.records[-1].verdict == "passed"
    assert "waiting for Application my-awesome-app synced" in capsys.readouterr().err


def test_api_error_fails_fast_with_the_status(sim: Factory) -> None:
    def fault(verb: str, res: Res, name: str) -> ApiError | None:
        return (
            ApiError(500, "InternalError", "simulated fault: etcd unavailable")
            if res.kind == "Rollout" and verb == "get"
            else None
        )

    _, t = sim(Faults(api_error=fault))
    start = time.monotonic()
    with pytest.raises(ApiException) as e:
        t.then().rollout_healthy()
    assert time.monotonic() - start < 5
    assert e.value.status == 500 and "etcd unavailable" in str(e.value.body)


def _ours(where: str = "argo-sim-") -> list[str]:
    """The processes whose command line names ``where`` (a run's own directory)."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if where in line and "ps -ww" not in line]


def test_close_leaves_no_process_or_directory(sim: Factory) -> None:
    b, t = sim()
    prepared(t).then().eventsource_listening()
    root = b.procs.root
    assert any(str(root) in line for line in _ours())
    b.close()
    assert not [line for line in _ours() if str(root) in line]
    assert not root.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_nothing_behind(sig: int, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A run stopped mid-scenario leaves no process and no directory. Only this run's own processes are counted:
    its temporary directory is its own (TMPDIR), so a run beside it (another xdist worker) is not counted."""
    # short: the sim's unix sockets live under it (a socket path has at most 107 bytes)
    tmp = Path(tempfile.mkdtemp(prefix="ast-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "scenarios/test_tutorial.py", "--backend=sim", "--profile", "corrected",
         "--pins", "current", "-p", "no:cacheprovider", "-q", "--artifacts", str(tmp_path / "artifacts")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(tmp)},
        # a run started in the background by a non-interactive shell inherits SIGINT ignored: the run under test
        # gets the default disposition, as a terminal's Ctrl-C finds it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        expect(
            lambda: (
                Seen.ok("app pods up")
                if [line for line in _ours(str(tmp)) if "podnet.py" in line]
                else Seen.failed(f"the run ended with {proc.returncode}")
                if proc.poll() is not None
                else Seen.pending("no app pod yet")
            ),
            "the sim run's app pods started",
            180,
        )
    except WaitFailed:
        proc.kill()
        pytest.fail(f"the app pods never started:\n{proc.communicate()[0].decode()[-3000:]}")
    proc.send_signal(sig)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode != 0
    # the run's teardown has returned; its children may still be exiting: wait for them, bounded
    expect(
        lambda: Seen.pending("still running", left=_ours(str(tmp))) if _ours(str(tmp)) else Seen.ok("none left"),
        f"no process of the run left after {signal.Signals(sig).name}",
        10,
    )
    assert not list(tmp.glob("argo-sim-*")), f"temporary directory left behind\n{out[-2000:]}"


def test_a_dead_runs_directory_is_swept(tmp_path: Path) -> None:
    import tempfile

    from argo_tutorial_suite.backends.sim.procs import sweep

    d = Path(tempfile.mkdtemp(prefix="argo-sim-test-sweep-"))
    (d / "owner.pid").write_text("999999999")
    assert d in sweep("argo-sim-test-sweep-") and not d.exists()
    alive = Path(tempfile.mkdtemp(prefix="argo-sim-test-sweep-"))
    (alive / "owner.pid").write_text(str(os.getpid()))
    assert sweep("argo-sim-test-sweep-") == [] and alive.exists()
    shutil.rmtree(alive)


def test_argocd_api_follows_the_pinned_swagger(sim: Factory) -> None:
    """Requests and responses of the simulated argocd-server are checked against assets/swagger.json."""
    import httpx

    b, t = sim()
    prepared(t)
    base = b.argocd.url
    with httpx.Client(verify=False, timeout=10) as c:
        assert (
            c.post(
                f"{base}/api/v1/session", content=b'{"username":"admin"}', headers={"Content-Type": "text/plain"}
            ).status_code
            == 415
        )
        bad = c.post(f"{base}/api/v1/session", json={"username": "admin", "password": "wrong-password"})
        assert bad.status_code == 401 and bad.json()["code"] == 16
        token = c.post(f"{base}/api/v1/session", json={"username": "admin", "password": b.argocd_password()}).json()[
            "token"
        ]
        h = {"Authorization": f"Bearer {token}"}
        assert c.get(f"{base}/api/v1/applications/my-awesome-app").status_code == 401
        app = c.get(f"{base}/api/v1/applications/my-awesome-app", headers=h)
        assert app.status_code == 200 and app.json()["metadata"]["name"] == "my-awesome-app"
        assert (
            c.post(f"{base}/api/v1/applications/my-awesome-app/sync", json={"revision": "HEAD"}, headers=h).status_code
            == 200
        )
        busy = c.post(f"{base}/api/v1/applications/my-awesome-app/sync", json={"revision": "HEAD"}, headers=h)
        assert busy.status_code in (200, 400)
        assert (
            c.post(f"{base}/api/v1/applications/my-awesome-app/sync", json={"prune": "yes"}, headers=h).status_code
            == 400
        )
    assert b.argocd.schema_errors == [], b.argocd.schema_errors
    assert ("POST", "/api/v1/session", 200) in b.argocd.requests


def test_an_app_that_stays_out_of_sync_shows_argocds_diff(sim: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    _, t = sim()
    prepared(t).then().eventsource_listening().sensor_subscribed()
    t.when().webhook_fired("github", "v1")
    t.then().workflow_started().workflow_succeeded().app_synced()
    ro = t.rollout() or {}
    image = ro["spec"]["template"]["spec"]["containers"][0]["image"]
    containers = [{**ro["spec"]["template"]["spec"]["containers"][0], "image": "drifted/by-hand:1"}]
    t.kube.patch(
        "argoproj.io/v1alpha1",
        "Rollout",
        "my-awesome-app",
        {"spec": {"template": {"spec": {"containers": containers}}}},
        "my-awesome-app",
    )
    # a user's Refresh (the twin compares on its resync period and on this annotation)
    t.kube.patch(
        "argoproj.io/v1alpha1",
        "Application",
        "my-awesome-app",
        {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
        "argocd",
    )
    expect(
        lambda: (
            Seen.pending("refresh asked")
            if "argocd.argoproj.io/refresh" in ((t.app() or {}).get("metadata", {}).get("annotations") or {})
            else Seen.ok("refreshed")
        ),
        "the twin's refresh",
        30,
    )
    monkeypatch.setenv("ARGO_SUITE_TIMEOUT_FACTOR", "0.03")  # sync: 180 s -> 5.4 s
    with pytest.raises(WaitFailed) as e:
        t.then().app_synced()
    assert "out of sync: Rollout my-awesome-app/my-awesome-app" in str(e.value)
    diff = e.value.evidence["argocd diff"]["Rollout my-awesome-app/my-awesome-app"]
    assert "-      - image: drifted/by-hand:1" in diff and f"+      - image: {image}" in diff, diff
    assert t.steps.records[-1].evidence["argocd diff"]
