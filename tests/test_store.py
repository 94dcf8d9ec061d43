"""One behavioural suite for every Store backend: SQLite on a temp file, Redis on the real server.

Both implementations must answer identically, so every test runs against both; the
Redis variant is marked ``redis`` (deselect with ``-m "not redis"`` where no server runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import redis.asyncio.retry as redis_retry
from redis.asyncio.connection import Connection

from guardrail.models import Kind
from guardrail.state import (
    Cap,
    CommitRequest,
    Snapshot,
    Store,
    StoreUnavailable,
    open_store,
)
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SCHEMA_VERSION, SQLiteStore

REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[1]

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
TENANT, BOT, USER = "acme", "coach", "u-1"


def at(hours: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, seconds=seconds)


def proactive(
    ts: datetime,
    *caps: Cap,
    max_unanswered: int | None = None,
    key: str | None = None,
    payload: str | None = None,
) -> CommitRequest:
    decision_id = uuid.uuid4().hex
    return CommitRequest(
        decision_id=decision_id,
        kind=Kind.PROACTIVE,
        ts=ts,
        decision_json=payload or f'{{"decision_id": "{decision_id}"}}',
        caps=caps,
        max_unanswered=max_unanswered,
        idempotency_key=key,
    )


def reply(ts: datetime, *caps: Cap, max_unanswered: int | None = None) -> CommitRequest:
    return CommitRequest(
        decision_id=uuid.uuid4().hex,
        kind=Kind.REPLY,
        ts=ts,
        decision_json="{}",
        caps=caps,
        max_unanswered=max_unanswered,
    )


async def _drop_prefix(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        names = [name async for name in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if names:
            await client.delete(*names)
    finally:
        await client.aclose()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend."""
    if request.param == "sqlite":
        sqlite_store = SQLiteStore(tmp_path / "state.db")
        yield sqlite_store
        await sqlite_store.close()
        return
    prefix = f"grtest-{uuid.uuid4().hex}"
    redis_store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        yield redis_store
    finally:
        await redis_store.close()
        await _drop_prefix(prefix)


async def snap(
    store: Store, now: datetime = T0 + DAY, bot: str = BOT, user: str = USER
) -> Snapshot:
    return await store.snapshot(TENANT, bot, user, now, 30 * DAY)


async def commit(store: Store, req: CommitRequest, bot: str = BOT, user: str = USER) -> bool:
    return (await store.commit(TENANT, bot, user, req)).committed


# --- snapshot basics ---------------------------------------------------------------------


async def test_empty_user_has_empty_snapshot(store: Store) -> None:
    await store.ping()
    assert await snap(store) == Snapshot()


async def test_user_messages_and_first_contact(store: Store) -> None:
    # Out of order on purpose: first contact is the earliest, not the first recorded.
    assert await store.record_user_message(TENANT, BOT, USER, at(2))
    assert await store.record_user_message(TENANT, BOT, USER, at(1))
    assert await store.record_user_message(TENANT, BOT, USER, at(1))  # same second, no id
    s = await snap(store)
    assert s.first_user_message == at(1)
    assert s.user_messages == (at(1), at(1), at(2))
    assert s.user_messages[0].tzinfo is not None
    assert s.user_messages[0].utcoffset() == timedelta(0)
    # Scoped to (tenant, bot, user).
    assert await snap(store, bot="other-bot") == Snapshot()
    assert await snap(store, user="u-2") == Snapshot()
    assert await store.snapshot("other-tenant", BOT, USER, T0 + DAY, 30 * DAY) == Snapshot()


async def test_timestamps_keep_microseconds_and_accept_any_offset(store: Store) -> None:
    paris = T0.replace(microsecond=123456).astimezone(timezone(timedelta(hours=1)))
    await store.record_user_message(TENANT, BOT, USER, paris)
    s = await snap(store)
    assert s.user_messages == (T0.replace(microsecond=123456),)
    with pytest.raises(ValueError):
        await store.record_user_message(TENANT, BOT, USER, datetime(2025, 3, 3, 12, 0))


async def test_derived_last_message_and_unanswered(store: Store) -> None:
    assert await commit(store, proactive(at(0)))  # before any user message: unanswered
    await store.record_user_message(TENANT, BOT, USER, at(1))
    assert await commit(store, proactive(at(2)))
    assert await commit(store, proactive(at(3)))
    s = await snap(store)
    assert s.last_user_message == at(1)
    assert s.unanswered_proactive == 2
    assert s.proactive_sent == (at(0), at(2), at(3))
    await store.record_user_message(TENANT, BOT, USER, at(4))
    assert (await snap(store)).unanswered_proactive == 0


