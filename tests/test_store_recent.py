"""Crisis facts of a user's last messages and imminent risk signals, in both stores: kept
minutes, read in the event's one snapshot, per bot, expired on time; imminence survives the
round trip (and an older risk record without it reads as not imminent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guardrail.state import Store
from guardrail.state.base import EventWrite, RecentMessage
from tests.store_support import STORES, store_of

T0 = datetime(2026, 12, 10, 21, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
WINDOW = timedelta(minutes=15)
TENANT, BOT, OTHER, USER = "acme", "coach", "buddy", "u-7"


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for s in store_of(request.param, tmp_path):
        yield s


def remember(ts: datetime, facts: tuple[str, ...], level: int = 0) -> EventWrite:
    recent = RecentMessage(ts, facts, level, imminent=False)
    return EventWrite(ts=ts, user_message=True, recent=recent, recent_ttl=WINDOW)


async def test_recent_facts_are_read_back_in_order_per_bot(store: Store) -> None:
    await store.apply_event(TENANT, BOT, USER, remember(T0, ("M:pills:have:q",)))
    await store.apply_event(TENANT, BOT, USER, remember(T0 + MINUTE, ("H",), level=1))
    await store.apply_event(TENANT, OTHER, USER, remember(T0 + MINUTE, ("G:strong",)))
    snap = await store.event_snapshot(TENANT, BOT, USER, T0 + 2 * MINUTE, WINDOW)
    assert [m.facts for m in snap.recent] == [("M:pills:have:q",), ("H",)]
    assert [m.level for m in snap.recent] == [0, 1]
    assert snap.recent[0].ts == T0
    other = await store.event_snapshot(TENANT, OTHER, USER, T0 + 2 * MINUTE, WINDOW)
    assert [m.facts for m in other.recent] == [("G:strong",)]


async def test_recent_facts_leave_the_window(store: Store) -> None:
    await store.apply_event(TENANT, BOT, USER, remember(T0, ("M:pills:have:q",)))
    late = await store.event_snapshot(TENANT, BOT, USER, T0 + WINDOW + MINUTE, WINDOW)
    assert late.recent == ()
    # A later write drops the expired ones for good (SQLite), or their key expires (Redis).
    later = T0 + 2 * WINDOW
    await store.apply_event(TENANT, BOT, USER, remember(later, ("H",)))
    wide = await store.event_snapshot(TENANT, BOT, USER, later, 10 * WINDOW)
    assert [m.facts for m in wide.recent] == [("H",)]


async def test_decision_snapshots_do_not_carry_recent_facts(store: Store) -> None:
    await store.apply_event(TENANT, BOT, USER, remember(T0, ("A:wish:die:none:",), level=2))
    snap = await store.snapshot(TENANT, BOT, USER, T0 + MINUTE, timedelta(days=1))
    assert snap.recent == ()


async def test_imminent_risk_round_trips(store: Store) -> None:
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0, risk_level=2))
    write = EventWrite(ts=T0 + MINUTE, risk_level=4, risk_imminent=True)
    await store.apply_event(TENANT, OTHER, USER, write)
    snap = await store.snapshot(TENANT, BOT, USER, T0 + 2 * MINUTE, timedelta(days=1))
    assert [(e.level, e.imminent, e.bot) for e in snap.risk_events] == [
        (2, False, BOT),
        (4, True, OTHER),
    ]


async def test_event_snapshot_keeps_consent(store: Store) -> None:
    await store.set_consent(TENANT, BOT, USER, True, T0)
    snap = await store.event_snapshot(TENANT, BOT, USER, T0 + MINUTE, WINDOW)
    assert snap.opted_out and snap.user_messages == ()


def test_an_older_sqlite_file_gains_the_imminent_column(tmp_path: Path) -> None:
    import asyncio
    import sqlite3

    from guardrail.state.sqlite import SQLiteStore

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE risk_events (tenant TEXT NOT NULL, user TEXT NOT NULL, bot TEXT NOT NULL,"
        " ts REAL NOT NULL, level INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO risk_events VALUES ('acme', 'u-7', 'coach', ?, 3)", (T0.timestamp(),))
    db.commit()
    db.close()

    async def read() -> list[tuple[int, bool]]:
        store = SQLiteStore(path)
        try:
            snap = await store.snapshot(TENANT, BOT, USER, T0 + MINUTE, timedelta(days=1))
        finally:
            await store.close()
        return [(e.level, e.imminent) for e in snap.risk_events]

    assert asyncio.run(read()) == [(3, False)]


async def test_recent_embeddings_round_trip(store: Store) -> None:
    """A message's embedding (float16 bytes, any byte value, '|' included) comes back
    whole beside its facts; a message kept without one reads back empty."""
    vector = bytes(range(256)) * 4  # 512 float16 values, every byte value, b"|" too
    write = EventWrite(
        ts=T0,
        user_message=True,
        recent=RecentMessage(T0, (), 0, vector=vector),
        recent_ttl=WINDOW,
    )
    await store.apply_event(TENANT, BOT, USER, write)
    await store.apply_event(TENANT, BOT, USER, remember(T0 + MINUTE, ("H",)))
    snap = await store.event_snapshot(TENANT, BOT, USER, T0 + 2 * MINUTE, WINDOW)
    assert [(m.facts, m.vector) for m in snap.recent] == [((), vector), (("H",), b"")]


async def test_a_redis_member_written_before_embeddings_reads_as_facts_only() -> None:
    """Members of the older "<id>|<level>|<0/1>|<facts>" form (a rolling upgrade) still read."""
    from guardrail.state.redis import _recent

    old = _recent("ab12|2|1|A:wish:die:none:,T:now", T0.timestamp())
    assert (old.level, old.imminent, old.facts, old.vector) == (
        2,
        True,
        ("A:wish:die:none:", "T:now"),
        b"",
    )


def test_an_older_sqlite_file_gains_the_vector_column(tmp_path: Path) -> None:
    import asyncio
    import sqlite3

    from guardrail.state.sqlite import SQLiteStore

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE recent_facts (tenant TEXT NOT NULL, user TEXT NOT NULL,"
        " bot TEXT NOT NULL, ts REAL NOT NULL, facts TEXT NOT NULL, level INTEGER NOT NULL,"
        " imminent INTEGER NOT NULL, expires_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO recent_facts VALUES ('acme', 'u-7', 'coach', ?, 'H', 1, 0, ?)",
        (T0.timestamp(), (T0 + WINDOW).timestamp()),
    )
    db.commit()
    db.close()

    async def read() -> list[tuple[tuple[str, ...], bytes]]:
        store = SQLiteStore(path)
        try:
            snap = await store.event_snapshot(TENANT, BOT, USER, T0 + MINUTE, WINDOW)
        finally:
            await store.close()
        return [(m.facts, m.vector) for m in snap.recent]

    assert asyncio.run(read()) == [(("H",), b"")]


async def test_erasure_drops_recent_facts_and_embeddings(store: Store) -> None:
    """A user's erasure leaves no crisis facts or embedding of their last messages (SQLite
    kept them until their window passed)."""
    write = EventWrite(
        ts=T0,
        user_message=True,
        recent=RecentMessage(T0, ("H",), 1, vector=b"\x01\x02" * 512),
        recent_ttl=WINDOW,
    )
    await store.apply_event(TENANT, BOT, USER, write)
    await store.erase_user(TENANT, USER)
    snap = await store.event_snapshot(TENANT, BOT, USER, T0 + MINUTE, WINDOW)
    assert snap.recent == ()
