"""A bot message that encourages or instructs self-harm is blocked, whatever the policy says.

This is the gateway's floor, not a policy choice: the rule cannot be disabled or put in
shadow mode (the policy is refused if it tries). Detection is the bot-role category of
the crisis lexicon (English and French); a trained classifier will add to it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams

if TYPE_CHECKING:
    from classifiers.lexicons import Lexicon


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


@cache
def _lexicon() -> Lexicon:
    from classifiers.lexicons import default_lexicon

    return default_lexicon()


class SelfHarmContent(Rule[SelfHarmContentParams]):
    id = "self_harm_content"
    params_model = SelfHarmContentParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def check(self, ctx: RuleContext, params: SelfHarmContentParams) -> Finding | None:
        found = _lexicon().scan(ctx.text, role="bot")
        if not found.encouragement:
            return None
        hit = next(h for h in found.hits if h.category == "encouragement" and not h.negated)
        return self.finding(
            "block",
            f"the message encourages or instructs self-harm ({hit.language} lexicon, "
            f"characters {hit.start}-{hit.end})",
        )