async def test_horizon_bounds_lists_but_not_first_contact(store: Store) -> None:
    await store.record_user_message(TENANT, BOT, USER, T0 - 10 * DAY)
    await store.record_user_message(TENANT, BOT, USER, T0)
    await store.record_user_message(TENANT, BOT, USER, T0 + HOUR)  # after `now`
    assert await commit(store, proactive(T0 - 10 * DAY))
    assert await commit(store, proactive(T0))

    s = await store.snapshot(TENANT, BOT, USER, T0, WEEK)
    assert s.first_user_message == T0 - 10 * DAY
    assert s.user_messages == (T0,)
    assert s.proactive_sent == (T0,)
    assert s.proactive_sent_all_bots == (T0,)
    assert s.outbound_sent == (T0,)

    wide = await store.snapshot(TENANT, BOT, USER, T0, 30 * DAY)
    assert wide.user_messages == (T0 - 10 * DAY, T0)
    assert wide.proactive_sent == (T0 - 10 * DAY, T0)

    # The horizon's lower edge is inclusive.
    edge = await store.snapshot(TENANT, BOT, USER, T0, 10 * DAY)
    assert edge.user_messages == (T0 - 10 * DAY, T0)


# --- consent -----------------------------------------------------------------------------


async def test_consent_latest_change_wins_whatever_the_order(store: Store) -> None:
    await store.set_consent(TENANT, BOT, USER, True, at(2))
    await store.set_consent(TENANT, BOT, USER, False, at(1))  # late, older: ignored
    s = await snap(store)
    assert (s.opted_out, s.opt_out_scope, s.opted_out_at) == (True, "bot", at(2))
    assert not (await snap(store, bot="other-bot")).opted_out

    await store.set_consent(TENANT, BOT, USER, False, at(3))
    s = await snap(store)
    assert (s.opted_out, s.opt_out_scope, s.opted_out_at) == (False, None, None)


async def test_consent_bot_and_all_bots_scopes(store: Store) -> None:
    await store.set_consent(TENANT, None, USER, True, at(1))
    for bot in (BOT, "other-bot"):
        s = await snap(store, bot=bot)
        assert (s.opted_out, s.opt_out_scope, s.opted_out_at) == (True, "all", at(1))

    # A later opt-in to one bot beats the earlier all-bots opt-out, for that bot only.
    await store.set_consent(TENANT, BOT, USER, False, at(2))
    assert not (await snap(store)).opted_out
    assert (await snap(store, bot="other-bot")).opt_out_scope == "all"

    # An older all-bots opt-in arriving late changes nothing.
    await store.set_consent(TENANT, None, USER, False, at(0))
    assert (await snap(store, bot="other-bot")).opted_out

    # A later all-bots opt-in lifts a bot opt-out made before it.
    await store.set_consent(TENANT, "other-bot", USER, True, at(3))
    assert (await snap(store, bot="other-bot")).opt_out_scope == "bot"
    await store.set_consent(TENANT, None, USER, False, at(4))
    assert not (await snap(store, bot="other-bot")).opted_out
    assert not (await snap(store)).opted_out


async def test_consent_tie_goes_to_opt_out(store: Store) -> None:
    await store.set_consent(TENANT, BOT, USER, True, at(1))
    await store.set_consent(TENANT, BOT, USER, False, at(1))
    assert (await snap(store)).opted_out
    await store.set_consent(TENANT, "b2", USER, False, at(1))
    await store.set_consent(TENANT, "b2", USER, True, at(1))
    assert (await snap(store, bot="b2")).opted_out


# --- event dedupe ------------------------------------------------------------------------


async def test_event_ids_dedupe_messages_and_receipts(store: Store) -> None:
    assert await store.record_user_message(TENANT, BOT, USER, at(1), event_id="m-1")
    assert not await store.record_user_message(TENANT, BOT, USER, at(1), event_id="m-1")
    assert await store.record_user_message(TENANT, BOT, USER, at(2), event_id="m-2")
    assert (await snap(store)).user_messages == (at(1), at(2))

    assert await store.record_receipt(TENANT, BOT, USER, at(1), "delivered", event_id="m-1")
    assert not await store.record_receipt(TENANT, BOT, USER, at(1), "delivered", event_id="m-1")
    assert await store.record_receipt(TENANT, BOT, USER, at(1), "read", event_id="m-1")
    assert not await store.record_receipt(TENANT, BOT, USER, at(1), "read", event_id="m-1")
    # Without an id nothing can be deduplicated.
    assert await store.record_receipt(TENANT, BOT, USER, at(1), "read")
    assert await store.record_receipt(TENANT, BOT, USER, at(1), "read")
    # Receipts are not user messages.
    assert (await snap(store)).user_messages == (at(1), at(2))


