"""The policy package's shared pieces: problems with file:line positions, the loaded
policy and its version, and YAML parsing helpers.

Both :mod:`guardrail.policy.resolve` and :mod:`guardrail.policy.policyset` build on these,
and :mod:`guardrail.policy.loader` (the entry points) builds on those two; keeping the
pieces here is what keeps the three from importing each other in a circle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from guardrail import problems as positions
from guardrail.policy.schema import Policy
from guardrail.problems import Problem, ProblemError


class PolicyError(ProblemError):
    """A policy or a policy test file that cannot be loaded; its problems say where."""


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    version: str
    """``sha256:<hex>`` of the canonical JSON of the resolved policy."""
    source: str
    shadows: tuple[LoadedPolicy, ...] = ()
    """Candidate policies evaluated alongside this one (the policy's ``shadow:`` list)."""

    @cached_property
    def lookback(self) -> timedelta:
        """History every decision's snapshot must cover; computed once per loaded policy."""
        return self.policy.lookback()


def version_of(policy: Policy) -> str:
    """Hash of the resolved content: ``extends`` is left out, the merged values are in."""
    content = policy.model_dump(mode="json", exclude={"extends"})
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


BUILTIN_DESCRIPTION = "Conservative defaults for proactive outreach by persona and companion bots."
"""``policies/default.yaml``'s description too, so the file and the built-in policy have
one version hash: a decision names the same version whichever of the two decided it."""


def builtin() -> LoadedPolicy:
    """The built-in default policy (``policies/default.yaml`` spells out the same values)."""
    policy = Policy(description=BUILTIN_DESCRIPTION)
    return LoadedPolicy(policy=policy, version=version_of(policy), source="<builtin>")


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text``; every mark names ``source`` (for file:line errors)."""
    try:
        return positions.compose(text, source)
    except ProblemError as exc:
        raise PolicyError(exc.problems) from exc


def construct(node: yaml.Node) -> Any:
    """Python data of a (possibly merged) node tree."""
    try:
        return positions.construct(node)
    except ProblemError as exc:
        raise PolicyError(exc.problems) from exc


def validation_problems(
    exc: ValidationError, root: yaml.Node | None, source: str, model: type[BaseModel] = Policy
) -> list[Problem]:
    """Pydantic errors as problems at the YAML node each one is about (a policy's by
    default)."""
    return positions.validation_problems(exc, root, source, model)
