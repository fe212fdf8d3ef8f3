"""The token formats their issuers publish (pure predicates; the rule that reports them is
:mod:`argo_tutorial_suite.static.rules.tokens`): GitHub "About authentication to GitHub" (``ghp_``, ``gho_``, ``ghu_``,
``ghs_``, ``ghr_``, ``github_pat_``); GitLab "Token prefixes"; Slack "Token types" and incoming webhook URLs; AWS IAM
"Unique identifiers" (access key IDs); PEM private key blocks (RFC 7468)."""

from __future__ import annotations

import re

FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b")),
    ("a GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b")),
    ("a GitLab token", re.compile(r"\bgl(?:pat|dt|rt|ptt|ft|imt|oas|cbt|soat|agent)-[0-9A-Za-z_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposre]-[0-9A-Za-z-]{10,}")),
    ("a Slack webhook URL", re.compile(r"https://hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]+")),
    ("an AWS access key ID", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----")),
)
ANY = re.compile("|".join(f"(?:{rx.pattern})" for _what, rx in FORMATS).encode())


def formats_in(text: str) -> list[str]:
    """The published token formats ``text`` holds (names only)."""
    return [what for what, rx in FORMATS if rx.search(text)]


# the literal start of each format: a regex of literals scans 10 MB in milliseconds, the formats' own in a quarter
# of a second; only a file where one of these shows is searched with the formats
PREFIXES = re.compile(
    rb"gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|ft|imt|oas|cbt|soat|agent)-|xox[abposre]-|hooks\.slack\.com"
    rb"|AKIA|ASIA|PRIVATE KEY"
)


def may_hold_token(raw: bytes) -> bool:
    """Whether a file's bytes hold any token format (one pass: a file that does not needs no per-field look)."""
    return PREFIXES.search(raw) is not None and ANY.search(raw) is not None