# --- commit: caps ------------------------------------------------------------------------


async def test_bot_cap_and_rolling_window_edges(store: Store) -> None:
    cap = Cap("bot", 2, DAY)
    assert await commit(store, proactive(at(0), cap))
    assert await commit(store, proactive(at(1), cap))
    refused = await store.commit(TENANT, BOT, USER, proactive(at(2), cap))
    assert not refused.committed
    assert refused.violated_cap == cap
    assert refused.details == {"count": 2, "limit": 2}
    assert not refused.unanswered_exceeded
    assert refused.replay_json is None

    # Another bot has its own budget under a bot-scoped cap.
    assert await commit(store, proactive(at(2), cap), bot="other-bot")

    # The window is [ts - window, ts]: the message at T0 still counts at exactly T0 + 1 day.
    assert not await commit(store, proactive(at(24), cap))
    assert await commit(store, proactive(at(24, seconds=1), cap))
    assert (await snap(store, now=T0 + 2 * DAY)).proactive_sent == (at(0), at(1), at(24, 1))


async def test_all_bots_cap_counts_every_bot(store: Store) -> None:
    cap = Cap("all_bots", 2, DAY)
    assert await commit(store, proactive(at(0), cap), bot="a")
    assert await commit(store, proactive(at(1), cap), bot="b")
    result = await store.commit(TENANT, "c", USER, proactive(at(2), cap))
    assert (result.committed, result.violated_cap) == (False, cap)
    # Per user: another user of the same tenant is unaffected.
    assert await commit(store, proactive(at(2), cap), bot="c", user="u-2")
    s = await snap(store, bot="c")
    assert s.proactive_sent == ()
    assert s.proactive_sent_all_bots == (at(0), at(1))


async def test_several_caps_at_once(store: Store) -> None:
    hourly = Cap("bot", 1, HOUR)
    daily_all = Cap("all_bots", 3, DAY)
    weekly = Cap("bot", 10, WEEK)
    caps = (hourly, daily_all, weekly)
    assert await commit(store, proactive(at(0), *caps))
    result = await store.commit(TENANT, BOT, USER, proactive(at(0.5), *caps))
    assert result.violated_cap == hourly
    assert await commit(store, proactive(at(1.5), *caps))
    assert await commit(store, proactive(at(1.5), *caps), bot="other-bot")
    result = await store.commit(TENANT, BOT, USER, proactive(at(3), *caps))
    assert result.violated_cap == daily_all
    assert result.details == {"count": 3, "limit": 3}


# --- commit: unanswered and replies ------------------------------------------------------


async def test_max_unanswered_refuses_until_the_user_writes(store: Store) -> None:
    await store.record_user_message(TENANT, BOT, USER, at(0))
    assert await commit(store, proactive(at(1), max_unanswered=2))
    assert await commit(store, proactive(at(2), max_unanswered=2))
    result = await store.commit(TENANT, BOT, USER, proactive(at(3), max_unanswered=2))
    assert result.unanswered_exceeded and not result.committed
    assert result.violated_cap is None
    assert result.details == {"unanswered": 2, "limit": 2}
    # Unanswered is per bot.
    assert await commit(store, proactive(at(3), max_unanswered=2), bot="other-bot")

    # A late-arriving older user message answers nothing sent after it...
    await store.record_user_message(TENANT, BOT, USER, at(0.5))
    assert not await commit(store, proactive(at(3), max_unanswered=2))
    # ...a message after the last proactive one does.
    await store.record_user_message(TENANT, BOT, USER, at(2.5))
    assert await commit(store, proactive(at(3), max_unanswered=2))
    # A proactive message at the very instant of the user's message counts as answered.
    await store.record_user_message(TENANT, BOT, USER, at(4))
    assert await commit(store, proactive(at(4), max_unanswered=1))
    assert (await snap(store)).unanswered_proactive == 0


