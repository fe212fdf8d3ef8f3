"""Run an install plan against the kind cluster, one outcome per command, and wait on each component.

As-written: every command of the tutorial's script runs as written (``ubectl`` included), in a
shell bound to the cluster's kubeconfig; floating refs (``stable``, ``latest``) are resolved with the
pins and the resolution recorded. Backgrounded port-forwards (``... &``) are not started: the suite's
own port-forward checks the same targets. A failing command does not stop the script, exactly like
the tutorial's script without ``set -e`` (D8); each failure is matched to the static finding that
predicted it (object ``install:<step>#<n>``), so the verdict says "known defect Dn" or "failed".

Corrected: the components' steps run concurrently (one thread each), then each component is
waited on with its readiness rule from :mod:`argo_tutorial_suite.probes.readiness`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from argo_tutorial_suite.proc import Runner
from argo_tutorial_suite.tutorial.installplan import Command, InstallPlan, classify_url, namespaces_named
from argo_tutorial_suite.verdicts.steps import FAILED, NOT_VERIFIED, defects_shown, known

NO_LOCAL_COPY = "not verified here: no local copy of this URL, and a run with no download cannot fetch it"
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
BACKGROUND = re.compile(r"&\s*$")


@dataclass
class CommandOutcome:
    step: str
    index: int
    run: str
    status: str  # ok, failed, not-run
    returncode: int | None = None
    seconds: float = 0.0
    output: str = ""
    note: str = ""
    resolved: dict[str, str] = field(default_factory=dict)  # floating ref -> version

    @property
    def object(self) -> str:
        """The static finding object for this command (``install:<title>#<index>``)."""
        return f"install:{self.step}#{self.index}"


@dataclass
class StepOutcome:
    title: str
    commands: list[CommandOutcome]
    seconds: float

    @property
    def status(self) -> str:
        if any(c.status == "failed" for c in self.commands):
            return "failed"
        return "ok"


def dumps_outcomes(outcomes: list[StepOutcome]) -> str:
    return json.dumps([dataclasses.asdict(o) for o in outcomes])


def loads_outcomes(text: str) -> list[StepOutcome]:
    out = []
    for step in json.loads(text):
        cmds = [CommandOutcome(**c) for c in step["commands"]]
        out.append(StepOutcome(step["title"], cmds, float(step["seconds"])))
    return out


def plan_hash(*plans: InstallPlan | None, extra: object = None) -> str:
    """Identity of what an install ran (the plans' steps and the pins), kept with its outcomes on the cluster."""
    data = [None if p is None else dataclasses.asdict(p) for p in plans]
    return hashlib.sha256(json.dumps([data, extra], sort_keys=True, default=str).encode()).hexdigest()[:16]


def resolve_floating(run: str, resolve: Callable[[str, str | None], str | None]) -> tuple[str, dict[str, str]]:
    """Replace a floating ref in an install URL by its pinned resolution; return (command, {ref: version})."""
    out, resolved = run, {}
    for url in re.findall(r"https?://\S+", run):
        component, ref, _ = classify_url(url)
        if component and ref in ("stable", "latest", "master", "main"):
            version = resolve(component, ref)
            if version and version != ref:
                if "/releases/latest/download/" in url:
                    new = url.replace("/releases/latest/download/", f"/releases/download/{version}/")
                else:
                    new = url.replace(f"/{ref}/", f"/{version}/", 1)
                out = out.replace(url, new)
                resolved[f"{component}@{ref}"] = version
    return out, resolved


def shell_line(cmd: Command, assignments: list[str], preamble: list[str]) -> str | None:
    """The bash text for one command, or None when it is a backgrounded process the suite replaces."""
    if BACKGROUND.search(cmd.run):
        return None
    return "\n".join([*preamble, *assignments, cmd.run])


def command_env(kubeconfig: Path, bindir: Path | None, path: str) -> dict[str, str]:
    """The environment of every install command: the cluster's kubeconfig, and ``bindir`` (which holds a
    ``kubectl`` link to the resolved binary: ``--kind-kubectl-bin``, ``$KUBECTL``, the offline build) first
    on PATH, so the tutorial's ``kubectl ...`` lines run the binary the suite checked."""
    env = {"KUBECONFIG": str(kubeconfig)}
    if bindir is not None:
        env["PATH"] = f"{bindir}:{path}"
    return env


@contextmanager
def kubectl_dir(kubectl: str | None) -> Iterator[Path | None]:
    """A temporary folder whose ``kubectl`` is ``kubectl`` (whatever its file name), removed afterwards."""
    if not kubectl:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="argo-suite-kubectl-") as d:
        (Path(d) / "kubectl").symlink_to(Path(kubectl).resolve())
        yield Path(d)


