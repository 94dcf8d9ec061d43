"""Risk hold: a user who recently showed self-harm risk gets no engagement outreach.

Only replies go out, and the crisis_resources rule makes the next one carry help.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from guardrail.durations import Duration, format_duration
from guardrail.risk import RiskLevel
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class RiskHoldParams(RuleParams):
    level: RiskLevel = Field(
        default=RiskLevel.IDEATION, description="hold from this severity (1 indicator … 4 attempt)"
    )
    hold: Duration = Field(default=timedelta(days=14), description="how long after the signal")


class RiskHold(Rule[RiskHoldParams]):
    id = "risk_hold"
    params_model = RiskHoldParams

    def lookback(self, params: RiskHoldParams) -> timedelta:
        return params.hold

    def check(self, ctx: RuleContext, params: RiskHoldParams) -> Finding | None:
        recent = [
            e for e in ctx.snapshot.risk_events
            if e.level >= params.level and ctx.now - e.ts <= params.hold
        ]  # fmt: skip
        if not recent:
            return None
        latest = recent[-1]
        until = (latest.ts + params.hold).isoformat()
        level = RiskLevel(latest.level).label
        return self.finding(
            "block",
            f"user showed self-harm risk ({level}) at {latest.ts.isoformat()}: engagement "
            f"outreach held for {format_duration(params.hold)}, until {until}",
        )
