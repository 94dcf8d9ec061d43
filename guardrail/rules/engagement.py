"""Engaged users only: a proactive follow-up needs K user messages in a W-day window.

Press reports of Meta's test differ, so both readings are expressible:

* ``anchor: before_send`` — at least K messages within the W days before the send;
* ``anchor: after_conversation_start`` — the send falls within W days after the user
  started the current conversation (their first message after more than W days of
  silence), and they have sent at least K messages since.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from guardrail.durations import Duration
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class EngagementParams(RuleParams):
    min_user_messages: int = Field(
        default=5, ge=0, description="user messages needed (K) before a proactive follow-up"
    )
    window: Duration = Field(default=timedelta(days=14), description="the window (W)")
    anchor: Literal["before_send", "after_conversation_start"] = Field(
        default="before_send",
        description="before_send: K messages in the W before the send; "
        "after_conversation_start: within W after the user started the conversation",
    )


def conversation_start(messages: tuple[datetime, ...], gap: timedelta) -> datetime | None:
    """First message of the latest run of messages with no silence longer than ``gap``."""
    if not messages:
        return None
    start = messages[-1]
    for earlier, later in zip(reversed(messages[:-1]), reversed(messages), strict=False):
        if later - earlier > gap:
            break
        start = earlier
    return start


class Engagement(Rule[EngagementParams]):
    id = "engagement"
    params_model = EngagementParams

    def lookback(self, params: EngagementParams) -> timedelta:
        return 2 * params.window  # enough to find where the current conversation started

    def check(self, ctx: RuleContext, params: EngagementParams) -> Finding | None:
        messages = ctx.snapshot.user_messages
        k, w = params.min_user_messages, params.window
        if params.anchor == "before_send":
            count = sum(1 for t in messages if ctx.now - w <= t <= ctx.now)
            if count >= k:
                return None
            return self.finding(
                "block", f"{count} user message(s) in the {_days(w)} before; {k} needed"
            )
        start = conversation_start(messages, w)
        if start is None or ctx.now > start + w:
            return self.finding(
                "block", f"more than {_days(w)} after the user started the conversation"
            )
        count = sum(1 for t in messages if t >= start)
        if count >= k:
            return None
        return self.finding(
            "block", f"{count} user message(s) since the conversation started; {k} needed"
        )


def _days(window: timedelta) -> str:
    days = window / timedelta(days=1)
    return f"{days:g} day(s)"
