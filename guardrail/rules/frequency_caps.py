"""Frequency caps on proactive messages, per (user, bot) and per user across bots.

This check explains the refusal from the snapshot; the store re-checks the same caps
atomically when it commits, which is what keeps concurrent replicas from over-sending.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from guardrail.durations import Duration, format_duration
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.state.base import Cap, CapScope, Snapshot


class CapSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: CapScope = Field(
        default="bot", description="bot: this bot's messages; all_bots: every bot of the tenant"
    )
    limit: int = Field(ge=0, description="proactive messages allowed in the window", examples=[3])
    window: Duration = Field(description="a sliding window ending at the send")

    def to_cap(self) -> Cap:
        return Cap(scope=self.scope, limit=self.limit, window=self.window)


class FrequencyCapParams(RuleParams):
    caps: list[CapSpec] = Field(
        default_factory=lambda: [
            CapSpec(scope="bot", limit=1, window=timedelta(days=1)),
            CapSpec(scope="bot", limit=3, window=timedelta(days=7)),
            CapSpec(scope="all_bots", limit=3, window=timedelta(days=1)),
        ],
        description="every cap must have room for a proactive message to go",
    )


def first_reached(snap: Snapshot, caps: list[CapSpec], now: datetime) -> tuple[Cap, int] | None:
    """The first of ``caps`` already used up in ``snap`` as of ``now``, with its count."""
    for spec in caps:
        cap = spec.to_cap()
        sent = snap.proactive_sent if cap.scope == "bot" else snap.proactive_sent_all_bots
        used = sum(1 for t in sent if t >= now - cap.window)  # as the stores count
        if used >= cap.limit:
            return cap, used
    return None


def describe(cap: Cap) -> str:
    who = "this bot" if cap.scope == "bot" else "all bots"
    return f"{cap.limit} per {format_duration(cap.window)} ({who})"


class FrequencyCaps(Rule[FrequencyCapParams]):
    id = "frequency_caps"
    params_model = FrequencyCapParams

    def lookback(self, params: FrequencyCapParams) -> timedelta:
        return max((c.window for c in params.caps), default=timedelta(0))

    def check(self, ctx: RuleContext, params: FrequencyCapParams) -> Finding | None:
        reached = first_reached(ctx.snapshot, params.caps, ctx.now)
        if reached is None:
            return None
        cap, used = reached
        return self.finding("block", f"cap {describe(cap)} reached: {used} sent")