async def test_max_unanswered_counts_messages_before_any_user_message(store: Store) -> None:
    assert await commit(store, proactive(at(0), max_unanswered=1))
    assert not await commit(store, proactive(at(1), max_unanswered=1))


async def test_replies_are_recorded_but_never_capped(store: Store) -> None:
    cap = Cap("bot", 1, DAY)
    for hour in (0, 1, 2):
        assert await commit(store, reply(at(hour), cap, max_unanswered=0))
    assert await commit(store, proactive(at(3), cap))
    assert not await commit(store, proactive(at(4), cap))
    assert await commit(store, reply(at(5), cap))
    s = await snap(store)
    assert s.outbound_sent == (at(0), at(1), at(2), at(3), at(5))
    assert s.proactive_sent == (at(3),)
    assert s.proactive_sent_all_bots == (at(3),)
    assert s.unanswered_proactive == 1


# --- idempotency -------------------------------------------------------------------------


async def test_commit_twice_with_one_key_replays(store: Store) -> None:
    cap = Cap("bot", 5, DAY)
    first = proactive(at(0), cap, key="k-1", payload='{"n": 1}')
    assert await commit(store, first)
    again = await store.commit(TENANT, BOT, USER, proactive(at(0.1), cap, key="k-1"))
    assert not again.committed
    assert again.replay_json == '{"n": 1}'
    assert (await snap(store)).proactive_sent == (at(0),)
    assert await store.get_idempotent(TENANT, BOT, USER, "k-1", at(1)) == '{"n": 1}'
    # A key's lifetime is the request's ttl (24 h by default), measured on the caller's clock.
    assert await store.get_idempotent(TENANT, BOT, USER, "k-1", at(25)) is None
    assert await commit(store, proactive(at(25), cap, key="k-1"))
    assert len((await snap(store, now=T0 + 2 * DAY)).proactive_sent) == 2


async def test_replayed_reply_counts_nothing(store: Store) -> None:
    req = reply(at(0))
    req = CommitRequest(req.decision_id, Kind.REPLY, at(0), '{"r": 1}', idempotency_key="r-1")
    assert await commit(store, req)
    again = await store.commit(TENANT, BOT, USER, req)
    assert again.replay_json == '{"r": 1}'
    assert (await snap(store)).outbound_sent == (at(0),)


async def test_put_and_get_idempotent_with_expiry(store: Store) -> None:
    async def get(key: str, now: datetime) -> str | None:
        return await store.get_idempotent(TENANT, BOT, USER, key, now)

    async def put(key: str, decision_json: str, now: datetime) -> str | None:
        return await store.put_idempotent(TENANT, BOT, USER, key, decision_json, now, HOUR)

    assert await get("b-1", T0) is None
    assert await put("b-1", '{"v": "block"}', T0) is None
    assert await put("b-1", '{"v": "2nd"}', at(0.5)) == '{"v": "block"}'
    assert await get("b-1", at(0.5)) == '{"v": "block"}'
    assert await get("b-1", at(1)) is None  # expires_at is exclusive
    assert await get("b-1", at(2)) is None
    # Once expired the key can be used again.
    assert await put("b-1", '{"v": "new"}', at(2)) is None
    assert await get("b-1", at(2.5)) == '{"v": "new"}'


async def test_idempotency_keys_are_scoped_to_tenant_bot_and_user(store: Store) -> None:
    assert await store.put_idempotent(TENANT, BOT, USER, "k", '{"v": 1}', T0, HOUR) is None
    for tenant, bot, user in (
        ("other-tenant", BOT, USER),
        (TENANT, "b2", USER),
        (TENANT, BOT, "u2"),
    ):
        assert await store.get_idempotent(tenant, bot, user, "k", T0) is None
        assert await store.put_idempotent(tenant, bot, user, "k", '{"v": 2}', T0, HOUR) is None
        assert await store.get_idempotent(tenant, bot, user, "k", T0) == '{"v": 2}'
    assert await store.get_idempotent(TENANT, BOT, USER, "k", T0) == '{"v": 1}'
    # commit and release see the same scope: another bot's block replays nothing here.
    assert await commit(store, proactive(T0, key="k"), bot="b3")
    assert await store.get_idempotent(TENANT, BOT, USER, "k", T0) == '{"v": 1}'
    await store.release(TENANT, "b2", USER, "no-such-decision", "k")
    assert await store.get_idempotent(TENANT, "b2", USER, "k", T0) is None
    assert await store.get_idempotent(TENANT, BOT, USER, "k", T0) == '{"v": 1}'


