"""Opt-out: a user who said STOP gets no proactive message, from this bot or any (STOPALL)."""

from __future__ import annotations

from pydantic import Field

from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class OptOutParams(RuleParams):
    block_replies: bool = Field(
        default=False,
        description="also refuse replies to an opted-out user (by default they may still be "
        "answered when they write, e.g. the confirmation of their STOP)",
    )


class OptOut(Rule[OptOutParams]):
    id = "opt_out"
    params_model = OptOutParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def check(self, ctx: RuleContext, params: OptOutParams) -> Finding | None:
        snap = ctx.snapshot
        if not snap.opted_out:
            return None
        if ctx.kind is Kind.REPLY and not params.block_replies:
            return None
        scope = "every bot" if snap.opt_out_scope == "all" else "this bot"
        when = snap.opted_out_at.isoformat() if snap.opted_out_at else "earlier"
        return self.finding("block", f"user opted out of {scope} at {when}")
