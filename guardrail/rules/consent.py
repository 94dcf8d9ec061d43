"""Opt-out: a user who said STOP gets no proactive message, from this bot or any (STOPALL).

Replies stay possible, one per message the user writes: the confirmation of the STOP,
then one answer each time the user writes again. The store re-checks this in its atomic
commit (``CommitRequest.opted_out_replies``), so concurrent replies cannot all pass.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.state.base import Snapshot


class OptOutParams(RuleParams):
    block_replies: bool = Field(
        default=False,
        description="also refuse replies to an opted-out user (by default each message "
        "they write may get one reply, e.g. the confirmation of their STOP)",
    )


class OptOut(Rule[OptOutParams]):
    id = "opt_out"
    params_model = OptOutParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def check(self, ctx: RuleContext, params: OptOutParams) -> Finding | None:
        snap = ctx.snapshot
        if not snap.opted_out:
            return None
        scope = "every bot" if snap.opt_out_scope == "all" else "this bot"
        when = snap.opted_out_at.isoformat() if snap.opted_out_at else "earlier"
        if ctx.kind is Kind.REPLY and not params.block_replies:
            sent = replies_after_opt_out(snap)
            if not sent:
                return None
            return self.finding(
                "block",
                f"user opted out of {scope} at {when}; the one reply allowed until they write "
                f"again (the confirmation) was sent at {sent[0].isoformat()}",
            )
        return self.finding("block", f"user opted out of {scope} at {when}")


def replies_after_opt_out(snap: Snapshot) -> tuple[datetime, ...]:
    """Messages of this bot after both the opt-out (inclusive) and the user's last message,
    as the stores count them at commit."""
    last, since = snap.last_user_message, snap.opted_out_at
    return tuple(
        t for t in snap.outbound_sent
        if (since is None or t >= since) and (last is None or t > last)
    )  # fmt: skip