async def test_commit_replays_a_stored_block(store: Store) -> None:
    assert await store.put_idempotent(TENANT, BOT, USER, "k-b", '{"v": "block"}', T0, DAY) is None
    result = await store.commit(TENANT, BOT, USER, proactive(at(1), key="k-b"))
    assert (result.committed, result.replay_json) == (False, '{"v": "block"}')
    assert (await snap(store)).outbound_sent == ()


async def test_put_idempotent_returns_a_committed_decision(store: Store) -> None:
    assert await commit(store, proactive(T0, key="k-a", payload='{"v": "allow"}'))
    earlier = await store.put_idempotent(TENANT, BOT, USER, "k-a", '{"v": "block"}', at(1), DAY)
    assert earlier == '{"v": "allow"}'
    assert await store.get_idempotent(TENANT, BOT, USER, "k-a", at(1)) == '{"v": "allow"}'


async def test_release_undoes_counting_and_frees_the_key(store: Store) -> None:
    cap = Cap("all_bots", 1, DAY)
    req = proactive(at(0), cap, key="k-r", max_unanswered=1)
    assert await commit(store, req)
    assert not await commit(store, proactive(at(1), cap))
    await store.release(TENANT, BOT, USER, req.decision_id, "k-r")
    assert await snap(store) == Snapshot()
    assert await store.get_idempotent(TENANT, BOT, USER, "k-r", at(1)) is None
    assert await commit(store, proactive(at(1), cap, key="k-r"))
    # Releasing something unknown is harmless.
    await store.release(TENANT, BOT, USER, "no-such-decision", None)
    assert (await snap(store)).proactive_sent == (at(1),)


async def test_disclosures_are_remembered_and_released(store: Store) -> None:
    plain = reply(at(0))
    told = dataclasses.replace(reply(at(1)), disclosed=True)
    assert await commit(store, plain) and await commit(store, told)
    snapshot = await snap(store)
    assert snapshot.disclosed_at == (at(1),) and len(snapshot.outbound_sent) == 2
    await store.release(TENANT, BOT, USER, told.decision_id, None)
    assert (await snap(store)).disclosed_at == ()


# --- prune -------------------------------------------------------------------------------


async def test_prune_drops_old_timestamps_only(store: Store) -> None:
    old, new = T0 - 10 * DAY, T0
    await store.record_user_message(TENANT, BOT, USER, old)
    await store.record_user_message(TENANT, BOT, USER, new)
    assert await commit(store, proactive(old))
    assert await commit(store, reply(new))
    await store.set_consent(TENANT, BOT, USER, True, old)

    assert await store.prune(T0 - DAY) == 2  # one user message, one outbound message
    s = await store.snapshot(TENANT, BOT, USER, T0, 30 * DAY)
    assert s.user_messages == (new,)
    assert s.outbound_sent == (new,)
    assert s.proactive_sent == s.proactive_sent_all_bots == ()
    assert s.first_user_message == old  # first contact stays
    assert s.opted_out  # consent stays
    assert await store.prune(T0 - DAY) == 0


# --- concurrency -------------------------------------------------------------------------


async def _race(stores: list[Store], n: int = 200) -> int:
    cap = Cap("bot", 3, DAY)
    results = await asyncio.gather(
        *(
            stores[i % len(stores)].commit(TENANT, BOT, USER, proactive(at(i / 1000), cap))
            for i in range(n)
        )
    )
    return sum(r.committed for r in results)


async def test_concurrent_commits_never_exceed_the_cap(store: Store) -> None:
    assert await _race([store]) == 3
    assert len((await snap(store)).proactive_sent) == 3


@pytest.mark.redis
async def test_two_redis_clients_never_exceed_the_cap() -> None:
    prefix = f"grtest-{uuid.uuid4().hex}"
    stores = [RedisStore(REDIS_URL, prefix=prefix) for _ in range(2)]
    try:
        assert await _race(list(stores)) == 3
    finally:
        for s in stores:
            await s.close()
        await _drop_prefix(prefix)


