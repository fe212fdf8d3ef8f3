"""The API groups and versions of the kinds the tutorial uses, each named once, for what it is."""

from __future__ import annotations

# argoproj.io/v1alpha1: Argo CD's Application, Argo Rollouts' Rollout, Argo Workflows' Workflow, Argo Events'
# EventBus, EventSource and Sensor (one group and version for all four projects)
ARGOPROJ = "argoproj.io/v1alpha1"
# cert-manager.io/v1: Issuer, Certificate, CertificateRequest
CERT_MANAGER = "cert-manager.io/v1"
# acme.cert-manager.io/v1: Order, Challenge
CERT_MANAGER_ACME = "acme.cert-manager.io/v1"
