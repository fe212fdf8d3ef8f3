"""The tutorial as a fluent Given/When/Then, in the style of argo-rollouts' ``test/fixtures``.

    t = Tutorial.start(backend, profile, steps, workdir)
    t.given().code_pushed("v1").gitops_pushed().application_created().ci_applied()
    t.then().eventsource_listening().sensor_subscribed()
    t.when().webhook_fired("github", "v1")
    t.then().workflow_started().workflow_succeeded().app_synced().app_health("Healthy").serves(t.hosts.app, "v1", "active")

Every call is one tutorial step (:mod:`argo_tutorial_suite.verdicts.steps`): named, timed, with its verdict. A ``when()`` call
acts and never waits; a ``then()`` call waits, bounded (:mod:`argo_tutorial_suite.verdicts.waits`), stops at once on a terminal
state and carries the evidence (object status, step logs, sensor logs). The scenario code never asks which
backend it runs on.
"""

from argo_tutorial_suite.flow.names import APP, APP_NS, ARGOCD_NS, CI_NS
from argo_tutorial_suite.flow.state import Hosts, Tutorial
from argo_tutorial_suite.tutorial.render import yaml_objects

__all__ = ["APP", "APP_NS", "ARGOCD_NS", "ARGOPROJ", "CI_NS", "Hosts", "Tutorial", "yaml_objects"]
