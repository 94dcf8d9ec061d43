"""Helpers shared by the SQLite and Redis stores, so their answers cannot drift apart."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

EVENT_DEDUPE_TTL = timedelta(days=7)
"""How long a platform event id is remembered (platforms redeliver within hours)."""
ALL_BOTS = "*"
"""The consent record that covers every bot of the tenant."""


STORE_MIN = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest time a store keeps: nothing a platform sends is older."""
STORE_MAX = datetime(3000, 1, 1, tzinfo=UTC)
"""The latest time a store keeps. Far enough for any skew check above it, near enough that
``ts ± horizon`` can never leave the range :class:`datetime` represents (year 1 to 9999)."""
_MIN_EPOCH, _MAX_EPOCH = STORE_MIN.timestamp(), STORE_MAX.timestamp()


class TimestampOutOfRange(ValueError):
    """A timestamp outside what the store keeps; refused before anything is written."""


def to_epoch(dt: datetime) -> float:
    """Epoch seconds; naive datetimes and times outside the store's range are refused.

    The range check is what keeps "0001-01-01T00:00:00+14:00" (year 0 in UTC) out of the
    store: once stored, such a value would make every later read of that user fail.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"timestamp {dt!r} has no time zone")
    try:
        epoch = dt.timestamp()
    except (OverflowError, ValueError) as exc:
        raise TimestampOutOfRange(f"timestamp {dt.isoformat()} is out of range") from exc
    if not _MIN_EPOCH <= epoch <= _MAX_EPOCH:
        raise TimestampOutOfRange(
            f"timestamp {dt.isoformat()} is outside {STORE_MIN.year}..{STORE_MAX.year}"
        )
    return epoch


def bounded(dt: datetime) -> datetime:
    """``dt`` moved into the store's range (window edges like ``now - 10 years``)."""
    try:
        epoch = dt.timestamp()
    except (OverflowError, ValueError):
        return STORE_MIN if dt.year < STORE_MIN.year else STORE_MAX
    return from_epoch(epoch)


def since(now: datetime, span: timedelta) -> datetime:
    """``now - span``, held inside the store's range (a horizon of millennia cannot overflow)."""
    try:
        return bounded(now - span)
    except OverflowError:
        return STORE_MIN


def from_epoch(ts: float) -> datetime:
    """A stored time back as a datetime; never raises, whatever an older release stored.

    Rows written before the range check existed may hold times datetime cannot represent
    (year 0, year 10000); they are read as the nearest edge of the range instead of
    making the user's every read fail.
    """
    if math.isnan(ts):
        return STORE_MIN
    return datetime.fromtimestamp(min(max(ts, _MIN_EPOCH), _MAX_EPOCH), tz=UTC)


EvidenceSource = Literal["webhook", "proxy", "ingest", "admin", "bot"]
"""Who vouched for a consent change: a signed platform webhook, the platform's answer read
by the proxy (Telegram ``getUpdates``), an ingest key, an admin key, or the bot's own key
(its engine forwarding what the user wrote). Also the event's origin in its identity
(:func:`event_key`)."""
USER_EVIDENCE: frozenset[str] = frozenset({"webhook", "proxy", "ingest", "admin"})
"""Sources that speak for the user (records from before sources were kept count too). The
bot is the party an opt-out restrains: what it forwards is recorded, but never undoes an
opt-out that came from anywhere else."""


@dataclass(frozen=True)
class ConsentRecord:
    """The current consent state of one (user, bot) or (user, every bot), with its evidence.

    ``ts`` is the time the event claims, ``arrival`` when the gateway applied it: records
    are ordered by arrival, so a claimed time (a clock minutes fast, an opt-in dated 2100)
    cannot put a change ahead of a STOP that arrived after it.
    """

    opted_out: bool
    ts: float
    arrival: float
    source: str

    def encode(self) -> str:
        """The Redis hash value: ``out|<ts>|<arrival>|<source>``."""
        state = "out" if self.opted_out else "in"
        return f"{state}|{self.ts!r}|{self.arrival!r}|{self.source}"

    @classmethod
    def decode(cls, value: str) -> ConsentRecord:
        """Parse :meth:`encode`; older ``out|<ts>`` values arrived at their claimed time."""
        parts = value.split("|")
        ts = _float(parts[1]) if len(parts) > 1 else 0.0
        arrival = _float(parts[2]) if len(parts) > 2 else ts
        source = parts[3] if len(parts) > 3 else "legacy"
        return cls(parts[0] == "out", ts, arrival, source)


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return 0.0 if math.isnan(value) else value


@dataclass(frozen=True)
class ConsentChange:
    """An opt-out or opt-in to apply: to ``bot``, or every bot when ``bot`` is None."""

    bot: str | None
    opted_out: bool
    ts: datetime
    source: EvidenceSource
    arrival: datetime | None = None
    """When the gateway received it (its clock); None: at the claimed ``ts`` (replay)."""


@dataclass(frozen=True)
class ConsentOutcome:
    applied: bool
    record: ConsentRecord | None = None
    """The record written, when applied."""
    refused: str | None = None
    """Why an opt-in was not applied."""