async def test_two_sqlite_stores_in_threads_never_exceed_the_cap(tmp_path: Path) -> None:
    """Two connections on one file, each in its own thread and loop: real lock contention."""
    path = tmp_path / "shared.db"
    await SQLiteStore(path).close()  # create the schema once, up front

    def worker(offset: int) -> int:
        async def run() -> int:
            own = SQLiteStore(path)
            cap = Cap("bot", 3, DAY)
            try:
                results = [
                    await own.commit(TENANT, BOT, USER, proactive(at((offset + i) / 1000), cap))
                    for i in range(100)
                ]
            finally:
                await own.close()
            return sum(r.committed for r in results)

        return asyncio.run(run())

    counts = await asyncio.gather(asyncio.to_thread(worker, 0), asyncio.to_thread(worker, 100))
    assert sum(counts) == 3
    check = SQLiteStore(path)
    assert len((await snap(check)).proactive_sent) == 3
    await check.close()


async def _block_allow_race(put_store: Store, commit_store: Store, rounds: int = 100) -> None:
    """A block (put_idempotent) and an allow (commit) of one key, at once, ``rounds`` times.

    Whichever lands first wins; the other caller must get the winner's decision back, so
    both answer the same, the stored decision is the winner's and only a won allow counts.
    """
    block, allow = '{"v": "block"}', '{"v": "allow"}'
    committed = 0
    for i in range(rounds):
        key = f"race-{i}"
        req = proactive(T0, key=key, payload=allow)
        put = put_store.put_idempotent(TENANT, BOT, USER, key, block, T0, DAY)
        com = commit_store.commit(TENANT, BOT, USER, req)
        # Alternate which call is issued first, so either side can win.
        if i % 2:
            put_earlier, result = await asyncio.gather(put, com)
        else:
            result, put_earlier = await asyncio.gather(com, put)
        put_answer = block if put_earlier is None else put_earlier
        commit_answer = allow if result.committed else result.replay_json
        assert put_answer == commit_answer, (i, put_earlier, result)
        assert result.committed == (put_earlier == allow)
        stored = await put_store.get_idempotent(TENANT, BOT, USER, key, at(1))
        assert stored == put_answer
        committed += result.committed
    assert len((await snap(put_store)).outbound_sent) == committed


async def test_concurrent_block_and_allow_of_one_key_agree(store: Store) -> None:
    await _block_allow_race(store, store)


@pytest.mark.redis
async def test_concurrent_block_and_allow_on_two_redis_clients_agree() -> None:
    prefix = f"grtest-{uuid.uuid4().hex}"
    blocker, allower = RedisStore(REDIS_URL, prefix=prefix), RedisStore(REDIS_URL, prefix=prefix)
    try:
        await _block_allow_race(blocker, allower, rounds=300)
    finally:
        await blocker.close()
        await allower.close()
        await _drop_prefix(prefix)


async def test_concurrent_block_and_allow_on_two_sqlite_threads_agree(tmp_path: Path) -> None:
    """Two connections on one file, each in its own thread and loop, racing on each key."""
    path = tmp_path / "shared.db"
    await SQLiteStore(path).close()
    block, allow = '{"v": "block"}', '{"v": "allow"}'
    rounds = 100
    barriers = [threading.Barrier(2) for _ in range(rounds)]

    def worker(role: str) -> list[str]:
        async def run() -> list[str]:
            own = SQLiteStore(path)
            answers = []
            try:
                for i, barrier in enumerate(barriers):
                    key = f"race-{i}"
                    barrier.wait()
                    if role == "block":
                        earlier = await own.put_idempotent(TENANT, BOT, USER, key, block, T0, DAY)
                        answers.append(block if earlier is None else earlier)
                    else:
                        req = proactive(T0, key=key, payload=allow)
                        result = await own.commit(TENANT, BOT, USER, req)
                        answers.append(allow if result.committed else str(result.replay_json))
            finally:
                await own.close()
            return answers

        return asyncio.run(run())

    blocks, allows = await asyncio.gather(
        asyncio.to_thread(worker, "block"), asyncio.to_thread(worker, "allow")
    )
    assert blocks == allows
    check = SQLiteStore(path)
    try:
        for i, answer in enumerate(blocks):
            assert await check.get_idempotent(TENANT, BOT, USER, f"race-{i}", at(1)) == answer
        assert len((await snap(check)).outbound_sent) == allows.count(allow)
    finally:
        await check.close()


