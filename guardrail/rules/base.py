"""The rule interface: one class per file, parameters from the policy, pure functions of state.

A rule looks at a :class:`RuleContext` (the request, the time, the user's state snapshot)
and returns a :class:`Finding` when it fires, or ``None``. Rules never write state: the
pipeline commits once, atomically, after every rule has had its say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from guardrail.evidence import NO_EVIDENCE, UserEvidence
from guardrail.models import Kind, OutreachRequest
from guardrail.state.base import SensitiveMemory, Snapshot

if TYPE_CHECKING:
    from guardrail.analysis import Analysis, AnalysisRequest
    from guardrail.rewrite import Edit

Effect = Literal["block", "defer", "rewrite", "info"]


class RuleParams(BaseModel):
    """Fields every rule accepts in the policy, besides its own parameters."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: the rule is not evaluated")
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
    analysis: Analysis | None = None
    """What the content-analysis stage found in ``text`` (PII, classifier scores); set for
    the rules whose :meth:`Rule.needs` asks for it, None before and for the others."""
    evidence: UserEvidence = NO_EVIDENCE
    """What platform evidence on record says of the user, to hold the request's claims
    against (quiet hours: the zone)."""
    memory: SensitiveMemory | None = None
    """What the user confided to this bot and their wishes about it, read only when a rule's
    :meth:`Rule.wants_memory` asks (a message that names a special category)."""


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
    edits: tuple[Edit, ...] = ()
    """For ``rewrite`` by a content rule: edits on the analysed text, instead of ``text``;
    the rewrite engine (:mod:`guardrail.rewrite`) applies all of a decision's at once."""
    labels: tuple[str, ...] = ()
    """What was found, as countable names (``Reason.labels``): tactics, entity types."""
    held_text: str | None = None
    """For ``rewrite``: the message as it stood, held for the user to read later
    (``Decision.held_text``); the rewrite replaces the whole message, so the content
    edits made before it no longer reach the user and are not re-checked."""
    outage: bool = False
    """The finding comes from a component being down (fail closed), not from judging the
    message: the decision is not kept as the idempotency key's final answer."""


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

    def needs(self, params: P) -> AnalysisRequest | None:
        """What the content-analysis stage must compute before :meth:`check` (None: nothing)."""
        return None

    def wants_memory(self, ctx: RuleContext, params: P) -> bool:
        """Whether :meth:`check` needs ``ctx.memory`` (read from the store just before)."""
        return False

    def lookback(self, params: P) -> timedelta:
        """How much history the rule reads; snapshots cover the largest of all rules."""
        return timedelta(0)

    def finding(
        self,
        effect: Effect,
        detail: str,
        retry_after: datetime | None = None,
        labels: tuple[str, ...] = (),
    ) -> Finding:
        return Finding(
            rule=self.id, effect=effect, detail=detail, retry_after=retry_after, labels=labels
        )
