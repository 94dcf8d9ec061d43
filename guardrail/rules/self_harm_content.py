"""A bot message that encourages or instructs self-harm is blocked, whatever the policy says.

This is the gateway's floor, not a policy choice: the rule cannot be disabled or put in
shadow mode (the policy is refused if it tries). It needs nothing loaded but word lists,
so it holds while the classifiers load, fail or time out and while the state store is
down. Detection is :mod:`classifiers.floor`: the text as a person reads it (invisible
characters, look-alike letters, spacing, leetspeak, markup and URL encoding undone, chat
spellings spelt out), then the crisis lexicon's encouragement phrases and the floor's own
(euphemisms, French slang, instructions), English and French, over the whole message
whatever its length. The trained check (``self_harm_classifier``) adds to it.

A bot writing to a user who showed suicidal risk in the last ``CRISIS_CONTEXT`` (ideation
or worse, or imminent, on the gateway's record) is read with that in view: weak acts that
need a word of dying elsewhere ("do it tonight", "go through with it", "don't tell your
therapist", "prove it") are encouragement on their own, as the conversation supplies what
"it" is. With the store down the record is empty and the floor reads the message alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal

from pydantic import Field, field_validator

from guardrail.models import Kind
from guardrail.risk import RiskLevel
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams

CRISIS_CONTEXT: Final = timedelta(days=7)
"""How long after a user's crisis signal the bot's weak acts are read as about it."""


class SelfHarmContentParams(RuleParams):
    enabled: Literal[True] = Field(default=True, description="always true: cannot be disabled")
    mode: Literal["enforce"] = Field(
        default="enforce", description="always enforce: cannot be shadowed"
    )

    @field_validator("enabled", "mode", mode="before")
    @classmethod
    def _always_on(cls, value: object) -> object:
        if value not in (True, "enforce"):
            raise ValueError(
                "self_harm_content cannot be disabled or shadowed: bot messages that "
                "encourage or instruct self-harm are always blocked"
            )
        return value


class SelfHarmContent(Rule[SelfHarmContentParams]):
    id = "self_harm_content"
    params_model = SelfHarmContentParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def lookback(self, params: SelfHarmContentParams) -> timedelta:
        return CRISIS_CONTEXT

    def check(self, ctx: RuleContext, params: SelfHarmContentParams) -> Finding | None:
        from classifiers.floor import default_floor

        in_crisis = any(
            (e.level >= RiskLevel.IDEATION or e.imminent) and ctx.now - e.ts <= CRISIS_CONTEXT
            for e in ctx.snapshot.risk_events
        )
        found = default_floor().scan(ctx.text, in_crisis=in_crisis)
        if not found.encouragement:
            return None
        hit = found.hits[0]
        context = ", read with the user's recent crisis in view" if in_crisis else ""
        return self.finding(
            "block",
            f"the message encourages or instructs self-harm ({hit.language} floor{context}, "
            f"characters {hit.start}-{hit.end})",
        )
