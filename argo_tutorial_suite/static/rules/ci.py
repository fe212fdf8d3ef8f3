"""Rules over ci.yaml: EventSource, Sensor (its parameters and the Workflow it creates), EventBus."""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Iterator
from urllib.parse import urlparse

from argo_tutorial_suite.objects import Obj, dig, find, name, namespace, of_kind, ref
from argo_tutorial_suite.static.engine import Bundle, rule
from argo_tutorial_suite.static.findings import Finding
from argo_tutorial_suite.static.rules.refs import note
from argo_tutorial_suite.static.rules.workflows import sensor_templates, sensor_workflows, workflow_containers
from argo_tutorial_suite.tutorial.gotemplate import TemplateError, Unsupported, render
from argo_tutorial_suite.tutorial.payloads import HEADER_KEY, PUSH_OF, event_data, push_of

# Argo CD >= 2.10.0 (and 2.9.4, 2.8.8, 2.7.16) answer 415 to non-JSON Content-Type on /api/
# (argoproj/argo-cd PR #16860, server/server.go enforceContentTypes).
CONTENT_TYPE_FIXED_IN = ((2, 10, 0), (2, 9, 4), (2, 8, 8), (2, 7, 16))
CURL = re.compile(r"\bcurl\b[^\n|]*")


def _version(v: str | None) -> tuple[int, ...]:
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", v or "")
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def argocd_enforces_json(version: str | None) -> bool:
    v = _version(version)
    if v >= (2, 10, 0):
        return True
    return any(v[:2] == f[:2] and v >= f for f in CONTENT_TYPE_FIXED_IN[1:])


def _script(c: Obj) -> str:
    return "\n".join(str(x) for x in [*(c.get("command") or []), *(c.get("args") or [])])


@rule("SENSOR-DEPENDENCY")
def sensor_dependencies(b: Bundle) -> Iterator[Finding]:
    """Each Sensor dependency names an EventSource event that exists."""
    for s in of_kind(b.objects, "Sensor"):
        for d in dig(s, "spec", "dependencies", default=[]) or []:
            es = find(b.objects, "EventSource", str(d.get("eventSourceName")), namespace(s))
            events = (
                {k for section in ((es or {}).get("spec") or {}).values() if isinstance(section, dict) for k in section}
                if es
                else set()
            )
            if es is None or d.get("eventName") not in events:
                yield Finding(
                    "SENSOR-DEPENDENCY",
                    ref(s),
                    f"dependency {d.get('name')} waits for {d.get('eventSourceName')}/{d.get('eventName')}, which no EventSource in {namespace(s)} defines",
                    "use the EventSource name and the key under its spec.webhook",
                    b.file_of(s),
                )


# The header a provider names its event type with, and the value of a push (GitHub, GitLab, Bitbucket Cloud docs)
EVENT_HEADER = {"github": ("x-github-event", "push"), "gitlab": ("x-gitlab-event", "Push Hook"),
                "bitbucket": ("x-event-key", "repo:push")}  # fmt: skip
# The push among the events a provider's EventSource subscribes to (``spec.<type>.<name>.events``)
PUSH_EVENT = {"github": {"push", "*"}, "gitlab": {"PushEvents"}, "bitbucket": {"repo:push"}}


def source_type(b: Bundle, sensor: Obj, dep: Obj) -> tuple[str | None, Obj | None]:
    """The type of the EventSource a dependency names (``spec.<type>.<eventName>``), and that EventSource; (None,
    None) when the folder does not hold it."""
    ns = namespace(sensor)
    for es in of_kind(b.objects, "EventSource"):
        if name(es) == dep.get("eventSourceName") and namespace(es) == ns:
            spec = es.get("spec")
            for t, events in (spec if isinstance(spec, dict) else {}).items():
                if isinstance(events, dict) and dep.get("eventName") in events:
                    return str(t), es
            return None, es
    return None, None


