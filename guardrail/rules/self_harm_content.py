"""A bot message that encourages or instructs self-harm is blocked, whatever the policy says.

This is the gateway's floor, not a policy choice: the rule cannot be disabled or put in
shadow mode (the policy is refused if it tries). It needs nothing loaded but word lists,
so it holds while the classifiers load, fail or time out and while the state store is
down. Detection is :mod:`classifiers.floor`: the text as a person reads it (invisible
characters, look-alike letters, spacing, leetspeak, markup and URL encoding undone, chat
spellings spelt out), then the crisis lexicon's encouragement phrases and the floor's own
(euphemisms, French slang, instructions), English and French, over the whole message
whatever its length. The trained check (``self_harm_classifier``) adds to it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


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

    def check(self, ctx: RuleContext, params: SelfHarmContentParams) -> Finding | None:
        from classifiers.floor import default_floor

        found = default_floor().scan(ctx.text)
        if not found.encouragement:
            return None
        hit = found.hits[0]
        return self.finding(
            "block",
            f"the message encourages or instructs self-harm ({hit.language} floor, "
            f"characters {hit.start}-{hit.end})",
        )
