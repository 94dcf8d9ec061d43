"""Quiet hours in the user's local time: proactive messages are deferred, not dropped.

The answer is ``defer`` with ``retry_after`` = the moment the quiet window ends, as an
aware timestamp in the user's zone, so the engine can simply schedule the retry.

The zone: the request's ``user.timezone``, unless evidence contradicts it (the zones of
the user's phone number, the zone the platform reported): then quiet if quiet in the
claimed zone or any the evidence gives, and the decision says so, since the bot could
claim a zone where it is day. Without a claim, the evidence's zones; else what
``unknown_timezone`` says. Where several zones are possible, the hour is quiet if it is
quiet in any of them (the strict reading: a text at 07:00 Pacific is a text before 08:00
local, whatever the clock says in New York).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrail.durations import ClockTime
from guardrail.models import TimeZoneName
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.timezones import ZoneChoice, from_request

_DAY = 24 * 60


class QuietWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: ClockTime = Field(description="local time the quiet window starts, e.g. 21:00")
    end: ClockTime = Field(
        description="local time it ends (exclusive), e.g. 08:00; may wrap midnight"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> QuietWindow:
        if self.start == self.end:
            raise ValueError("start and end are equal: the window would be empty or the whole day")
        return self

    def minutes(self) -> set[int]:
        start, end = _minute(self.start), _minute(self.end)
        span = (end - start) % _DAY
        return {(start + i) % _DAY for i in range(span)}

    def contains(self, local: time) -> bool:
        start, end, now = self.start, self.end, local.replace(tzinfo=None)
        return start <= now < end if start < end else now >= start or now < end

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


class QuietHoursParams(RuleParams):
    windows: list[QuietWindow] = Field(
        default_factory=lambda: [QuietWindow(start=time(21, 0), end=time(8, 0))],
        description="local-time windows in which proactive messages are deferred",
    )
    infer_from_phone: bool = Field(
        default=True,
        description="without user.timezone, use the zone(s) of the user's phone number when "
        "the user id is one (E.164, or digits on WhatsApp and SMS)",
    )
    unknown_timezone: Literal["policy_zone", "strictest", "defer"] = Field(
        default="policy_zone",
        description="when no zone is known: policy_zone: the policy's `timezone`; strictest: "
        "quiet if quiet in any of `assumed_zones`; defer: no proactive message until the "
        "request gives user.timezone (retry_after null)",
    )
    assumed_zones: list[TimeZoneName] = Field(
        default_factory=list,
        description="for unknown_timezone: strictest, the zones the user may be in",
    )

    @field_validator("windows")
    @classmethod
    def _no_overlap(cls, windows: list[QuietWindow]) -> list[QuietWindow]:
        for i, a in enumerate(windows):
            for b in windows[i + 1 :]:
                if a.minutes() & b.minutes():
                    raise ValueError(f"quiet windows {a.describe()} and {b.describe()} overlap")
        return windows

    @model_validator(mode="after")
    def _zones_for_strictest(self) -> QuietHoursParams:
        if self.unknown_timezone == "strictest" and not self.assumed_zones:
            raise ValueError("unknown_timezone: strictest needs assumed_zones")
        return self


class QuietHours(Rule[QuietHoursParams]):
    id = "quiet_hours"
    params_model = QuietHoursParams

    def check(self, ctx: RuleContext, params: QuietHoursParams) -> Finding | None:
        choice = _choose(ctx, params)
        if not choice.zones:
            return self.finding("defer", f"quiet hours: {choice.why}")
        quiet = _quiet_in(params.windows, ctx.now, choice.zones)
        if quiet is None:
            if choice.source in ("user", "policy"):
                return None
            local = ctx.now.astimezone(choice.zones[0])
            return self.finding(
                "info", f"not quiet hours; local time {local:%H:%M} in {choice.describe()}"
            )
        zone, window = quiet
        local = ctx.now.astimezone(zone)
        resume = _clear(params.windows, ctx.now, choice.zones)
        detail = f"quiet hours {window.describe()} in {zone.key}; local time {local:%H:%M}"
        if len(choice.zones) > 1:
            detail += f"; quiet in any of the user's possible zones counts: {choice.describe()}"
        elif choice.source != "user":
            detail += f" (zone: {choice.why})"
        if resume is None:
            detail += "; no hour is outside quiet hours in all of them: set user.timezone"
        return self.finding("defer", detail, retry_after=resume)


def _choose(ctx: RuleContext, params: QuietHoursParams) -> ZoneChoice:
    req, evidence = ctx.request, ctx.evidence
    recorded = None
    if evidence.timezone is not None:
        recorded = (evidence.timezone, evidence.timezone_source or "platform")
    found = from_request(
        req.user.timezone,
        req.user_id if params.infer_from_phone else "",
        req.channel,
        recorded=recorded,
        now=ctx.now,
    )
    if found is not None:
        return found
    if params.unknown_timezone == "strictest":
        zones = tuple(ZoneInfo(z) for z in params.assumed_zones)
        return ZoneChoice(zones, "assumed", "no user.timezone; every zone the policy assumes")
    if params.unknown_timezone == "defer":
        return ZoneChoice((), "unknown", "the user's time zone is unknown; set user.timezone")
    return ZoneChoice((ctx.timezone,), "policy", "no user.timezone; the policy's zone")


def _quiet_in(
    windows: list[QuietWindow], now: datetime, zones: tuple[ZoneInfo, ...]
) -> tuple[ZoneInfo, QuietWindow] | None:
    """The first zone where ``now`` is quiet, with its window; None when quiet in none."""
    for zone in zones:
        window = _window_at(windows, now.astimezone(zone))
        if window is not None:
            return zone, window
    return None


def _clear(
    windows: list[QuietWindow], now: datetime, zones: tuple[ZoneInfo, ...]
) -> datetime | None:
    """The first moment from ``now`` that is quiet in none of ``zones``, in the zone whose
    window ends last; None when there is none within a few days (windows too wide)."""
    moment = now
    for _ in range(4 * len(zones) * max(len(windows), 1) + 4):
        latest: datetime | None = None
        for zone in zones:
            local = moment.astimezone(zone)
            if _window_at(windows, local) is None:
                continue
            end = _resume(windows, local)
            if latest is None or end > latest:
                latest = end
        if latest is None:
            return moment
        moment = latest
    return None


def _resume(windows: list[QuietWindow], local: datetime) -> datetime:
    """The end of the chain of quiet windows ``local`` is in (windows may touch:
    22:00-00:00 then 00:00-07:00), in ``local``'s zone."""
    resume = local
    for _ in range(len(windows)):
        current = _window_at(windows, resume)
        if current is None:
            break
        resume = _next_end(resume, current)
    return resume


def _window_at(windows: list[QuietWindow], local: datetime) -> QuietWindow | None:
    return next((w for w in windows if w.contains(local.timetz())), None)


def _next_end(local: datetime, window: QuietWindow) -> datetime:
    """The first wall-clock ``window.end`` after ``local``, in ``local``'s zone."""
    day = local.date()
    if local.time() >= window.end:
        day += timedelta(days=1)
    return datetime.combine(day, window.end, tzinfo=local.tzinfo)