def lets_push_through(dep: Obj, provider: str, source: Obj | None, kind_: str) -> bool:
    """Whether a push reaches the trigger: the EventSource subscribes to it and the dependency's data filters on
    the event header (``header.`` for a webhook, ``headers.`` for a provider's EventSource) let it through."""
    header, push = EVENT_HEADER[provider]
    if source is not None and kind_ in PUSH_EVENT:
        config = dig(source, "spec", kind_, str(dep.get("eventName")), default={}) or {}
        events = config.get("events") if isinstance(config, dict) else None
        if isinstance(events, list) and not PUSH_EVENT[kind_] & {str(e) for e in events}:
            return False
    for f in dig(dep, "filters", "data", default=[]) or []:
        path = str(f.get("path", "")).lower() if isinstance(f, dict) else ""
        if path.split(".", 1)[-1] == header and path.split(".", 1)[0] in ("header", "headers"):
            values = {str(v).strip("\"'[] ") for v in f.get("value") or []}
            if push not in values:
                return False
    return True


def payload_hint(template: str, provider: str, key: str) -> str:
    """How to read a push of this provider, worded for what the template reads."""
    fields = {"github": "body.after, body.head_commit.id", "gitlab": "body.checkout_sha, body.after",
              "bitbucket": "body.push.changes[0].new.target.hash"}[provider]  # fmt: skip
    hint = f"read fields a {provider} push has ({fields}) and give the parameter a value: fallback"
    if ".changes" in template and provider != "bitbucket":
        hint += "; push.changes[].new.target.hash is a Bitbucket payload path"
    if (".header." in template and key == "headers") or (".headers." in template and key == "header"):
        hint += f"; this EventSource puts the request's headers under .Input.{key}"
    return hint


@rule("SENSOR-PAYLOAD-PATH", "SENSOR-PAYLOAD-QUOTES", "NOT-IN-FOLDER")
def sensor_payload_paths(b: Bundle) -> Iterator[Finding]:
    """Each trigger parameter resolves with the push its dependency's EventSource delivers, wrapped as that
    EventSource type wraps it (argo-events event-data.go: a webhook's headers under ``header``, a github, gitlab
    or bitbucket EventSource's under ``headers``).

    argo-events v1.7.5 ``sensors/triggers/params.go``: a template error falls back to dataKey, then value;
    with neither the trigger fails ("unable to resolve ... parameter value") and no Workflow is created.
    """
    sha = "0123456789abcdef0123456789abcdef01234567"
    for s in of_kind(b.objects, "Sensor"):
        deps = {str(d.get("name")): d for d in dig(s, "spec", "dependencies", default=[]) or [] if isinstance(d, dict)}
        for t in dig(s, "spec", "triggers", default=[]) or []:
            for p in dig(t, "template", "k8s", "parameters", default=[]) or []:
                tpl = dig(p, "src", "dataTemplate")
                dep = deps.get(str(dig(p, "src", "dependencyName")))
                if not tpl or dep is None:
                    continue
                kind_, source = source_type(b, s, dep)
                if kind_ is None:
                    if source is None and b.root is not None:
                        yield note(s, f"EventSource/{namespace(s)}/{dep.get('eventSourceName')}", b.file_of(s))
                    continue
                provider = PUSH_OF.get(kind_)
                if provider is None or not lets_push_through(dep, provider, source, kind_):
                    continue  # not a push-delivering EventSource, or no push gets through: nothing to test
                data = {"Input": event_data(*push_of(provider, sha), kind_)}
                try:
                    out = render(str(tpl), data)
                    problem = "" if out and "<no value>" not in out else f"evaluates to {out!r}"
                except Unsupported:
                    continue  # a construct the suite does not model: no verdict rather than a guess
                except TemplateError as e:
                    problem = str(e)
                delivered = f"a {provider} push" + (
                    " to a webhook EventSource" if kind_ == "webhook" else f" from a {kind_} EventSource"
                )
                if problem and not (dig(p, "src", "value") or dig(p, "src", "dataKey")):
                    yield Finding(
                        "SENSOR-PAYLOAD-PATH",
                        ref(s),
                        f"parameter for {p.get('dest')} fails on {delivered} ({problem}) and has no value fallback: no Workflow is created",
                        payload_hint(str(tpl), provider, HEADER_KEY[kind_]),
                        b.file_of(s),
                    )
                elif not problem and out.startswith('"'):
                    yield Finding(
                        "SENSOR-PAYLOAD-QUOTES",
                        ref(s),
                        f"parameter for {p.get('dest')} renders with literal quotes: {out}",
                        "drop the double quotes around the template",
                        b.file_of(s),
                    )


