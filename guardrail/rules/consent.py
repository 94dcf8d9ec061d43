"""Opt-out: a user who said STOP gets no proactive message, from this bot or any (STOPALL).

Replies stay possible, one per message the user writes: the confirmation of the STOP,
then one answer each time the user writes again. The store re-checks this in its atomic
commit (``CommitRequest.opted_out_replies``), so concurrent replies cannot all pass.

That reply may not ask the user to take their STOP back ("Reply YES to confirm", a "Yes"
button, "Are you sure? Reply START to stay"): such a reply is replaced by the policy's
own confirmation in the user's language, or blocked (``solicitation``); with
``confirmation: template`` the confirmation is always the policy's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from guardrail.locales import language_of
from guardrail.models import Kind
from guardrail.resubscribe import solicitation
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.state.base import Snapshot

DEFAULT_CONFIRMATION = {
    "en": "You're unsubscribed: you won't get any more messages from us.",
    "fr": "C'est noté : vous ne recevrez plus de messages de notre part.",
}


class OptOutParams(RuleParams):
    block_replies: bool = Field(
        default=False,
        description="also refuse replies to an opted-out user (by default each message "
        "they write may get one reply, e.g. the confirmation of their STOP)",
    )
    confirmation: Literal["check", "template"] = Field(
        default="check",
        description="the reply that confirms a STOP: check: the bot's own, unless it asks for "
        "a re-subscription (see solicitation); template: always confirmation_text",
    )
    solicitation: Literal["replace", "block"] = Field(
        default="replace",
        description="a reply to an opted-out user that asks them to re-subscribe ('Reply YES "
        "to confirm', 'Reply START to stay', a 'Yes' button): replace: sent as "
        "confirmation_text instead; block: not sent",
    )
    confirmation_text: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_CONFIRMATION),
        description="the policy's STOP confirmation by language (user.locale's; else en): "
        "it must not ask for a re-subscription",
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
                return self._reply(ctx, params)
            return self.finding(
                "block",
                f"user opted out of {scope} at {when}; the one reply allowed until they write "
                f"again (the confirmation) was sent at {sent[0].isoformat()}",
            )
        return self.finding("block", f"user opted out of {scope} at {when}")

    def _reply(self, ctx: RuleContext, params: OptOutParams) -> Finding | None:
        """The one reply allowed to an opted-out user, unless it solicits a re-subscription."""
        language, template = confirmation_for(params, ctx.request.user.locale)
        if params.confirmation == "template" and is_confirmation(ctx.snapshot):
            return Finding(
                self.id,
                "rewrite",
                f"the confirmation of an opt-out is the policy's ({language}; "
                "confirmation: template)",
                text=template,
            )
        found = solicitation(ctx.text)
        if found is None:
            return None
        asked = f"the reply to an opted-out user asks for a re-subscription ({found!r})"
        if params.solicitation == "block":
            return self.finding("block", f"{asked}; not sent (solicitation: block)")
        return Finding(
            self.id, "rewrite", f"{asked}; sent as the policy's confirmation ({language})",
            text=template,
        )  # fmt: skip


def confirmation_for(params: OptOutParams, locale: str | None) -> tuple[str, str]:
    """(language, text) of the policy's confirmation for ``locale`` (else English, else the
    first one the policy gives)."""
    texts = params.confirmation_text or DEFAULT_CONFIRMATION
    language = language_of(locale)
    for lang in (language, "en"):
        if lang in texts:
            return lang, texts[lang]
    first = next(iter(texts))
    return first, texts[first]


def is_confirmation(snap: Snapshot) -> bool:
    """The reply would answer the STOP itself: the user has not written since opting out."""
    last, since = snap.last_user_message, snap.opted_out_at
    return last is None or since is None or last <= since


def replies_after_opt_out(snap: Snapshot) -> tuple[datetime, ...]:
    """Messages of this bot after both the opt-out (inclusive) and the user's last message,
    as the stores count them at commit."""
    last, since = snap.last_user_message, snap.opted_out_at
    return tuple(
        t for t in snap.outbound_sent
        if (since is None or t >= since) and (last is None or t > last)
    )  # fmt: skip
