"""``python -m argo_offline_images``: the builder's command."""

from argo_offline_images.cli import run

run()
