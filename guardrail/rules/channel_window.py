"""Channel windows: e.g. WhatsApp free-form messages only within 24 h of the user's last message."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from guardrail.durations import Duration, format_duration
from guardrail.models import Channel, Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class ChannelWindowParams(RuleParams):
    windows: dict[Channel, Duration] = Field(
        default_factory=lambda: {Channel.WHATSAPP: timedelta(hours=24)},
        description="per channel: how long after the user's last message free-form text may go",
    )


class ChannelWindow(Rule[ChannelWindowParams]):
    id = "channel_window"
    params_model = ChannelWindowParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def lookback(self, params: ChannelWindowParams) -> timedelta:
        return max(params.windows.values(), default=timedelta(0))

    def check(self, ctx: RuleContext, params: ChannelWindowParams) -> Finding | None:
        window = params.windows.get(ctx.request.channel)
        if window is None:
            return None
        last = ctx.snapshot.last_user_message
        if last is not None and ctx.now - last <= window:
            return None
        since = "never wrote" if last is None else f"last wrote {last.isoformat()}"
        return self.finding(
            "block",
            f"outside the {format_duration(window)} {ctx.request.channel.value} window for "
            f"free-form messages (user {since})",
        )
