"""No follow-up after silence: at most N proactive messages the user has not answered."""

from __future__ import annotations

from pydantic import Field

from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class UnansweredParams(RuleParams):
    max_unanswered: int = Field(
        default=1,
        ge=1,
        description="proactive messages allowed to stay unanswered; 1 = never follow up on silence",
    )


class Unanswered(Rule[UnansweredParams]):
    id = "unanswered"
    params_model = UnansweredParams

    def check(self, ctx: RuleContext, params: UnansweredParams) -> Finding | None:
        pending = ctx.snapshot.unanswered_proactive
        if pending < params.max_unanswered:
            return None
        return self.finding(
            "block",
            f"{pending} proactive message(s) since the user last wrote "
            f"(at most {params.max_unanswered} unanswered)",
        )
