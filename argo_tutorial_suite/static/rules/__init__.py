"""Importing this package registers every rule with the engine."""

from argo_tutorial_suite.static.rules import ci, code, generic, gitops, install, refs, tokens

__all__ = ["ci", "code", "generic", "gitops", "install", "refs", "tokens"]
