"""Channel windows: free-form messages only within a time after the user's last message.

WhatsApp allows free-form text for 24 h after the user wrote; Messenger and Instagram
have the same 24-hour standard messaging window. Past it, each platform allows a message
only under a licence: a WhatsApp template, a Messenger message tag (``HUMAN_AGENT`` for 7
days, ``ACCOUNT_UPDATE``...). The bot names the licence (``message_tag``); the policy says
which licences it accepts and for how long after the user's last message (``null``: no
limit), so a tag the operator never allowed is refused rather than trusted.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from guardrail.durations import Duration, format_duration
from guardrail.models import Channel, Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams

DAY = timedelta(hours=24)


def _default_tags() -> dict[Channel, dict[str, timedelta | None]]:
    return {
        Channel.WHATSAPP: {"template": None},
        Channel.MESSENGER: {
            "HUMAN_AGENT": timedelta(days=7),
            "ACCOUNT_UPDATE": None,
            "CONFIRMED_EVENT_UPDATE": None,
            "POST_PURCHASE_UPDATE": None,
        },
        Channel.INSTAGRAM: {"HUMAN_AGENT": timedelta(days=7)},
    }


class ChannelWindowParams(RuleParams):
    windows: dict[Channel, Duration] = Field(
        default_factory=lambda: {
            Channel.WHATSAPP: DAY,
            Channel.MESSENGER: DAY,
            Channel.INSTAGRAM: DAY,
        },
        description="per channel: how long after the user's last message free-form text may go",
    )
    tags: dict[Channel, dict[str, Duration | None]] = Field(
        default_factory=_default_tags,
        description="per channel: message tags accepted outside the window, each with its own "
        "window after the user's last message (null: any time)",
    )


class ChannelWindow(Rule[ChannelWindowParams]):
    id = "channel_window"
    params_model = ChannelWindowParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def lookback(self, params: ChannelWindowParams) -> timedelta:
        spans = list(params.windows.values())
        spans += [d for tags in params.tags.values() for d in tags.values() if d is not None]
        return max(spans, default=timedelta(0))

    def check(self, ctx: RuleContext, params: ChannelWindowParams) -> Finding | None:
        channel = ctx.request.channel
        window = params.windows.get(channel)
        if window is None:
            return None
        last = ctx.snapshot.last_user_message
        since = "never wrote" if last is None else f"last wrote {last.isoformat()}"
        if last is not None and ctx.now - last <= window:
            return None
        tag = ctx.request.message_tag
        if tag is not None:
            allowed = params.tags.get(channel, {})
            if tag not in allowed:
                return self.finding(
                    "block",
                    f"message tag {tag!r} is not allowed on {channel.value} by this policy "
                    f"(allowed: {', '.join(sorted(allowed)) or 'none'}; user {since})",
                )
            limit = allowed[tag]
            if limit is None or (last is not None and ctx.now - last <= limit):
                return None
            return self.finding(
                "block",
                f"outside the {format_duration(limit)} window of message tag {tag!r} "
                f"(user {since})",
            )
        return self.finding(
            "block",
            f"outside the {format_duration(window)} {channel.value} window for "
            f"free-form messages (user {since})",
        )
