"""AI disclosure: tell the user they are talking to an AI, at the start of an interaction
and again after a while (New York GBL art. 47: at the start and at least every 3 hours;
California SB 243: for known minors, every 3 hours with a reminder to take a break).

The rule rewrites the message (prefix or suffix) rather than blocking it. When the last
disclosure to this user is recent and inside the current interaction, nothing is added.
Off by default; the law packs turn it on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from guardrail.durations import Duration, format_duration
from guardrail.locales import language_of
from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.engagement import conversation_start

DEFAULT_TEXTS = {
    "en": "Just so you know: I'm an AI, not a human.",
    "fr": "Pour rappel : je suis une IA, pas un être humain.",
}
DEFAULT_MINOR_TEXTS = {
    "en": "Reminder: I'm an AI, not a person. You've been chatting a while, so it might be "
    "a good moment to take a break.",
    "fr": "Rappel : je suis une IA, pas une personne. Cela fait un moment que nous discutons, "
    "c'est peut-être le bon moment pour faire une pause.",
}


class DisclosureParams(RuleParams):
    enabled: bool = Field(default=False, description="off unless a pack turns it on")
    every: Duration | None = Field(
        default=timedelta(hours=3), description="disclose again once this long has passed"
    )
    new_interaction_after: Duration = Field(
        default=timedelta(hours=1),
        description="silence (both ways) after which the next message starts a new interaction",
    )
    only_minors: bool = Field(default=False, description="disclose only to known minors")
    texts: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TEXTS),
        description="by language (the user's locale, e.g. fr-FR → fr); 'en' is the fallback",
    )
    minor_texts: dict[str, str] | None = Field(
        default=None, description="used instead of texts for known minors (e.g. break reminders)"
    )
    position: Literal["prefix", "suffix"] = Field(
        default="prefix", description="put the notice before the message or after it"
    )

    def text_for(self, locale: str | None, minor: bool) -> str:
        texts = self.minor_texts if minor and self.minor_texts else self.texts
        language = language_of(locale)
        return texts.get(language) or texts.get("en") or next(iter(texts.values()))


class Disclosure(Rule[DisclosureParams]):
    id = "disclosure"
    params_model = DisclosureParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def lookback(self, params: DisclosureParams) -> timedelta:
        # Enough to see the last disclosure and where the current interaction started.
        return max(params.every or timedelta(0), 2 * params.new_interaction_after)

    def check(self, ctx: RuleContext, params: DisclosureParams) -> Finding | None:
        minor = bool(ctx.request.user.is_minor)
        if params.only_minors and not minor:
            return None
        snap = ctx.snapshot
        last = snap.disclosed_at[-1] if snap.disclosed_at else None
        timeline = tuple(sorted((*snap.user_messages, *snap.outbound_sent, ctx.now)))
        started = conversation_start(timeline, params.new_interaction_after)
        if last is None or (started is not None and last < started):
            why = "start of the interaction"
        elif params.every is not None and ctx.now - last >= params.every:
            why = f"{format_duration(params.every)} since the last disclosure"
        else:
            return None
        notice = params.text_for(ctx.request.user.locale, minor)
        if notice in ctx.text:  # already there: rewriting again must change nothing
            return Finding(
                self.id, "info", f"AI disclosure already present ({why})", disclosed=True
            )
        text = (
            f"{notice}\n\n{ctx.text}" if params.position == "prefix" else f"{ctx.text}\n\n{notice}"
        )
        return Finding(self.id, "rewrite", f"AI disclosure added: {why}", text=text, disclosed=True)
