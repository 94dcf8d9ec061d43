"""Wire shapes of the HTTP API: outreach requests, decisions and inbound events.

These are the public contract with bot operators, so they are strict: unknown
fields are errors, time zones are checked, and every timestamp is timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

TIME_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
"""No platform event or outreach predates this; older values are typos or attacks."""
TIME_CEILING = datetime(2100, 1, 1, tzinfo=UTC)
"""Nothing is accepted from beyond this, even by a gateway that trusts client time."""


@cache
def _zones() -> frozenset[str]:
    """Every zone name of the bundled tz database (not its folders: ``America`` is none);
    the same list the published schemas give, so editors and the gateway agree."""
    return frozenset(zone_names())


def _check_timezone(value: str | None) -> str | None:
    """An IANA zone name; folders of the database, paths and overlong names are refused
    before ``ZoneInfo`` sees them (it would try to open them as files)."""
    if value is None:
        return None
    if len(value) > 64 or value not in _zones():
        raise ValueError(f"unknown IANA time zone {value[:64]!r}")
    ZoneInfo(value)
    return value


def _sane_time(value: datetime) -> datetime:
    if not TIME_FLOOR <= value < TIME_CEILING:
        raise ValueError(
            f"timestamp {value.isoformat()} is outside {TIME_FLOOR.year}-{TIME_CEILING.year}"
        )
    return value


def check_clock(value: datetime | None, info: ValidationInfo, *, past: bool = True) -> None:
    """Refuse a time the gateway's clock says is impossible: more than ``skew`` ahead of it,
    or (``past``) older than ``max_age``. The clock comes in the validation context
    (``now``, ``skew``, ``max_age``; see :func:`guardrail.api.deps.parse_body`); without
    one (library callers, policy tests) only the fixed bounds apply."""
    context = info.context if isinstance(info.context, dict) else {}
    now = context.get("now")
    if value is None or not isinstance(now, datetime):
        return
    skew, max_age = context.get("skew"), context.get("max_age")
    problem = clock_problem(
        value,
        now,
        skew if isinstance(skew, timedelta) else None,
        max_age if past and isinstance(max_age, timedelta) else None,
    )
    if problem is not None:
        raise ValueError(problem)


def clock_problem(
    value: datetime, now: datetime, skew: timedelta | None, max_age: timedelta | None
) -> str | None:
    """Why the gateway's clock (``now``) says ``value`` is impossible: more than ``skew``
    ahead of it, older than ``max_age``, or outside TIME_FLOOR..TIME_CEILING; else None.
    The one rule for ``/v1/events`` (as validation) and signed webhooks (as a skip)."""
    if not TIME_FLOOR <= value < TIME_CEILING:
        return f"timestamp {value.isoformat()} is outside {TIME_FLOOR.year}-{TIME_CEILING.year}"
    if skew is not None and value - now > skew:
        return (
            f"timestamp {value.isoformat()} is more than {skew} ahead of the gateway clock "
            f"({now.isoformat()})"
        )
    if max_age is not None and now - value > max_age:
        return f"timestamp {value.isoformat()} is older than the {max_age} the gateway accepts"
    return None


@cache
def zone_names() -> list[str]:
    """The IANA zones of the bundled tzdata, for schemas (editors complete them)."""
    return sorted((files("tzdata") / "zones").read_text(encoding="utf-8").split())


TimeZoneName = Annotated[
    str,
    AfterValidator(_check_timezone),
    WithJsonSchema(
        {
            "type": "string",
            "enum": zone_names(),
            "description": "an IANA time zone",
            "examples": ["Europe/Paris", "America/New_York", "UTC"],
        }
    ),
]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_sane_time)]
"""An aware ISO 8601 time between TIME_FLOOR and TIME_CEILING."""
Jurisdiction = Annotated[
    str, Field(max_length=10, pattern=r"^[A-Za-z0-9]{1,3}(?:-[A-Za-z0-9]{1,3}){0,2}$")
]


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

    timezone: TimeZoneName | None = Field(default=None, description="the user's IANA zone")
    locale: str | None = Field(
        default=None, max_length=35, description="BCP 47 language tag", examples=["fr-FR"]
    )
    jurisdiction: Jurisdiction | None = Field(
        default=None,
        description="ISO 3166 code (FR, US-CA); once the user record has one, a different "
        "claim does not change which policy applies (see the README)",
        examples=["US-CA"],
    )
    is_minor: bool | None = Field(
        default=None, description="once recorded as a minor, a claim of adult is not believed"
    )


class InReplyTo(_Strict):
    """The user message a reply answers, so it is assessed before the reply is decided."""

    text: str = Field(min_length=1, description="the user's message, as received")
    event_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="its platform message id"
    )
    ts: Timestamp | None = Field(default=None, description="when the user sent it")
    locale: str | None = Field(default=None, max_length=35)

    @field_validator("ts")
    @classmethod
    def _clock(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        check_clock(value, info)
        return value


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
    in_reply_to: InReplyTo | None = Field(
        default=None,
        description="the user message this answers: assessed for self-harm risk before the "
        "decision, so a reply to a crisis message carries the crisis resources",
    )
    message_tag: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the platform's licence to send outside its reply window (Messenger "
        "message tag such as HUMAN_AGENT, 'template' for a WhatsApp template); the "
        "channel_window rule allows only the tags its policy lists",
    )
    ts: Timestamp | None = Field(
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
    uncertain: bool = Field(
        default=False,
        description="failed, but the platform may have delivered it (a timeout or 5xx after "
        "the request went out): it counts as sent, and must not be retried blindly",
    )
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
    held_text: str | None = Field(
        default=None,
        description="set when `sensitive_reference` rewrote a message that names what the "
        "user confided: `text` is the neutral opener to send now, `held_text` the message "
        "as the bot wrote it, to send as a reply once the user opens the conversation (their "
        "next message). Never stored in the audit log.",
    )


class EventType(StrEnum):
    USER_MESSAGE = "user_message"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    DELIVERED = "delivered"
    READ = "read"


class AgeAssurance(_Strict):
    """The operator's age assurance of a user (an ID check, a card, an estimate)."""

    verified_adult: bool = Field(
        description="true: found an adult, which clears a likely-minor mark dated before the "
        "event; false: found a minor"
    )
    method: str | None = Field(
        default=None,
        max_length=64,
        description="how, for the record (id_document, credit_card, facial_estimation, ...)",
        examples=["id_document"],
    )


