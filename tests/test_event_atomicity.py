"""Inbound events are applied all-or-nothing and marked seen only once applied.

A failure is injected for real inside the write: a SQLite trigger that aborts the
transaction at the second write, or a Redis command that Redis refuses inside the
MULTI (which aborts the whole EXEC). The platform gets a 503, nothing is half-applied,
and its retry with the same event id applies the event: a STOP or a crisis signal is
never lost. Both stores, the real servers.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.state.base import EventWrite, Store, StoreUnavailable
from guardrail.state.common import ConsentChange, event_key
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore
from tests.conftest import AUTH, REDIS_URL, Clock
from tests.store_support import STORES, store_of, unique_prefix
from tests.test_api import check, enforcing, engage

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CRISIS = "I want to kill myself tonight"


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for s in store_of(request.param, tmp_path):
        yield s


@contextmanager
def failing(store: Store, where: str) -> Iterator[None]:
    """Make the ``where`` write ("consent" or "risk") of the next events fail inside the
    atomic write, for real: a trigger raising in SQLite, a refused command in the MULTI."""
    if isinstance(store, SQLiteStore):
        table = {"consent": "consent", "risk": "risk_events"}[where]
        db = sqlite3.connect(store.path)
        db.execute(
            f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table}"
            " BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
        db.commit()
        try:
            yield
        finally:
            db.execute(f"DROP TRIGGER fail_{table}")
            db.commit()
            db.close()
        return
    assert isinstance(store, RedisStore)
    original = store._queue_consent if where == "consent" else store._queue_event

    def refused(pipe: Any, *args: Any) -> Any:
        if where == "consent":
            pipe.execute_command("HSET", "only-a-key")  # wrong arity: refused, EXEC aborts
            return original(pipe, *args)
        result = original(pipe, *args)  # every write queued, then one Redis refuses
        pipe.execute_command("ZADD", "only-a-key")
        return result

    setattr(store, f"_queue_{'consent' if where == 'consent' else 'event'}", refused)
    try:
        yield
    finally:
        delattr(store, f"_queue_{'consent' if where == 'consent' else 'event'}")


def stop_write(seen: str) -> EventWrite:
    return EventWrite(
        ts=T0,
        seen_key=event_key("user_message", seen, origin="webhook", bot="coach"),
        user_message=True,
        consent=ConsentChange("coach", True, T0, "webhook", T0),
    )


async def test_a_failed_write_leaves_nothing_and_the_retry_applies(store: Store) -> None:
    write = stop_write("wamid.1")
    with failing(store, "consent"), pytest.raises(StoreUnavailable):
        await store.apply_event("acme", "coach", "u1", write)
    snap = await store.snapshot("acme", "coach", "u1", T0, timedelta(days=1))
    assert snap.user_messages == () and not snap.opted_out  # the first write was undone too

    applied = await store.apply_event("acme", "coach", "u1", write)  # the platform's retry
    assert not applied.duplicate and applied.consent is not None and applied.consent.applied
    snap = await store.snapshot("acme", "coach", "u1", T0, timedelta(days=1))
    assert snap.user_messages == (T0,) and snap.opted_out
    again = await store.apply_event("acme", "coach", "u1", write)
    assert again.duplicate  # now, and only now, it is marked seen


async def test_a_failure_at_the_last_write_loses_no_crisis_signal(store: Store) -> None:
    write = EventWrite(ts=T0, seen_key="user_message:m-9", user_message=True, risk_level=3)
    with failing(store, "risk"), pytest.raises(StoreUnavailable):
        await store.apply_event("acme", "coach", "u2", write)
    snap = await store.snapshot("acme", "coach", "u2", T0, timedelta(days=1))
    assert snap.user_messages == () and snap.risk_events == ()
    assert not (await store.apply_event("acme", "coach", "u2", write)).duplicate
    snap = await store.snapshot("acme", "coach", "u2", T0, timedelta(days=1))
    assert [r.level for r in snap.risk_events] == [3] and snap.user_messages == (T0,)


def _store(client: TestClient) -> Store:
    store: Store = client.app.state.gateway.store  # type: ignore[attr-defined]
    return store


def post(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/v1/events", json=body, headers=AUTH)


def test_stop_whose_second_write_fails_is_503_then_applied_on_retry(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client()
    bot, user = uid("coach"), uid("ines")
    engage(client, bot, user, clock())
    assert check(client, bot, user)["verdict"] == "allow"
    stop = {"type": "user_message", "bot_id": bot, "user_id": user, "text": "STOP",
            "ts": clock().isoformat(), "event_id": uid("wamid")}  # fmt: skip
    with failing(_store(client), "consent"):
        refused = post(client, stop)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "unavailable"

    retried = post(client, stop)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["duplicate"] is False and body["consent"] == "opted_out"
    assert body["consent_applied"] is True
    clock.advance(minutes=1)
    assert enforcing(check(client, bot, user, kind="proactive")) == ["opt_out"]
    assert post(client, stop).json()["duplicate"] is True


def test_crisis_message_whose_write_fails_is_not_lost(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client(assessor="lexicon")
    bot, user = uid("coach"), uid("noe")
    message = {"type": "user_message", "bot_id": bot, "user_id": user, "text": CRISIS,
               "ts": clock().isoformat(), "event_id": uid("wamid")}  # fmt: skip
    with failing(_store(client), "risk"):
        assert post(client, message).status_code == 503
    snap = client.portal.call(  # type: ignore[union-attr]
        _store(client).snapshot, "default", bot, user, clock(), timedelta(days=1)
    )
    assert snap.user_messages == () and snap.risk_events == ()

    retried = post(client, message).json()
    assert retried["duplicate"] is False and retried["crisis"] is True
    snap = client.portal.call(  # type: ignore[union-attr]
        _store(client).snapshot, "default", bot, user, clock(), timedelta(days=1)
    )
    assert len(snap.risk_events) == 1 and len(snap.user_messages) == 1


async def test_a_burst_of_events_for_one_user_is_applied_whole(store: Store) -> None:
    writes = [
        EventWrite(ts=T0 + timedelta(seconds=i), seen_key=f"user_message:b{i}", user_message=True)
        for i in range(50)
    ]
    results = await asyncio.gather(*(store.apply_event("acme", "coach", "u3", w) for w in writes))
    assert not any(r.duplicate for r in results)
    snap = await store.snapshot("acme", "coach", "u3", T0 + timedelta(minutes=1), timedelta(days=1))
    assert len(snap.user_messages) == 50


@pytest.mark.redis
async def test_replicas_writing_one_user_at_once_all_succeed() -> None:
    """Four gateway replicas (four stores, one key space) race on one user's events: the
    optimistic transaction retries until each event is applied exactly once."""
    prefix = unique_prefix()
    replicas = [RedisStore(REDIS_URL, prefix=prefix) for _ in range(4)]
    try:
        stop = ConsentChange("coach", True, T0, "webhook", T0)
        writes = [
            EventWrite(
                ts=T0 + timedelta(seconds=i),
                seen_key=f"user_message:r{i}",
                user_message=True,
                consent=stop if i == 7 else None,
            )
            for i in range(40)
        ]
        await asyncio.gather(
            *(replicas[i % 4].apply_event("acme", "coach", "u", w) for i, w in enumerate(writes))
        )
        again = await replicas[0].apply_event("acme", "coach", "u", writes[7])
        assert again.duplicate
        snap = await replicas[1].snapshot("acme", "coach", "u", T0 + timedelta(minutes=1),
                                          timedelta(days=1))  # fmt: skip
        assert len(snap.user_messages) == 40 and snap.opted_out
    finally:
        keys = [k async for k in replicas[0]._r.scan_iter(match=f"{prefix}:*")]
        if keys:
            await replicas[0]._r.delete(*keys)
        for replica in replicas:
            await replica.close()
