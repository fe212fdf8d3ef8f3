"""The live check of a participant's own cluster (``--kubeconfig``): read-only, its own path."""
