"""Quiet hours in the user's local time: proactive messages are deferred, not dropped.

The answer is ``defer`` with ``retry_after`` = the moment the quiet window ends, as an
aware timestamp in the user's zone, so the engine can simply schedule the retry.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrail.durations import ClockTime
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams

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

    @field_validator("windows")
    @classmethod
    def _no_overlap(cls, windows: list[QuietWindow]) -> list[QuietWindow]:
        for i, a in enumerate(windows):
            for b in windows[i + 1 :]:
                if a.minutes() & b.minutes():
                    raise ValueError(f"quiet windows {a.describe()} and {b.describe()} overlap")
        return windows


class QuietHours(Rule[QuietHoursParams]):
    id = "quiet_hours"
    params_model = QuietHoursParams

    def check(self, ctx: RuleContext, params: QuietHoursParams) -> Finding | None:
        local = ctx.now.astimezone(ctx.timezone)
        window = _window_at(params.windows, local)
        if window is None:
            return None
        resume = local
        # Windows may touch (22:00-00:00 then 00:00-07:00): walk to the end of the chain.
        for _ in range(len(params.windows)):
            current = _window_at(params.windows, resume)
            if current is None:
                break
            resume = _next_end(resume, current)
        return self.finding(
            "defer",
            f"quiet hours {window.describe()} in {ctx.timezone.key}; local time {local:%H:%M}",
            retry_after=resume,
        )


def _window_at(windows: list[QuietWindow], local: datetime) -> QuietWindow | None:
    return next((w for w in windows if w.contains(local.timetz())), None)


def _next_end(local: datetime, window: QuietWindow) -> datetime:
    """The first wall-clock ``window.end`` after ``local``, in ``local``'s zone."""
    day = local.date()
    if local.time() >= window.end:
        day += timedelta(days=1)
    return datetime.combine(day, window.end, tzinfo=local.tzinfo)