@rule("WORKFLOW-PARAM-UNUSED")
def workflow_parameters_used(b: Bundle) -> Iterator[Finding]:
    """An input parameter that a template declares is referenced in that template."""
    for s, t in sensor_templates(b.objects):
        text = str({k: v for k, v in t.items() if k != "inputs"}) + str(dig(t, "inputs", "artifacts", default=""))
        for p in dig(t, "inputs", "parameters", default=[]) or []:
            if f"inputs.parameters.{p.get('name')}" not in text:
                yield Finding(
                    "WORKFLOW-PARAM-UNUSED",
                    ref(s),
                    f"template {t.get('name')} takes parameter {p.get('name')!r} (set by the Sensor) but never uses it",
                    f"use {{{{inputs.parameters.{p.get('name')}}}}}, e.g. as the image tag",
                    b.file_of(s),
                )


@rule("DAG-DEPENDENCY")
def dag_dependencies(b: Bundle) -> Iterator[Finding]:
    """DAG tasks depend on existing tasks and call existing templates; the entrypoint exists."""
    for s in of_kind(b.objects, "Sensor"):
        for wf in sensor_workflows(s):
            templates = {t.get("name") for t in dig(wf, "spec", "templates", default=[]) or []}
            if dig(wf, "spec", "entrypoint") not in templates:
                yield Finding(
                    "DAG-DEPENDENCY",
                    ref(s),
                    f"entrypoint {dig(wf, 'spec', 'entrypoint')!r} is not a template",
                    "",
                    b.file_of(s),
                )
            for t in dig(wf, "spec", "templates", default=[]) or []:
                tasks = dig(t, "dag", "tasks", default=[]) or []
                names = {x.get("name") for x in tasks}
                for x in tasks:
                    deps = re.findall(r"[\w-]+", str(x.get("depends", ""))) + list(x.get("dependencies") or [])
                    for d in deps:
                        if d not in names and d not in {
                            "Succeeded",
                            "Failed",
                            "Errored",
                            "Skipped",
                            "Daemoned",
                            "AnySucceeded",
                            "AllFailed",
                            "succeeded",
                            "failed",
                        }:
                            yield Finding(
                                "DAG-DEPENDENCY",
                                ref(s),
                                f"task {x.get('name')} depends on unknown task {d!r}",
                                "",
                                b.file_of(s),
                            )
                    if x.get("template") not in templates:
                        yield Finding(
                            "DAG-DEPENDENCY",
                            ref(s),
                            f"task {x.get('name')} calls unknown template {x.get('template')!r}",
                            "",
                            b.file_of(s),
                        )


def _git_artifacts(b: Bundle) -> Iterator[tuple[Obj, str, Obj]]:
    for s, t in sensor_templates(b.objects):
        for a in dig(t, "inputs", "artifacts", default=[]) or []:
            if isinstance(a.get("git"), dict):
                yield s, str(t.get("name")), a["git"]


@rule("GIT-AUTH-SCHEME")
def git_auth_scheme(b: Bundle) -> Iterator[Finding]:
    """SSH key auth needs an SSH URL; go-git's HTTP transport rejects it (argo-workflows v3.4.4 git.go)."""
    for s, tname, git in _git_artifacts(b):
        repo = str(git.get("repo", ""))
        if git.get("sshPrivateKeySecret") and repo.startswith(("http://", "https://")):
            yield Finding(
                "GIT-AUTH-SCHEME",
                ref(s),
                f"template {tname} clones {repo} over HTTP(S) with an SSH private key: the clone fails (invalid auth method / ssh: no key found)",
                "public repo: drop sshPrivateKeySecret; private: git@host:owner/repo.git with a real key, or usernameSecret/passwordSecret over https",
                b.file_of(s),
            )


@rule("GIT-REVISION-UNPINNED")
def git_revision(b: Bundle) -> Iterator[Finding]:
    """The build clones the pushed commit, not whatever the branch points to when the pod starts."""
    for s, tname, git in _git_artifacts(b):
        params = [
            str(p.get("dest", ""))
            for t in dig(s, "spec", "triggers", default=[]) or []
            for p in dig(t, "template", "k8s", "parameters", default=[]) or []
        ]
        if not any(d.endswith("git.revision") for d in params):
            yield Finding(
                "GIT-REVISION-UNPINNED",
                ref(s),
                f"template {tname} clones the tip of {git.get('branch') or 'the default branch'}, not the pushed commit",
                "set the git artifact's revision from the event's SHA (a Sensor parameter with dest ...git.revision)",
                b.file_of(s),
            )


