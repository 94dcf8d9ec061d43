"""Wire shapes of the HTTP API: outreach requests, decisions and inbound events.

These are the public contract with bot operators, so they are strict: unknown
fields are errors, time zones are checked, and every timestamp is timezone-aware.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]


class Verdict(StrEnum):
    ALLOW = "allow"
    REWRITE = "rewrite"
    DEFER = "defer"
    BLOCK = "block"


class Kind(StrEnum):
    PROACTIVE = "proactive"
    REPLY = "reply"


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    TELEGRAM = "telegram"
    SMS = "sms"
    WEBHOOK = "webhook"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserContext(_Strict):
    """What the bot knows about the recipient; every field is optional."""

    timezone: TimeZoneName | None = None
    locale: str | None = Field(default=None, max_length=35)
    jurisdiction: str | None = Field(default=None, max_length=10)
    is_minor: bool | None = None


class OutreachRequest(_Strict):
    bot_id: Identifier
    user_id: Identifier
    channel: Channel
    text: str = Field(min_length=1)
    kind: Kind | None = Field(
        default=None, description="proactive or reply; inferred from the conversation when absent"
    )
    user: UserContext = Field(default_factory=UserContext)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    message_tag: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the platform's licence to send outside its reply window (Messenger "
        "message tag such as HUMAN_AGENT, 'template' for a WhatsApp template); the "
        "channel_window rule allows only the tags its policy lists",
    )
    ts: AwareDatetime | None = Field(
        default=None,
        description=(
            "When the message would be sent. Defaults to the gateway's clock; a value far from it "
            "is refused unless the gateway runs with trust_client_time (history replay, tests)."
        ),
    )


ReasonEffect = Literal["block", "defer", "rewrite", "info", "shadow"]


class Reason(_Strict):
    rule: str
    detail: str
    policy: str
    effect: ReasonEffect = "info"
    labels: list[str] = Field(
        default_factory=list,
        description="what the rule found, as names a report can count (manipulation "
        "tactics, PII entity types); the detail says the same in words",
    )


class Delivery(_Strict):
    status: Literal["delivered", "failed", "skipped"]
    adapter: str
    upstream_status: int | None = None
    error: str | None = None
    response: Any = None


class Decision(_Strict):
    decision_id: str
    verdict: Verdict
    text: str | None = Field(description="the text to deliver; null unless allow or rewrite")
    retry_after: AwareDatetime | None = None
    kind: Kind
    reasons: list[Reason] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    policy: str
    policy_version: str
    decided_at: AwareDatetime
    idempotent_replay: bool = False
    delivery: Delivery | None = None
    _audit_text: str | None = PrivateAttr(default=None)
    """The delivered text as the audit log may keep it, when the pipeline could redact it
    from findings it already had (saves the audit hook a second PII pass); not serialised."""


class EventType(StrEnum):
    USER_MESSAGE = "user_message"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    DELIVERED = "delivered"
    READ = "read"


class Event(_Strict):
    type: EventType
    bot_id: Identifier
    user_id: Identifier
    ts: AwareDatetime = Field(description="the platform's timestamp, ISO 8601 with offset")
    text: str | None = None
    channel: Channel | None = None
    scope: Literal["bot", "all"] = Field(
        default="bot", description="opt_out/opt_in: this bot only, or every bot of the tenant"
    )
    event_id: str | None = Field(
        default=None, max_length=200, description="platform message id; redeliveries are ignored"
    )
    locale: str | None = Field(
        default=None, max_length=35, description="the user's locale, e.g. fr-FR (risk language)"
    )


class EventResult(_Strict):
    accepted: bool
    duplicate: bool = False
    consent: Literal["opted_out", "opted_in"] | None = None
    consent_scope: Literal["bot", "all"] | None = None
    detail: str | None = None
    risk: Literal["indicator", "ideation", "behavior", "attempt"] | None = Field(
        default=None, description="self-harm severity seen in a user message"
    )
    risk_score: float | None = None
    crisis: bool = Field(
        default=False, description="at crisis level: review notified, outreach held, help next"
    )
    dependency: list[str] | None = Field(
        default=None, description="emotional-dependency signals seen in a user message"
    )
    help_reply: str | None = Field(
        default=None,
        description="the message was a HELP keyword: send this text to the user as a reply",
    )


def utc(dt: datetime) -> datetime:
    """Normalise an aware datetime to UTC (stores keep UTC epoch seconds)."""
    from datetime import UTC

    return dt.astimezone(UTC)
