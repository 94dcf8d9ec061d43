"""Load policy files: YAML → :class:`Policy`, with errors that point at file:line:column.

A policy that fails to load never replaces a running one; callers get a
:class:`PolicyError` listing every problem found, each with its position. Parents named
by ``extends:`` are resolved here too (see :mod:`guardrail.policy.resolve`), so what a
policy file means never depends on where it is loaded from.
"""

from __future__ import annotations

from pathlib import Path

from guardrail.policy.core import (
    LoadedPolicy,
    PolicyError,
    builtin,
    compose,
    construct,
    validation_problems,
    version_of,
)
from guardrail.policy.policyset import load_policy_set
from guardrail.policy.resolve import Resolver, parse_document
from guardrail.problems import Problem, at, locate, unique, yaml_problem

__all__ = [
    "LoadedPolicy",
    "PolicyError",
    "Problem",
    "at",
    "builtin",
    "compose",
    "construct",
    "load_policy",
    "locate",
    "parse_policy",
    "unique",
    "validation_problems",
    "version_of",
    "yaml_problem",
]


def load_policy(path: str | Path) -> LoadedPolicy:
    """One policy file, its ``extends`` resolved (names are looked up beside the file)."""
    return load_policy_set(path).members[0]


def parse_policy(text: str, name: str = "<string>") -> LoadedPolicy:
    """A policy from YAML text; ``extends`` may name ``default`` (the built-in) or a file."""
    resolver = Resolver([parse_document(text, name)], library=None)
    return resolver.finish()[0]