class Event(_Strict):
    type: EventType
    bot_id: Identifier
    user_id: Identifier
    ts: Timestamp = Field(
        description="the platform's timestamp, ISO 8601 with offset; at most the gateway's "
        "client_time_skew ahead of its clock, and not older than its event_max_age"
    )
    text: str | None = None
    choice: bool = Field(
        default=False,
        description="the text is a choice the bot offered (the label or payload of a button, "
        "quick reply or list item it wrote), not words the user typed: it may opt out, never "
        "in (the bot cannot word the user's re-subscription)",
    )
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
    jurisdiction: Jurisdiction | None = Field(
        default=None, description="the user's jurisdiction, as the platform knows it"
    )
    is_minor: bool | None = Field(
        default=None, description="the user's minor status, as the platform knows it"
    )
    timezone: TimeZoneName | None = Field(
        default=None,
        description="the user's IANA zone, as the platform knows it (kept only on platform "
        "evidence: an ingest or admin key); a request's user.timezone that conflicts with it "
        "gets the strictest reading of quiet hours",
    )
    age_assurance: AgeAssurance | None = Field(
        default=None,
        description="the operator's age assurance of the user (ingest or admin keys only); "
        "the only thing that clears a likely-minor mark the user's own words set",
    )

    @field_validator("ts")
    @classmethod
    def _clock(cls, value: datetime, info: ValidationInfo) -> datetime:
        check_clock(value, info)
        return value


class EventResult(_Strict):
    accepted: bool
    duplicate: bool = False
    consent: Literal["opted_out", "opted_in"] | None = None
    consent_scope: Literal["bot", "all"] | None = None
    consent_applied: bool | None = Field(
        default=None,
        description="the event asked for a consent change: whether it was applied (an opt-in "
        "that may not lift the standing opt-out is recorded, not applied; consent then says "
        "the state that stands)",
    )
    consent_source: Literal["webhook", "proxy", "ingest", "admin", "bot"] | None = Field(
        default=None, description="who vouched for the consent change (its evidence)"
    )
    detail: str | None = None
    risk: Literal["indicator", "ideation", "behavior", "attempt"] | None = Field(
        default=None, description="self-harm severity seen in a user message"
    )
    risk_score: float | None = None
    crisis: bool = Field(
        default=False, description="at crisis level: review notified, outreach held, help next"
    )
    imminent: bool = Field(
        default=False,
        description="an act under way or within hours, means at hand or taken, or a goodbye: "
        "all proactive outreach held, emergency numbers first in the next reply, the review "
        "marked high priority",
    )
    dependency: list[str] | None = Field(
        default=None, description="emotional-dependency signals seen in a user message"
    )
    help_reply: str | None = Field(
        default=None,
        description="the message was a HELP keyword: send this text to the user as a reply",
    )
    sensitive: list[str] | None = Field(
        default=None,
        description="special categories the user disclosed in this message (health, "
        "religion, ...): remembered as categories and time, never the words",
    )
    forget: list[str] | None = Field(
        default=None,
        description="the user asked this bot to forget or never mention something: the "
        "categories now marked do-not-mention for it (`*`: every category)",
    )
    minor: list[str] | None = Field(
        default=None,
        description="what in a user message gave a minor away (age, school_year, "
        "parents_rules, school_life, head); the user record is marked likely minor",
    )


class FieldError(_Strict):
    field: str = Field(description="dotted path of the offending field, or body")
    message: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx the gateway itself answers: a kind, and a detail to fix it from."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="unauthorized, forbidden, not_found, conflict, too_large, "
                       "invalid_request, unavailable, …")  # fmt: skip
    detail: str | list[FieldError] | list[str] | None = None


def utc(dt: datetime) -> datetime:
    """Normalise an aware datetime to UTC (stores keep UTC epoch seconds)."""
    from datetime import UTC

    return dt.astimezone(UTC)
