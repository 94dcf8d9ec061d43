"""Risk hold: a user who recently showed self-harm risk gets no engagement outreach.

Only replies go out, and the crisis_resources rule makes the next one carry help. Risk
signals are the user's, whichever bot of the tenant saw them, so the hold covers every bot.
An imminent signal (an act under way or within hours, means at hand, a goodbye) holds
whatever the policy's ``level``, for ``imminent_hold``.
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
    imminent_hold: Duration = Field(
        default=timedelta(days=30),
        description="how long after an imminent signal (held whatever the level)",
    )


class RiskHold(Rule[RiskHoldParams]):
    id = "risk_hold"
    params_model = RiskHoldParams

    def lookback(self, params: RiskHoldParams) -> timedelta:
        return max(params.hold, params.imminent_hold)

    def check(self, ctx: RuleContext, params: RiskHoldParams) -> Finding | None:
        imminent = [
            e for e in ctx.snapshot.risk_events
            if e.imminent and ctx.now - e.ts <= params.imminent_hold
        ]  # fmt: skip
        if imminent:
            latest = imminent[-1]
            until = (latest.ts + params.imminent_hold).isoformat()
            return self.finding(
                "block",
                f"user showed imminent self-harm risk ({RiskLevel(latest.level).label}) at "
                f"{latest.ts.isoformat()}: all proactive outreach held for "
                f"{format_duration(params.imminent_hold)}, until {until}",
            )
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
