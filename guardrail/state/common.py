"""Helpers shared by the SQLite and Redis stores, so their answers cannot drift apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

EVENT_DEDUPE_TTL = timedelta(days=7)
"""How long a platform event id is remembered (platforms redeliver within hours)."""
ALL_BOTS = "*"
"""The consent record that covers every bot of the tenant."""


def to_epoch(dt: datetime) -> float:
    """Epoch seconds; naive datetimes are refused because their zone is a guess."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"timestamp {dt!r} has no time zone")
    return dt.timestamp()


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def effective_consent(
    bot_record: tuple[bool, float] | None, all_record: tuple[bool, float] | None
) -> tuple[bool, Literal["bot", "all"] | None, datetime | None]:
    """Combine the bot and all-bots consent records: the latest change wins.

    Ties go to the opt-out (a user who said stop must never be messaged by accident).
    Returns ``(opted_out, scope, opted_out_at)``; scope and time are None when opted in.
    """
    candidates: list[tuple[float, bool, bool]] = []  # (ts, opted_out, is_all)
    if bot_record is not None:
        candidates.append((bot_record[1], bot_record[0], False))
    if all_record is not None:
        candidates.append((all_record[1], all_record[0], True))
    if not candidates:
        return False, None, None
    ts, opted_out, is_all = max(candidates)
    if not opted_out:
        return False, None, None
    return True, ("all" if is_all else "bot"), from_epoch(ts)


def event_key(kind: str, event_id: str) -> str:
    """Namespace event ids per event type, so a receipt reusing a message id is not a dup."""
    return f"{kind}:{event_id}"
