"""Given: the set-up a reader does before anything happens (pushes, the Application, ci.yaml, secrets)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

from argo_tutorial_suite.apis import ARGOPROJ
from argo_tutorial_suite.backends import gitserver
from argo_tutorial_suite.flow.names import APP, APP_NS, ARGOCD_NS, CI_NS, main_go
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.verdicts import components as C

if TYPE_CHECKING:
    from argo_tutorial_suite.flow.state import Tutorial


class Given:
    def __init__(self, t: Tutorial):
        self.t = t

    def code_pushed(self, version: str = "v1") -> Given:
        t = self.t
        with t.step(f"push the app ({version}) to the code repository", "Go app"):
            files = {p.name: p.read_bytes() for p in t.code_dir.iterdir() if p.is_file()}
            files["main.go"] = main_go(version, files["main.go"].decode()).encode()
            t.pushed[version] = gitserver.push(
                t.workdir / "push-code", t.backend.git_remote("code"), files, f"app {version}"
            )
        return self

    def gitops_pushed(self) -> Given:
        t = self.t
        with t.step("push the GitOps repository", "GitOps repo"):
            files = {str(p.relative_to(t.gitops_dir)): p.read_bytes() for p in t.gitops_dir.rglob("*") if p.is_file()}
            t.push("gitops", files, "gitops")
        return self

    def application(self) -> Obj:
        t = self.t
        if t.profile.applications():
            app = t.profile.applications()[0]
            text = json.dumps(app)
            for k, v in sorted(t.backend.substitutions().items(), key=lambda kv: len(kv[0]), reverse=True):
                text = text.replace(k, v)
            out: Obj = json.loads(text)
            out["spec"]["source"]["repoURL"] = t.backend.git_url("gitops")
            return out
        # The tutorial's "+NEW APP" form (screenshots): name, project default, the repo, path, in-cluster, namespace.
        return {
            "apiVersion": ARGOPROJ,
            "kind": "Application",
            "metadata": {"name": APP, "namespace": ARGOCD_NS},
            "spec": {
                "project": "default",
                "source": {"repoURL": t.backend.git_url("gitops"), "targetRevision": "HEAD", "path": "."},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": APP_NS},
                **({"syncPolicy": {"syncOptions": ["CreateNamespace=true"]}} if t.create_namespace else {}),
            },
        }

    def application_created(self) -> Given:
        t = self.t
        with t.step("create the Argo CD Application (+NEW APP)", "Argo CD", decided_by=(C.ARGOCD,)):
            t.kube.apply(self.application())
        return self

    def ci_applied(self) -> Given:
        t = self.t
        with t.step("apply ci.yaml", "CI: Argo Events + Workflows"):
            objs = t.render_ci(t.ci_dir)
            for patch in t.ci_patches:
                patch(objs)
            ns = [o for o in objs if o.get("kind") == "Namespace"]
            t.kube.apply_all(ns)
            if t.profile.corrected:
                t.kube.apply_all(self.runtime_secrets())
            t.kube.apply_all([o for o in objs if o.get("kind") != "Namespace"])
        return self

    def runtime_secrets(self) -> list[Obj]:
        """What the corrected profile keeps out of Git (D17/D23): the real Argo CD address and password,
        and an empty registry auth for the local registry."""
        t = self.t
        password = t.backend.argocd_password()
        REDACTOR.register(password)

        def b64(s: str) -> str:
            return base64.b64encode(s.encode()).decode()

        return [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "argocd-config", "namespace": CI_NS},
                "data": {
                    "argocd-server": b64(t.backend.argocd_cluster_url()),
                    "username": b64("admin"),
                    "password": b64(password),
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "docker-config", "namespace": CI_NS},
                "data": {"config.json": b64('{"auths":{}}')},
            },
        ]
