"""The policy document: what policy authors write in YAML, as typed models.

The ``rules:`` section is generated from the rule registry, so a new rule's parameters
appear here (and in the JSON Schema editors use) without touching this file.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from guardrail.consent import ConsentWords
from guardrail.durations import Duration
from guardrail.models import Channel, TimeZoneName
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

    proactive: Literal["block", "allow"] = Field(
        default="block", description="block: fail closed (outreach that cannot be accounted for)"
    )
    reply: Literal["block", "allow"] = Field(
        default="allow", description="allow: fail open (the user is waiting for an answer)"
    )


class Retention(_Section):
    """How long this policy wants state kept (the gateway's ``retention`` settings apply
    where no active policy says). State is shared by every policy of a set, so the prune
    keeps the longest any active policy asks, and never less than a rule's look-back."""

    messages: Duration | None = Field(
        default=None, description="user and sent messages (unset: the gateway's setting)"
    )
    risk: Duration | None = Field(
        default=None,
        description="self-harm and dependency signals: health data, kept no longer than "
        "needed (unset: the gateway's setting)",
    )
    records: Duration | None = Field(
        default=None,
        description="consent and first-contact records, from their last change (unset: the "
        "gateway's setting)",
    )


SENSITIVE_RULES = (
    "crisis_resources",
    "crisis.*",
    "risk_hold",
    "self_harm_*",
    "sexual_content",
    "dependency*",
)


class AuditText(_Section):
    """What the audit log keeps of a delivered message. Its keyed hash (HMAC under the
    audit key) always; its text with every PII entity replaced, unless this says not to."""

    delivered_text: Literal["redacted", "omit"] = Field(
        default="redacted",
        description="redacted: the delivered text with PII replaced; omit: only its keyed hash",
    )
    sensitive_rules: list[str] = Field(
        default_factory=lambda: list(SENSITIVE_RULES),
        description="rule ids or families ('crisis.*', 'self_harm_*'): when one of them "
        "reported on a message (any effect but shadow), its text is not kept, only its hash",
    )


UnknownAction = Literal["fallback", "strictest", "require"]


class UnknownUser(_Section):
    """What the set does when a request's user has no known jurisdiction or minor status
    (neither the user record nor the request says). Read from the set's fallback policy:
    the choice is made before any other policy is chosen."""

    jurisdiction: UnknownAction = Field(
        default="fallback",
        description="fallback: as if no jurisdiction matched; strictest: the policy of "
        "highest strictness among those matching some jurisdiction; require: refuse",
    )
    minor: UnknownAction = Field(
        default="fallback",
        description="fallback: as if an adult; strictest: as if a minor; require: refuse",
    )


def _rules_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        rule.id: (
            rule.params_model,
            Field(default_factory=rule.params_model, description=_summary(rule)),
        )
        for rule in RULES
    }
    model: type[BaseModel] = create_model(
        "RulesConfig", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def _summary(rule: object) -> str | None:
    """A rule's description in the schema: the first line of its module's docstring."""
    doc = sys.modules[type(rule).__module__].__doc__
    return doc.strip().splitlines()[0] if doc else None


RulesConfig = _rules_model()

Jurisdiction = Annotated[
    str,
    Field(pattern=r"^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})*$", examples=["US", "US-CA", "FR"]),
    AfterValidator(str.upper),
]


class PolicyMatch(_Section):
    """Where a policy applies. Each list left empty matches anything; all given ones must match."""

    tenants: list[str] = Field(default_factory=list, description="tenant ids", examples=[["acme"]])
    bots: list[str] = Field(default_factory=list, description="bot ids", examples=[["maestro"]])
    channels: list[Channel] = Field(
        default_factory=list, description="channels", examples=[["sms", "whatsapp"]]
    )
    jurisdictions: list[Jurisdiction] = Field(
        default_factory=list,
        description="user.jurisdiction, ISO 3166 style; 'US' also matches 'US-CA' (a deeper "
        "code is more specific); a request without a jurisdiction matches none",
    )
    minors: Literal[True, False, "any"] = Field(
        default="any",
        description="true: only users known to be minors; false: only users known to be adults",
    )

    def is_empty(self) -> bool:
        return not (self.tenants or self.bots or self.channels or self.jurisdictions) and (
            self.minors == "any"
        )


class Policy(_Section):
    """One policy file: what it matches, its settings, and each rule's parameters."""

    name: str = Field(
        default="default",
        min_length=1,
        max_length=100,
        description="unique in a policy set; decisions record it",
        examples=["tcpa"],
    )
    description: str = Field(default="", description="what the policy is for, for people")
    extends: str | None = Field(
        default=None,
        description="parent policy: a name in the same set, or a file path relative to this "
        "file; its content is deep-merged under this one (name, description, match, mode and "
        "shadow are not inherited)",
    )
    match: PolicyMatch = Field(
        default_factory=PolicyMatch,
        description="requests this policy applies to (see README, 'For policy authors')",
    )
    mode: Literal["enforce", "shadow"] = Field(
        default="enforce",
        description="shadow: every rule is evaluated and reported, none enforced",
    )
    shadow: list[str] = Field(
        default_factory=list,
        description="candidate policies (names or file paths) evaluated alongside this one on "
        "live traffic; their verdicts are recorded, never enforced",
    )
    timezone: TimeZoneName = Field(
        default="UTC", description="the user's zone when the request does not give one"
    )
    reply: ReplySettings = Field(
        default_factory=ReplySettings, description="when an outbound message counts as a reply"
    )
    consent: ConsentWords = Field(
        default_factory=ConsentWords, description="opt-out, opt-in and help wording"
    )
    store_failure: StoreFailure = Field(
        default_factory=StoreFailure, description="what to answer while the state store is down"
    )
    idempotency_ttl: Duration = Field(
        default=timedelta(hours=24), description="how long an idempotency key's decision is kept"
    )
    retention: Retention = Field(
        default_factory=Retention, description="how long state is kept (see the README)"
    )
    unknown_user: UnknownUser = Field(
        default_factory=UnknownUser,
        description="what to do when a user's jurisdiction or minor status is unknown",
    )
    audit: AuditText = Field(
        default_factory=AuditText,
        description="what the audit log keeps of delivered texts (sensitive ones: only a hash)",
    )
    strictness: int = Field(
        default=0,
        description="rank among policies when the set picks the strictest for a user of "
        "unknown jurisdiction (unknown_user: strictest); higher is stricter",
    )
    rules: RulesConfig = Field(  # type: ignore[valid-type]
        default_factory=RulesConfig, description="each rule's parameters, by rule id"
    )

    def rule_params(self, rule_id: str) -> RuleParams:
        params: RuleParams = getattr(self.rules, rule_id)
        return params

    def lookback(self) -> timedelta:
        """How far back a snapshot must reach for every rule of this policy."""
        spans = [timedelta(days=1), self.reply.window]
        spans += [rule.lookback(self.rule_params(rule.id)) for rule in RULES]
        return max(spans)