@rule("ARGOCD-ADDRESS-HARDCODED")
def argocd_address(b: Bundle) -> Iterator[Finding]:
    """The Argo CD address is a Service DNS name, not a ClusterIP that changes on every install."""
    for sec in of_kind(b.objects, "Secret"):
        for key, val in (sec.get("data") or {}).items():
            try:
                text = base64.b64decode(str(val)).decode()
            except Exception:
                continue
            host = urlparse(text).hostname if "://" in text else None
            if host:
                try:
                    ipaddress.ip_address(host)
                except ValueError:
                    continue
                yield Finding(
                    "ARGOCD-ADDRESS-HARDCODED",
                    ref(sec),
                    f"{key} is a literal IP address ({text}); a ClusterIP differs on every cluster",
                    "use https://argocd-server.argocd.svc.cluster.local",
                    b.file_of(sec),
                )


@rule("HTTP-CONTENT-TYPE", "HTTP-NO-FAIL")
def http_calls(b: Bundle) -> Iterator[Finding]:
    """curl calls in steps: fail the step on HTTP errors; send JSON to the Argo CD API when it requires it."""
    argocd = b.pins.resolve("argo-cd", "stable") if b.pins else None
    for o, where, c in b.derived(workflow_containers):
        for call in CURL.findall(_script(c)):
            flags = call.split()
            if not any(
                f in ("-f", "--fail", "--fail-with-body")
                or (f.startswith("-") and not f.startswith("--") and "f" in f[1:])
                for f in flags
            ):
                yield Finding(
                    "HTTP-NO-FAIL",
                    ref(o),
                    f"{where}: `{call.strip()[:60]}...` exits 0 on an HTTP error, so the step passes when the call fails",
                    "add --fail (-f) to curl",
                    b.file_of(o),
                )
            posts = " -d " in f" {call} " or "-X POST" in call
            if "/api/" in call and posts and "application/json" not in call and argocd_enforces_json(argocd):
                yield Finding(
                    "HTTP-CONTENT-TYPE",
                    ref(o),
                    f"{where}: Argo CD {argocd} answers 415 'Invalid content type' to this call (no Content-Type: application/json)",
                    "add -H 'Content-Type: application/json' (and -d '{}' for the bodiless sync POST)",
                    b.file_of(o),
                )


@rule("SHELL-XTRACE-SECRETS")
def xtrace_secrets(b: Bundle) -> Iterator[Finding]:
    """``sh -x`` echoes every command, secrets from the environment included, into the step log."""
    for o, where, c in b.derived(workflow_containers):
        cmd = [str(x) for x in c.get("command") or []]
        traced = (
            len(cmd) > 1
            and cmd[0] in ("sh", "bash", "/bin/sh", "/bin/bash")
            and any(re.fullmatch(r"-[a-z]*x[a-z]*", a) for a in cmd[1:])
        )
        secret_env = [e.get("name") for e in c.get("env") or [] if dig(e, "valueFrom", "secretKeyRef")]
        if traced and secret_env:
            yield Finding(
                "SHELL-XTRACE-SECRETS",
                ref(o),
                f"{where} runs `{' '.join(cmd)}` with secrets {', '.join(map(str, secret_env))} in the environment: the trace prints them",
                "drop -x (sh -euc)",
                b.file_of(o),
            )


@rule("EVENTBUS-NATIVE-NATS")
def eventbus_native(b: Bundle) -> Iterator[Finding]:
    """Native NATS (Streaming) EventBus: deprecated since Argo Events v1.8; NATS Streaming is end of life."""
    for eb in of_kind(b.objects, "EventBus"):
        if dig(eb, "spec", "nats", "native") is not None:
            yield Finding(
                "EVENTBUS-NATIVE-NATS",
                ref(eb),
                "uses the native NATS Streaming bus (deprecated)",
                "spec: {jetstream: {version: latest}}",
                b.file_of(eb),
            )


