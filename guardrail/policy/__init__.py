"""Policies: typed YAML documents, their loader and version hash, and policy sets."""

from guardrail.policy.loader import (
    LoadedPolicy,
    PolicyError,
    Problem,
    builtin,
    load_policy,
    parse_policy,
    version_of,
)
from guardrail.policy.policyset import PolicySet, builtin_set, load_policy_set
from guardrail.policy.schema import Policy, PolicyMatch

__all__ = [
    "LoadedPolicy",
    "Policy",
    "PolicyError",
    "PolicyMatch",
    "PolicySet",
    "Problem",
    "builtin",
    "builtin_set",
    "load_policy",
    "load_policy_set",
    "parse_policy",
    "version_of",
]
