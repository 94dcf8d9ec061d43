"""Helpers shared by the SQLite and Redis stores, so their answers cannot drift apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from guardrail.state.base import IdempotencyClaim

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


def judge_claim(
    decision_json: str, stored_hash: str | None, in_flight: bool, request_hash: str
) -> IdempotencyClaim:
    """A live record under a key, seen by a request with ``request_hash``.

    A record bound to no hash (written before keys were bound, or by a caller that binds
    none) replays for any body, as it always did.
    """
    if stored_hash and stored_hash != request_hash:
        return IdempotencyClaim("mismatch")
    if in_flight:
        return IdempotencyClaim("in_flight")
    return IdempotencyClaim("replay", decision_json)


def latest_consent(
    records: list[tuple[bool, float]],
) -> float | None:
    """When the user opted out, if the latest of ``records`` (opted_out, ts) is an opt-out
    (ties go to the opt-out, as in :func:`effective_consent`); None when opted in."""
    if not records:
        return None
    ts, opted_out = max((ts, out) for out, ts in records)
    return ts if opted_out else None