@dataclass(frozen=True)
class Offline:
    """How a run with no download changes the plan: ``localize(run) -> (run, note)`` points install URLs at local
    copies (:mod:`argo_tutorial_suite.backends.kind.install_sources`); ``skip(step title) -> reason`` leaves out a step whose images were
    not built here, so it reads "not verified here" instead of timing out on image pulls."""

    localize: Callable[[str], tuple[str, str, list[str]]]
    skip: Callable[[str], str | None]
    skip_command: Callable[[str], str | None] = lambda run: None


def run_step(
    title: str,
    commands: list[Command],
    preamble: list[str],
    runner: Runner,
    env_kubeconfig: Path,
    resolve: Callable[[str, str | None], str | None],
    timeout: float,
    bindir: Path | None = None,
    offline: Offline | None = None,
    stop_when: Callable[[Awaited], str | None] | None = None,
) -> StepOutcome:
    """``stop_when``: for a command that waits on the cluster (``kubectl rollout status``, ``kubectl wait``), asked
    while it runs about what that command waits on; a reason stops it at once (that can no longer happen)."""
    start = time.monotonic()
    outcomes: list[CommandOutcome] = []
    assignments: list[str] = []
    reason = offline.skip(title) if offline is not None else None
    if reason is not None:
        skipped = [CommandOutcome(title, i, c.run, "not-run", note=reason) for i, c in enumerate(commands)]
        return StepOutcome(title, skipped, 0.0)
    for i, cmd in enumerate(commands):
        text, resolved = resolve_floating(cmd.run, resolve)
        note = ""
        if offline is not None:
            left_out = offline.skip_command(text)
            if left_out is not None:
                outcomes.append(CommandOutcome(title, i, cmd.run, "not-run", note=left_out, resolved=resolved))
                continue
            text, note, remote = offline.localize(text)
            if remote:
                why = f"{NO_LOCAL_COPY}: {', '.join(remote)}"
                outcomes.append(CommandOutcome(title, i, cmd.run, "not-run", note=why, resolved=resolved))
                continue
        script = shell_line(Command(text), assignments, preamble)
        if script is None:
            outcomes.append(
                CommandOutcome(
                    title,
                    i,
                    cmd.run,
                    "not-run",
                    note="backgrounded port-forward: the suite's own port-forward checks this target",
                )
            )
            continue
        env = command_env(env_kubeconfig, bindir, os.environ.get("PATH", ""))
        on = awaited(text) if stop_when is not None else None
        check = (lambda ask=stop_when, on=on: ask(on)) if stop_when is not None and on is not None else None
        ran = runner.run(["bash", "-c", script], timeout=timeout, check=False, env_extra=env, stop_when=check)
        status = "ok" if ran.returncode == 0 else "failed"
        out = (ran.stdout + ran.stderr).strip()[-1500:]
        outcomes.append(
            CommandOutcome(title, i, cmd.run, status, ran.returncode, ran.seconds, out, note=note, resolved=resolved)
        )
        if ASSIGNMENT.match(cmd.run) and status == "ok":
            assignments.append(cmd.run)
    return StepOutcome(title, outcomes, time.monotonic() - start)


_SEGMENTS = re.compile(r"\|\|?|&&|;")
_FLAG_WITH_VALUE = {"-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s", "--server"}
# the pods behind each kind ``rollout status`` follows (their owner's kind)
_POD_OWNERS = {"deployment": "ReplicaSet", "deployments": "ReplicaSet", "deploy": "ReplicaSet",
               "statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
               "daemonset": "DaemonSet", "daemonsets": "DaemonSet", "ds": "DaemonSet"}  # fmt: skip


@dataclass(frozen=True)
class Awaited:
    """What a waiting command waits on: pods in ``namespace`` (None: every namespace), owned by ``owner`` kinds
    (empty: any pod)."""

    namespace: str | None
    owners: frozenset[str] = frozenset()


def awaited(line: str) -> Awaited | None:
    """What a shell line's kubectl ``rollout status`` or ``wait`` waits on (the first such command), else None:
    its namespace (``-n``/``--namespace``, else the context's, ``default``; ``-A`` every one) and, for ``rollout
    status KIND``, the kind of the pods' owner."""
    for segment in _SEGMENTS.split(line):
        words = segment.split()
        if not words or not words[0].endswith("kubectl"):
            continue
        named = namespaces_named(words)
        every = any(w in ("-A", "--all-namespaces") for w in words)
        namespace = None if every else (named[-1] if named else "default")
        sub: list[str] = []
        i = 1
        while i < len(words):  # kubectl's subcommand: the words that are neither flags nor their values
            if words[i] in _FLAG_WITH_VALUE:
                i += 2
                continue
            if not words[i].startswith("-"):
                sub.append(words[i])
            i += 1
        if sub[:1] == ["wait"]:
            return Awaited(namespace)
        if sub[:2] == ["rollout", "status"]:
            kind = sub[2].split("/")[0].split(".")[0].lower() if len(sub) > 2 else ""
            return Awaited(namespace, frozenset({_POD_OWNERS[kind]}) if kind in _POD_OWNERS else frozenset())
    return None


