"""The policy document: what policy authors write in YAML, as typed models.

The ``rules:`` section is generated from the rule registry, so a new rule's parameters
appear here (and in the JSON Schema editors use) without touching this file.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from guardrail.consent import ConsentWords
from guardrail.durations import Duration
from guardrail.models import TimeZoneName
from guardrail.rules import RULES, RuleParams


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplySettings(_Section):
    """When an outbound message counts as a reply (exempt from caps and follow-up rules)."""

    window: Duration = Field(
        default=timedelta(hours=1),
        description="a message within this long of the user's last message may be a reply",
    )
    max_per_user_message: int = Field(
        default=5, ge=1, description="bot messages that may answer one user message"
    )


class StoreFailure(_Section):
    """What to answer when the state store is down (fail closed or open)."""

    proactive: Literal["block", "allow"] = "block"
    reply: Literal["block", "allow"] = "allow"


def _rules_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        rule.id: (rule.params_model, Field(default_factory=rule.params_model)) for rule in RULES
    }
    model: type[BaseModel] = create_model(
        "RulesConfig", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


RulesConfig = _rules_model()


class Policy(_Section):
    name: str = Field(default="default", min_length=1, max_length=100)
    description: str = ""
    timezone: TimeZoneName = Field(
        default="UTC", description="the user's zone when the request does not give one"
    )
    reply: ReplySettings = Field(default_factory=ReplySettings)
    consent: ConsentWords = Field(default_factory=ConsentWords)
    store_failure: StoreFailure = Field(default_factory=StoreFailure)
    idempotency_ttl: Duration = Field(default=timedelta(hours=24))
    rules: RulesConfig = Field(default_factory=RulesConfig)  # type: ignore[valid-type]

    def rule_params(self, rule_id: str) -> RuleParams:
        params: RuleParams = getattr(self.rules, rule_id)
        return params

    def lookback(self) -> timedelta:
        """How far back a snapshot must reach for every rule of this policy."""
        spans = [timedelta(days=1), self.reply.window]
        spans += [rule.lookback(self.rule_params(rule.id)) for rule in RULES]
        return max(spans)
