"""Human durations and clock times for policy files: ``30m``, ``24h``, ``7d``, ``2w``, ``21:00``.

Each type carries its own JSON Schema (``WithJsonSchema``), written to accept exactly what
its validator accepts, so the schema editors check policies with never disagrees with the
loader (``tests/test_policy_schema*.py`` hold the two together).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# ASCII digits and spaces only (JSON Schema patterns are ECMA-262, where \d and \s are
# narrower than Python's); at most 6 digits each side, so every value fits a timedelta.
_NUMBER = r"[0-9]{1,6}(\.[0-9]{1,6})?"
DURATION_PATTERN = rf"^ *{_NUMBER} *[smhdw] *$"
_ZERO_PATTERN = r"^ *0{1,6}(\.0{1,6})? *[smhdw] *$"
_PATTERN = re.compile(rf" *({_NUMBER}) *([smhdw]) *", re.ASCII)
MIN_SECONDS = 0.000001
"""A timedelta's resolution: a number of seconds below it would round to nothing."""
MAX_SECONDS = 1e12
"""About 31,700 years: any more is a typo, and timedelta overflows not far above."""


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration such as 30m, 24h or 7d is expected")
    if isinstance(value, int | float):
        if not MIN_SECONDS <= value <= MAX_SECONDS:  # also refuses nan
            raise ValueError(f"a number of seconds from {MIN_SECONDS:g} to {MAX_SECONDS:g}")
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _PATTERN.fullmatch(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(3)])
    raise ValueError(f"{value!r} is not a duration; write e.g. 30m, 24h, 7d or 2w")


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _positive(value: Any) -> timedelta:
    parsed = parse_duration(value)
    if parsed <= timedelta(0):
        raise ValueError("a duration must be positive")
    return parsed


DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "not": {"pattern": _ZERO_PATTERN},
            "description": "a number and a unit: s, m, h, d or w",
        },
        {
            "type": "number",
            "minimum": MIN_SECONDS,
            "maximum": MAX_SECONDS,
            "description": "seconds",
        },
    ],
    "examples": ["30m", "24h", "7d", "2w"],
}

Duration = Annotated[
    timedelta,
    BeforeValidator(_positive),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(DURATION_SCHEMA, mode="validation"),
    WithJsonSchema({"type": "string", "examples": ["30m", "24h"]}, mode="serialization"),
]
"""A positive duration: ``30m``, ``1.5h``, ``7d``, ``2w`` or a number of seconds."""

CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_CLOCK_TIME = re.compile(CLOCK_TIME_PATTERN.strip("^$"), re.ASCII)


def parse_clock_time(value: Any) -> time:
    """``"21:00"`` → 21:00, a wall-clock time without a zone (the user's zone applies).

    An unquoted ``21:00`` is a number to the YAML 1.1 reader the loader uses (1260, base
    60), so numbers are refused with a hint instead of silently meaning 00:21.
    """
    if isinstance(value, time) and value.tzinfo is None and not (value.second or value.microsecond):
        return value
    if isinstance(value, str) and _CLOCK_TIME.fullmatch(value):
        return time(int(value[:2]), int(value[3:]))
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError('write local times in quotes, as "HH:MM" (unquoted, YAML reads a number)')
    raise ValueError(f'{value!r} is not a local time; write "HH:MM", e.g. "21:00"')


ClockTime = Annotated[
    time,
    BeforeValidator(parse_clock_time),
    PlainSerializer(lambda t: f"{t:%H:%M}", return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": CLOCK_TIME_PATTERN,
            "description": "local wall-clock time, 24-hour HH:MM, in quotes",
            "examples": ["21:00", "08:00"],
        },
    ),
]
"""A local wall-clock time, ``"HH:MM"`` (24-hour, no zone: the user's zone applies)."""
