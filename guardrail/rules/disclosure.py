"""AI disclosure: tell the user they are talking to an AI, at the start of an interaction
and again after a while (New York GBL art. 47: at the start and at least every 3 hours;
California SB 243: for known minors, every 3 hours with a reminder to take a break;
Washington HB 2225: every 3 hours, every hour for minors; Oregon SB 1546: minors hourly).

The cadence, per audience: at the start of an interaction (a new session begins after
``new_interaction_after`` of silence both ways), then every ``every`` (adults) or
``every_minor`` (minors: known, or likely from their own words) while it goes on. The rule
rewrites the message (prefix or suffix) rather than blocking it, in the user's language
(their locale, else the language the message is written in), and the store records the
message as disclosed (the next decision reads it back). Each disclosure names its trigger
and audience in the reason's labels (``start``/``cadence``, ``adult``/``minor``), which the
metrics and the ``disclosures`` report count. Off by default; the law packs turn it on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from guardrail.durations import Duration, format_duration
from guardrail.locales import guess_language, language_of
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
        default=timedelta(hours=3),
        description="disclose again once this long has passed in a continuing interaction "
        "(null: at the start of each interaction only)",
    )
    every_minor: Duration | None = Field(
        default=None,
        description="the same for minors (known, or likely from their own words); null: as `every`",
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

    def text_for(self, locale: str | None, minor: bool, message: str = "") -> str:
        """The notice in the user's language: their locale's, else the message's own."""
        texts = self.minor_texts if minor and self.minor_texts else self.texts
        language = language_of(locale) if locale else guess_language(message) or "en"
        return texts.get(language) or texts.get("en") or next(iter(texts.values()))

    def cadence(self, minor: bool) -> timedelta | None:
        """How often the notice comes back in a continuing interaction, for this audience."""
        return self.every_minor if minor and self.every_minor is not None else self.every


class Disclosure(Rule[DisclosureParams]):
    id = "disclosure"
    params_model = DisclosureParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def lookback(self, params: DisclosureParams) -> timedelta:
        # Enough to see the last disclosure and where the current interaction started.
        cadences = (params.every or timedelta(0), params.every_minor or timedelta(0))
        return max(*cadences, 2 * params.new_interaction_after)

    def check(self, ctx: RuleContext, params: DisclosureParams) -> Finding | None:
        minor = bool(ctx.request.user.is_minor)
        if params.only_minors and not minor:
            return None
        snap = ctx.snapshot
        last = snap.disclosed_at[-1] if snap.disclosed_at else None
        timeline = tuple(sorted((*snap.user_messages, *snap.outbound_sent, ctx.now)))
        started = conversation_start(timeline, params.new_interaction_after)
        every = params.cadence(minor)
        if last is None or (started is not None and last < started):
            why, trigger = "start of the interaction", "start"
        elif every is not None and ctx.now - last >= every:
            why, trigger = f"{format_duration(every)} since the last disclosure", "cadence"
        else:
            return None
        audience = "minor" if minor else "adult"
        why += f" ({audience})"
        labels = (trigger, audience)
        notice = params.text_for(ctx.request.user.locale, minor, ctx.text)
        if notice in ctx.text:  # already there: rewriting again must change nothing
            return Finding(
                self.id,
                "info",
                f"AI disclosure already present: {why}",
                disclosed=True,
                labels=labels,
            )
        text = (
            f"{notice}\n\n{ctx.text}" if params.position == "prefix" else f"{ctx.text}\n\n{notice}"
        )
        return Finding(
            self.id,
            "rewrite",
            f"AI disclosure added: {why}",
            text=text,
            disclosed=True,
            labels=labels,
        )
