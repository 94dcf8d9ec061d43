"""Dependency caps: a user who shows signs of emotional dependency gets fewer proactive messages.

A bot should not deepen a dependency by writing first more often to the users who lean on
it most. When the user's recent messages (to any bot of the tenant) carried at least
``signals`` dependency signals within ``within``, the lower ``caps`` apply on top of the
ordinary frequency caps. Signals come from the dependency classifier as events arrive
(:mod:`guardrail.service.ingest`); with no classifier loaded there are none, and the rule
stays quiet.

Whether the user is dependent is judged on the decision's snapshot; the lower caps are
then re-checked in the store's atomic commit with the ordinary ones (the pipeline adds
them), so concurrent requests for one dependent user cannot all pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from guardrail.durations import Duration, format_duration
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.frequency_caps import CapSpec, describe, first_reached
from guardrail.state.base import Snapshot


class DependencyParams(RuleParams):
    signals: int = Field(
        default=3, ge=1, description="dependency signals in the user's messages that activate it"
    )
    within: Duration = Field(default=timedelta(days=14), description="how far back signals count")
    min_score: float = Field(
        default=0.0, ge=0.0, le=1.0, description="ignore signals scored below this"
    )
    caps: list[CapSpec] = Field(
        default_factory=lambda: [
            CapSpec(scope="all_bots", limit=1, window=timedelta(days=7)),
        ],
        description="the lower caps for a dependent user",
    )


def signals(snap: Snapshot, params: DependencyParams, now: datetime) -> int:
    """Dependency signals that count towards ``params.signals`` as of ``now``."""
    return sum(
        1 for e in snap.dependency_events
        if now - e.ts <= params.within and e.score >= params.min_score
    )  # fmt: skip


def dependent(snap: Snapshot, params: DependencyParams, now: datetime) -> bool:
    """The lower caps apply to this user (the store re-checks them at commit)."""
    return signals(snap, params, now) >= params.signals


class DependencyCaps(Rule[DependencyParams]):
    id = "dependency"
    params_model = DependencyParams

    def lookback(self, params: DependencyParams) -> timedelta:
        return max([params.within, *(c.window for c in params.caps)])

    def check(self, ctx: RuleContext, params: DependencyParams) -> Finding | None:
        snap = ctx.snapshot
        recent = signals(snap, params, ctx.now)
        if recent < params.signals:
            return None
        reached = first_reached(snap, params.caps, ctx.now)
        if reached is None:
            return None
        cap, used = reached
        return self.finding(
            "block",
            f"user showed {recent} dependency signal(s) in the last "
            f"{format_duration(params.within)}: lower cap {describe(cap)} reached, {used} sent",
        )