@rule("WORKFLOW-UNUSED-PVC")
def unused_volume_claims(b: Bundle) -> Iterator[Finding]:
    """A Workflow volumeClaimTemplate that no template mounts."""
    for s in of_kind(b.objects, "Sensor"):
        for wf in sensor_workflows(s):
            mounts = {
                m.get("name")
                for t in dig(wf, "spec", "templates", default=[]) or []
                for m in dig(t, "container", "volumeMounts", default=[]) or []
            }
            for v in dig(wf, "spec", "volumeClaimTemplates", default=[]) or []:
                if dig(v, "metadata", "name") not in mounts:
                    yield Finding(
                        "WORKFLOW-UNUSED-PVC",
                        ref(s),
                        f"volumeClaimTemplate {dig(v, 'metadata', 'name')!r} is never mounted; every run creates a PVC for nothing",
                        "remove volumeClaimTemplates",
                        b.file_of(s),
                    )


@rule("WEBHOOK-UNAUTHENTICATED")
def webhook_authentication(b: Bundle) -> Iterator[Finding]:
    """Any POST to an unauthenticated, unfiltered webhook starts a build (GitHub's ping included)."""
    for es in of_kind(b.objects, "EventSource"):
        for event, spec in (dig(es, "spec", "webhook", default={}) or {}).items():
            if spec.get("authSecret"):
                continue
            for s in of_kind(b.objects, "Sensor"):
                for d in dig(s, "spec", "dependencies", default=[]) or []:
                    if d.get("eventSourceName") == name(es) and d.get("eventName") == event and not d.get("filters"):
                        yield Finding(
                            "WEBHOOK-UNAUTHENTICATED",
                            ref(s),
                            f"dependency {d.get('name')} accepts every POST to {name(es)}/{event} (no authSecret, no filters)",
                            "authenticate the webhook (the github EventSource with a webhook secret, or webhook authSecret), "
                            "or filter on the provider's event header (filters.data; GitHub: X-Github-Event)",
                            b.file_of(s),
                        )


@rule("SERVICE-DUPLICATES-EVENTSOURCE")
def duplicate_eventsource_service(b: Bundle) -> Iterator[Finding]:
    """A hand-written Service duplicating the ``<es>-eventsource-svc`` the controller makes from spec.service."""
    for svc in of_kind(b.objects, "Service"):
        sel = dig(svc, "spec", "selector", default={}) or {}
        es = (
            find(b.objects, "EventSource", str(sel.get("eventsource-name")), namespace(svc))
            if "eventsource-name" in sel
            else None
        )
        if es is not None and dig(es, "spec", "service"):
            yield Finding(
                "SERVICE-DUPLICATES-EVENTSOURCE",
                ref(svc),
                f"duplicates {name(es)}-eventsource-svc, which the EventSource's spec.service already creates",
                f"delete it and point the Ingress at {name(es)}-eventsource-svc",
                b.file_of(svc),
            )


@rule("RUNTIME-PACKAGE-INSTALL")
def runtime_package_install(b: Bundle) -> Iterator[Finding]:
    """Installing packages at run time needs internet in every run."""
    for o, where, c in b.derived(workflow_containers):
        m = re.search(r"\b(apk (--no-cache )?add|apt-get install|yum install|pip install)\b[^\n]*", _script(c))
        if m:
            yield Finding(
                "RUNTIME-PACKAGE-INSTALL",
                ref(o),
                f"{where} runs `{m.group(0).strip()}` at every run (needs internet)",
                "use an image that already has the tools (e.g. curlimages/curl)",
                b.file_of(o),
            )


@rule("APPLICATION-UNDECLARED")
def application_declared(b: Bundle) -> Iterator[Finding]:
    """The Application a step syncs by name is declared (not only in a screenshot)."""
    apps = {name(a) for a in of_kind(b.objects, "Application")}
    for o, where, c in b.derived(workflow_containers):
        for app in sorted(set(re.findall(r"/api/v1/applications/([\w.-]+)/sync", _script(c)))):
            if app not in apps:
                yield Finding(
                    "APPLICATION-UNDECLARED",
                    ref(o),
                    f"{where} syncs Application {app!r}, which no manifest declares (the tutorial shows it only as a screenshot)",
                    f"declare it: kind Application, name {app}, repoURL, path, destination, CreateNamespace",
                    b.file_of(o),
                )