_CHILD = """
import asyncio, sys, uuid
from datetime import UTC, datetime, timedelta
from guardrail.models import Kind
from guardrail.state import Cap, CommitRequest
from guardrail.state.sqlite import SQLiteStore

async def main() -> None:
    store = SQLiteStore(sys.argv[1])
    cap = Cap("bot", 3, timedelta(days=1))
    t0 = datetime(2025, 3, 3, 12, tzinfo=UTC)
    sys.stdin.readline()  # start together
    won = 0
    for i in range(500):
        req = CommitRequest(uuid.uuid4().hex, Kind.PROACTIVE, t0, "{}", caps=(cap,))
        won += (await store.commit("acme", "coach", "u-1", req)).committed
    await store.close()
    print(won)

asyncio.run(main())
"""


async def test_two_sqlite_processes_never_exceed_the_cap(tmp_path: Path) -> None:
    """The deployment case: two gateway processes on one file, released at the same moment."""
    path = tmp_path / "shared.db"
    await SQLiteStore(path).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    outputs = await asyncio.wait_for(
        asyncio.gather(*(child.communicate() for child in children)), timeout=60
    )
    assert [child.returncode for child in children] == [0, 0]
    assert sum(int(out) for out, _ in outputs) == 3
    check = SQLiteStore(path)
    assert len((await snap(check)).proactive_sent) == 3
    await check.close()


# --- backend specifics -------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["ping", "snapshot", "commit"])
async def test_unreachable_redis_fails_fast(
    operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fast by construction, counted rather than timed: at most one reconnection, and no
    pause before it (a backoff would hold every request while Redis is down)."""
    connects: list[int] = []
    pauses: list[float] = []
    # redis leaves Connection._connect unannotated: say what it is.
    connect: Callable[[Connection], Awaitable[None]] = Connection._connect

    async def counted(self: Connection) -> None:
        connects.append(1)
        await connect(self)

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(Connection, "_connect", counted)
    monkeypatch.setattr(redis_retry, "sleep", pause)
    store = RedisStore("redis://127.0.0.1:1/0", prefix="grtest")
    try:
        with pytest.raises(StoreUnavailable, match="unavailable"):
            if operation == "ping":
                await store.ping()
            elif operation == "snapshot":
                await store.snapshot(TENANT, BOT, USER, T0, DAY)
            else:
                await store.commit(TENANT, BOT, USER, proactive(T0, Cap("bot", 1, DAY)))
    finally:
        await store.close()
    assert 1 <= len(connects) <= 2 and pauses == []


def test_redis_prefix_may_not_contain_braces() -> None:
    with pytest.raises(ValueError):
        RedisStore(REDIS_URL, prefix="g{r}")


async def test_sqlite_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    await SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreUnavailable, match="schema version"):
        SQLiteStore(path)


async def test_sqlite_in_memory() -> None:
    store = SQLiteStore(":memory:")
    await store.record_user_message(TENANT, BOT, USER, T0)
    assert (await snap(store)).user_messages == (T0,)
    await store.close()


async def test_open_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    default = open_store()
    assert default.name == "sqlite"
    assert (tmp_path / "guardrail.db").exists()
    await default.close()
    explicit = open_store(db=str(tmp_path / "x.db"))
    assert isinstance(explicit, SQLiteStore)
    await explicit.close()
    remote = open_store(redis_url=REDIS_URL)
    assert isinstance(remote, RedisStore)
    await remote.close()
    with pytest.raises(ValueError):
        open_store(db="x.db", redis_url=REDIS_URL)


# --- risk and dependency signals -------------------------------------------------------


async def test_risk_and_dependency_signals_are_per_user_across_bots(store: Store) -> None:
    await store.record_risk(TENANT, BOT, USER, at(1), 2)
    await store.record_dependency(TENANT, "other-bot", USER, at(2), 0.8125)
    await store.record_dependency(TENANT, BOT, USER, at(3), 0.6)
    await store.record_dependency(TENANT, BOT, "someone-else", at(3), 0.9)
    s = await snap(store, bot=BOT)
    assert [(e.ts, e.level, e.bot) for e in s.risk_events] == [(at(1), 2, BOT)]
    assert [(e.ts, e.score, e.bot) for e in s.dependency_events] == [
        (at(2), 0.8125, "other-bot"),
        (at(3), 0.6, BOT),
    ]
    # Outside the horizon, gone from the snapshot; pruned, gone for good.
    assert (await store.snapshot(TENANT, BOT, USER, at(2.5), HOUR)).dependency_events[0].ts == at(2)
    await store.prune(at(2.5))
    assert [e.ts for e in (await snap(store)).dependency_events] == [at(3)]
