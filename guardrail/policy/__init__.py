"""Policies: typed YAML documents, their loader and version hash."""

from guardrail.policy.loader import (
    LoadedPolicy,
    PolicyError,
    Problem,
    builtin,
    load_policy,
    parse_policy,
    version_of,
)
from guardrail.policy.schema import Policy

__all__ = [
    "LoadedPolicy",
    "Policy",
    "PolicyError",
    "Problem",
    "builtin",
    "load_policy",
    "parse_policy",
    "version_of",
]