def decide_consent(change: ConsentChange, records: dict[str, ConsentRecord]) -> ConsentOutcome:
    """Whether ``change`` applies over the user's current ``records`` (field -> record).

    An opt-out always applies and becomes the latest record. An opt-in applies only when
    every opt-out it would lift was made before the opt-in's claimed time (a late START
    said before the STOP does not lift it; ties go to the opt-out) and came from a source
    it may overrule: the bot's own forwarded opt-in lifts only opt-outs the bot forwarded.
    An opt-in to one bot can lift that bot's and the all-bots records; one to every bot
    can lift them all. Shared by both stores, so their answers cannot drift apart.
    """
    ts = to_epoch(change.ts)
    arrival = to_epoch(change.arrival) if change.arrival is not None else ts
    field = ALL_BOTS if change.bot is None else change.bot
    if not change.opted_out:
        lifts = (
            records.items()
            if change.bot is None
            else ((k, r) for k, r in records.items() if k in (field, ALL_BOTS))
        )
        for key, record in lifts:
            if not record.opted_out:
                continue
            scope = "every bot" if key == ALL_BOTS else f"bot {key}"
            if change.source == "bot" and record.source != "bot":
                return ConsentOutcome(
                    False,
                    refused=f"the opt-out of {scope} came from {record.source}; an opt-in from "
                    f"{change.source} does not undo it (only the user can)",
                )
            if ts <= record.ts:
                return ConsentOutcome(
                    False,
                    refused=f"the opt-in is dated {iso_epoch(ts)}, not after the opt-out of "
                    f"{scope} ({iso_epoch(record.ts)})",
                )
    # Strictly the latest arrival, even across replicas whose clocks differ a little.
    latest = max((r.arrival for r in records.values()), default=arrival)
    if latest >= arrival:
        arrival = math.nextafter(latest, math.inf)
    return ConsentOutcome(True, ConsentRecord(change.opted_out, ts, arrival, change.source))


def iso_epoch(ts: float) -> str:
    return from_epoch(ts).isoformat()


def effective_consent(
    bot_record: ConsentRecord | None, all_record: ConsentRecord | None
) -> tuple[bool, Literal["bot", "all"] | None, datetime | None]:
    """Combine the bot and all-bots consent records: the latest to arrive wins.

    Ties go to the opt-out (a user who said stop must never be messaged by accident).
    Returns ``(opted_out, scope, opted_out_at)``; scope and time are None when opted in.
    """
    candidates: list[tuple[float, bool, bool, float]] = []  # (arrival, out, is_all, ts)
    if bot_record is not None:
        candidates.append((bot_record.arrival, bot_record.opted_out, False, bot_record.ts))
    if all_record is not None:
        candidates.append((all_record.arrival, all_record.opted_out, True, all_record.ts))
    if not candidates:
        return False, None, None
    _, opted_out, is_all, ts = max(candidates)
    if not opted_out:
        return False, None, None
    return True, ("all" if is_all else "bot"), from_epoch(ts)


def event_key(kind: str, event_id: str, *, origin: str, bot: str) -> str:
    """An event id as the store remembers it: scoped by where it came from (``origin``, an
    :data:`EvidenceSource`), by bot and by event type.

    Ids are only unique within one source and one bot: Telegram's update ids count per bot,
    and a bot allowed to forward user events could otherwise post a message under the id
    the platform will later give another bot's STOP, which would then be dropped as a
    redelivery. A receipt reusing a message id is no duplicate either. (Keys written
    before this scoping, ``<kind>:<id>``, match nothing now and expire with their TTL.)"""
    return f"{origin}:{bot}:{kind}:{event_id}"


SEEN_OPT_OUT = "out"
"""What the stores keep under a seen id whose event carried an opt-out ("1" otherwise):
an opt-out arriving under an id seen on another event is applied anyway, while a
redelivered opt-out stays a duplicate (it must not outrank a START said since)."""


ClaimState = Literal["claimed", "replay", "in_flight", "mismatch"]


@dataclass(frozen=True)
class IdempotencyClaim:
    """What :meth:`Store.claim_idempotent` found under a key, or that it claimed it."""

    state: ClaimState
    """``claimed``: nothing live was there, an in-flight marker now is; ``replay``: the
    decision stored for this request; ``in_flight``: another call of this request holds the
    marker; ``mismatch``: the key is bound to a different request body."""
    decision_json: str | None = None
    """For ``replay``: the stored decision."""


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
    bot_record: ConsentRecord | None, all_record: ConsentRecord | None
) -> float | None:
    """When the user opted out (the claimed time, epoch seconds), if the records say so as
    :func:`effective_consent` reads them (latest arrival wins, ties to the opt-out); None
    when opted in. The commit's one-reply-after-STOP check counts messages from there."""
    opted_out, _, at = effective_consent(bot_record, all_record)
    return to_epoch(at) if opted_out and at is not None else None


@dataclass(frozen=True)
class KeyTtls:
    """How long Redis keeps each kind of key after its last write (garbage collection:
    the scheduled prune decides retention; TTLs guarantee nothing outlives it for long if
    pruning stops)."""

    messages: timedelta = timedelta(days=90)
    risk: timedelta = timedelta(days=30)
    records: timedelta = timedelta(days=5 * 365)
    """Consent and first-contact records."""