def run_plan(
    plan: InstallPlan,
    runner: Runner,
    kubeconfig: Path,
    resolve: Callable[[str, str | None], str | None],
    concurrent: bool,
    timeout: float = 900,
    kubectl: str | None = None,
    offline: Offline | None = None,
    stop_when: Callable[[Awaited], str | None] | None = None,
) -> list[StepOutcome]:
    """Run every step; the component steps in parallel when ``concurrent`` (the last, UI step after them)."""
    with kubectl_dir(kubectl) as bindir:
        return _run_plan(plan, runner, kubeconfig, resolve, concurrent, timeout, bindir, offline, stop_when)


def _run_plan(
    plan: InstallPlan,
    runner: Runner,
    kubeconfig: Path,
    resolve: Callable[[str, str | None], str | None],
    concurrent: bool,
    timeout: float,
    bindir: Path | None,
    offline: Offline | None,
    stop_when: Callable[[Awaited], str | None] | None = None,
) -> list[StepOutcome]:
    preamble = [line for line in plan.preamble if not line.startswith("#")]

    def go(step_index: int) -> StepOutcome:
        s = plan.steps[step_index]
        return run_step(s.title, s.commands, preamble, runner, kubeconfig, resolve, timeout, bindir, offline, stop_when)

    if not concurrent:
        return [go(i) for i in range(len(plan.steps))]
    component_steps = [i for i, s in enumerate(plan.steps) if s.title.startswith("Install start")]
    rest = [i for i in range(len(plan.steps)) if i not in component_steps]
    pool = ThreadPoolExecutor(max_workers=max(1, len(component_steps)))
    try:
        results = list(pool.map(go, component_steps))
    except BaseException:
        # Ctrl-C or SIGTERM: kill the running kubectl commands now, do not wait for the threads to finish them
        runner.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results + [go(i) for i in rest]


def not_installed(outcomes: list[StepOutcome]) -> dict[str, str]:
    """component -> why: the component steps (``Install start <component>``) of which no command ran."""
    out: dict[str, str] = {}
    for step in outcomes:
        if (
            step.title.startswith("Install start ")
            and step.commands
            and all(c.status == "not-run" for c in step.commands)
        ):
            out[step.title.removeprefix("Install start ").strip()] = step.commands[0].note
    return out


def not_applied(outcomes: list[StepOutcome]) -> dict[str, str]:
    """component -> why: the component steps whose ``kubectl apply`` of the component did not run (its images
    not built here, no local copy of its manifest): nothing of it is in the cluster to wait for."""
    out: dict[str, str] = {}
    for step in outcomes:
        if not step.title.startswith("Install start "):
            continue
        for c in step.commands:
            if c.status == "not-run" and " apply " in f" {c.run} ":
                out[step.title.removeprefix("Install start ").strip()] = c.note
                break
    return out


def one_line(text: str) -> str:
    """A command as one line (the tutorial's multi-line ``echo -e`` included), for a verdict row's title."""
    return " ".join(text.split())


def evidence_of(c: CommandOutcome) -> dict[str, object]:
    """What a command showed, under the keys the catalog's observables read."""
    return {"command output": c.output, "exit status": c.returncode}


def explain(outcomes: list[StepOutcome], predicted: Mapping[str, list[str]]) -> list[tuple[CommandOutcome, str, str]]:
    """Each command's (outcome, verdict, why): ``ok``; ``known defect D1,D4`` when a static finding predicted a
    defect on this command *and* its observable shows in the command's output; ``failed`` otherwise (with what
    the predicted defects needed and what the output showed instead)."""
    out: list[tuple[CommandOutcome, str, str]] = []
    for step in outcomes:
        for c in step.commands:
            if c.status == "not-run":
                out.append((c, NOT_VERIFIED, c.note))
            elif c.status != "failed":
                out.append((c, "ok", ""))
            else:
                defects = predicted.get(c.object, [])
                shown, quotes, saw = defects_shown(defects, evidence_of(c)) if defects else ([], [], "")
                if shown:
                    out.append((c, known(",".join(shown)), "; ".join(quotes)))
                elif defects:
                    out.append((c, FAILED, f"expected {', '.join(defects)}, saw otherwise ({saw})"))
                else:
                    out.append((c, FAILED, ""))
    return out
