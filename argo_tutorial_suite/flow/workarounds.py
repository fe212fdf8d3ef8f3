"""Workarounds: the minimal edits a reader makes to get past a blocking defect, each a recorded step."""

from __future__ import annotations

import base64
import re
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from argo_tutorial_suite.flow.names import APP
from argo_tutorial_suite.objects import Obj
from argo_tutorial_suite.redact import REDACTOR
from argo_tutorial_suite.tutorial.issuers import set_issuer_ca
from argo_tutorial_suite.verdicts.steps import StepRecord

if TYPE_CHECKING:
    from argo_tutorial_suite.flow.state import Tutorial


class Workarounds:
    """The minimal edits a reader makes to get past a blocking defect, each one a recorded step named after
    the defect, so the later steps (and their own defects) can be verified on the tutorial's files."""

    def __init__(self, t: Tutorial):
        self.t = t

    def _step(self, defect: str, what: str) -> AbstractContextManager[StepRecord]:
        return self.t.step(f"workaround {defect}: {what}", "workaround")

    def kustomization_file_names(self) -> Workarounds:
        with self._step("D10", "name the preview files as the kustomization lists them"):
            g = self.t.gitops_dir
            for dash, under in (
                ("service-preview.yaml", "service_preview.yaml"),
                ("ingress-preview.yaml", "ingress_preview.yaml"),
            ):
                if (g / dash).exists():
                    (g / dash).rename(g / under)
        return self

    def plain_http_registry(self) -> Workarounds:
        """Not a defect of the tutorial: the suite's registry (``kind-registry:5000`` / the sim's) speaks plain
        HTTP where the tutorial's registry speaks HTTPS, and BuildKit uses plain HTTP only for localhost
        (BuildKit ``util/resolver``). The push gets ``registry.insecure=true``; recorded as a substitution."""

        def insecure(objs: list[Obj]) -> None:
            for o in objs:
                if o.get("kind") != "Sensor":
                    continue
                for tr in o["spec"]["triggers"]:
                    for tmpl in tr["template"]["k8s"]["source"]["resource"]["spec"]["templates"]:
                        args = (tmpl.get("container") or {}).get("args") or []
                        for i, a in enumerate(args):
                            if isinstance(a, str) and a.startswith("type=image") and "registry.insecure" not in a:
                                args[i] = a + ",registry.insecure=true"

        with self.t.step("substitution: the suite's registry speaks plain HTTP (registry.insecure=true)", "workaround"):
            self.t.ci_patches.append(insecure)
        return self

    def issuer_reaches_an_acme_server(self) -> Workarounds:
        """D15: Let's Encrypt cannot validate placeholder hosts on a local cluster, so the Issuer never registers,
        Argo CD counts it Degraded and the first (multi-step) sync fails. The reader points it at an ACME server
        it can reach: here, the backend's local Pebble."""
        t = self.t
        with self._step("D15", "point the Issuer at an ACME server the cluster can reach (the local Pebble)"):
            local = t.backend.acme()
            assert local is not None, f"the {t.backend.name} backend has no local ACME server"
            assert set_issuer_ca(t.gitops_dir, local[1], server=local[0]) > 0, "no ACME Issuer in the GitOps files"
        return self

    def namespace_created_by_argocd(self) -> Workarounds:
        with self._step("D11", "tick AUTO-CREATE NAMESPACE in +NEW APP"):
            self.t.create_namespace = True
        return self

    def rollout_runs_the_pushed_image(self) -> Workarounds:
        t = self.t
        with self._step("D12", "the Rollout names the image the CI pushes"):
            ro = t.gitops_dir / "rollout.yaml"
            text = ro.read_text()
            new = re.sub(
                r"image: \S+/juunini/hello:latest", f"image: {t.backend.registry}/juunini/hello-world:latest", text
            )
            assert new != text, "rollout.yaml has no image juunini/hello:latest to rename"
            ro.write_text(new)
        return self

    def public_git_clone(self) -> Workarounds:
        def drop_ssh_key(objs: list[Obj]) -> None:
            for o in objs:
                if o.get("kind") == "Sensor":
                    for tr in o["spec"]["triggers"]:
                        for tmpl in tr["template"]["k8s"]["source"]["resource"]["spec"]["templates"]:
                            for art in (tmpl.get("inputs") or {}).get("artifacts") or []:
                                (art.get("git") or {}).pop("sshPrivateKeySecret", None)

        with self._step("D21", "clone the public repository without the SSH key"):
            self.t.ci_patches.append(drop_ssh_key)
        return self

    def argocd_config_filled_in(self) -> Workarounds:
        t = self.t

        def fill(objs: list[Obj]) -> None:
            password = t.backend.argocd_password()
            REDACTOR.register(password)
            for o in objs:
                if o.get("kind") == "Secret" and o["metadata"]["name"] == "argocd-config":
                    o["data"]["argocd-server"] = base64.b64encode(t.backend.argocd_cluster_url().encode()).decode()
                    o["data"]["password"] = base64.b64encode(password.encode()).decode()

        with self._step("D23", "put this cluster's Argo CD address and password into argocd-config"):
            t.ci_patches.append(fill)
        return self

    def new_pod_template(self, version: str) -> Workarounds:
        t = self.t
        with self._step("D20", f"change the Rollout's pod template for {version} and sync"):
            ro = t.gitops_dir / "rollout.yaml"
            text = ro.read_text()
            marker = "    metadata:\n      labels:\n"
            assert marker in text, "rollout.yaml template metadata not found"
            text = re.sub(r"      annotations:\n        tutorial/revision: \S+\n", "", text)
            ro.write_text(
                text.replace(
                    marker,
                    f"    metadata:\n      annotations:\n        tutorial/revision: {version}\n      labels:\n",
                    1,
                )
            )
            files = {str(p.relative_to(t.gitops_dir)): p.read_bytes() for p in t.gitops_dir.rglob("*") if p.is_file()}
            t.push("gitops", files, f"pod template {version}")
            with t.argocd() as api:
                api.sync(APP)
        return self

    def synced_from_the_ui(self, defect: str) -> Workarounds:
        with self._step(defect, "press SYNC in the Argo CD UI"):
            with self.t.argocd() as api:
                api.sync(APP)
        return self
