"""The rule interface: one class per file, parameters from the policy, pure functions of state.

A rule looks at a :class:`RuleContext` (the request, the time, the user's state snapshot)
and returns a :class:`Finding` when it fires, or ``None``. Rules never write state: the
pipeline commits once, atomically, after every rule has had its say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from guardrail.models import Kind, OutreachRequest
from guardrail.state.base import Snapshot

Effect = Literal["block", "defer", "rewrite", "info"]


class RuleParams(BaseModel):
    """Fields every rule accepts in the policy, besides its own parameters."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    mode: Literal["enforce", "shadow"] = Field(
        default="enforce",
        description="shadow: evaluate and record 'would have fired' without changing the verdict",
    )


@dataclass(frozen=True)
class RuleContext:
    request: OutreachRequest
    kind: Kind
    now: datetime
    """Decision time, aware, UTC."""
    timezone: ZoneInfo
    """The user's zone: from the request, else the policy default."""
    snapshot: Snapshot
    text: str
    """The text as it stands: the request's, or the last rewrite's (rewrites chain)."""


@dataclass(frozen=True)
class Finding:
    rule: str
    effect: Effect
    detail: str
    retry_after: datetime | None = None
    text: str | None = None
    """For ``rewrite``: the new text."""
    disclosed: bool = False
    """For ``rewrite``: the new text carries the AI disclosure (recorded at commit)."""
    resources: bool = False
    """For ``rewrite``: the new text carries crisis resources (recorded at commit)."""


P = TypeVar("P", bound=RuleParams)


class Rule(Generic[P]):
    """Base of every rule. Subclasses set the class variables and implement :meth:`check`."""

    id: ClassVar[str]
    """Key under ``rules:`` in the policy and the rule id in decisions."""
    params_model: ClassVar[type[RuleParams]]
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.PROACTIVE})
    """Message kinds the rule applies to; replies skip engagement and cap rules."""

    def check(self, ctx: RuleContext, params: P) -> Finding | None:
        raise NotImplementedError

    def lookback(self, params: P) -> timedelta:
        """How much history the rule reads; snapshots cover the largest of all rules."""
        return timedelta(0)

    def finding(self, effect: Effect, detail: str, retry_after: datetime | None = None) -> Finding:
        return Finding(rule=self.id, effect=effect, detail=detail, retry_after=retry_after)
