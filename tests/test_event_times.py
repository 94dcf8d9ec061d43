"""Absurd timestamps never reach the store, and rows already there never make a read crash.

On main, an event dated ``0001-01-01T00:00:00+14:00`` (year 0 in UTC) was stored, and every
later read of that user failed with ``year 0 is out of range``: the user's STOP was never
applied. Both stores, the real servers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from guardrail.state.base import EventWrite, Store
from guardrail.state.common import STORE_MAX, STORE_MIN, ConsentChange, TimestampOutOfRange
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore
from tests.conftest import AUTH, Clock
from tests.store_support import STORES, store_of
from tests.test_api import check, enforcing, engage, say

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ABSURD = [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # year 0 in UTC
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),  # year 10000
    datetime(1969, 12, 31, tzinfo=UTC),
    datetime(3001, 1, 1, tzinfo=UTC),
]


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for s in store_of(request.param, tmp_path):
        yield s


@pytest.mark.parametrize("ts", ABSURD, ids=["year1+14", "year9999-14", "1969", "3001"])
async def test_out_of_range_times_are_refused_and_nothing_is_stored(
    store: Store, ts: datetime
) -> None:
    writes = [
        EventWrite(ts=ts, seen_key="user_message:x", user_message=True, risk_level=2),
        EventWrite(ts=T0, consent=ConsentChange("coach", True, ts, "webhook", T0)),
    ]
    for write in writes:
        with pytest.raises(TimestampOutOfRange):
            await store.apply_event("acme", "coach", "u", write)
    with pytest.raises(TimestampOutOfRange):
        await store.record_user_message("acme", "coach", "u", ts, "m1")
    with pytest.raises(TimestampOutOfRange):
        await store.set_consent("acme", None, "u", True, ts)
    snap = await store.snapshot("acme", "coach", "u", T0, timedelta(days=365 * 2000))
    assert snap.user_messages == () and snap.first_user_message is None and not snap.opted_out
    # Nothing was marked seen either: the same id with a sane time applies.
    write = EventWrite(ts=T0, seen_key="user_message:x", user_message=True)
    assert not (await store.apply_event("acme", "coach", "u", write)).duplicate


async def test_the_edges_of_the_range_are_kept(store: Store) -> None:
    for ts in (STORE_MIN, STORE_MAX):
        await store.apply_event("acme", "coach", "u", EventWrite(ts=ts, user_message=True))
    snap = await store.snapshot("acme", "coach", "u", STORE_MAX, timedelta(days=365 * 2000))
    assert snap.user_messages == (STORE_MIN, STORE_MAX)


async def _poison(store: Store, user: str) -> None:
    """Write what an older release let in: epochs of year 0 and year 10000."""
    year0, year10000 = -62135647200.0, 253402351199.0
    if isinstance(store, SQLiteStore):
        db = sqlite3.connect(store.path)
        with db:
            for ts in (year0, year10000):
                db.execute(
                    "INSERT INTO user_messages (tenant, bot, user, ts) VALUES (?, ?, ?, ?)",
                    ("acme", "coach", user, ts),
                )
                db.execute(
                    "INSERT INTO risk_events (tenant, user, bot, ts, level) VALUES (?, ?, ?, ?, 2)",
                    ("acme", user, "coach", ts),
                )
            db.execute(
                "INSERT INTO first_contact (tenant, bot, user, first_ts) VALUES (?, ?, ?, ?)",
                ("acme", "coach", user, year0),
            )
            db.execute(
                "INSERT INTO consent (tenant, user, bot, opted_out, ts) VALUES (?, ?, ?, 0, ?)",
                ("acme", user, "coach", year10000),
            )
        db.close()
        return
    assert isinstance(store, RedisStore)
    tag = store._tag("acme", user)
    await store._r.zadd(f"{tag}:um:coach", {"a": year0, "b": year10000})
    await store._r.zadd(f"{tag}:risk", {"r1|2|coach": year0, "r2|2|coach": year10000})
    await store._r.hset(f"{tag}:first", "coach", repr(year0))
    await store._r.hset(f"{tag}:consent", "coach", f"in|{year10000!r}")


async def test_rows_stored_before_the_check_never_make_a_read_crash(store: Store) -> None:
    await _poison(store, "poisoned")
    snap = await store.snapshot("acme", "coach", "poisoned", T0, timedelta(days=365 * 3000))
    assert snap.first_user_message == STORE_MIN
    assert snap.user_messages == ()  # outside the range a snapshot can ask for
    # And the user's STOP still applies: an opt-out always does.
    stop = ConsentChange("coach", True, T0, "webhook", T0)
    applied = await store.apply_event(
        "acme", "coach", "poisoned", EventWrite(ts=T0, user_message=True, consent=stop)
    )
    assert applied.consent is not None and applied.consent.applied
    assert (await store.snapshot("acme", "coach", "poisoned", T0, timedelta(days=1))).opted_out


@pytest.mark.parametrize(
    "ts", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "3500-01-01T00:00:00Z"]
)
def test_poisoned_user_sequence(make_client: MakeClient, clock: Clock, uid: Uid, ts: str) -> None:
    """The bad event is refused (422, nothing stored), then the user's STOP works."""
    client = make_client()
    bot, user = uid("coach"), uid("rosa")
    engage(client, bot, user, clock())
    bad = {"type": "user_message", "bot_id": bot, "user_id": user, "ts": ts, "text": "hi"}
    refused = client.post("/v1/events", json=bad, headers=AUTH)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invalid_request"
    assert [e["field"] for e in refused.json()["detail"]] == ["ts"]
    for kind in ("opt_in", "opt_out"):
        body = {**bad, "type": kind}
        body.pop("text")
        assert client.post("/v1/events", json=body, headers=AUTH).status_code == 422

    stop = say(client, bot, user, "STOP", clock())
    assert stop["consent"] == "opted_out"
    clock.advance(minutes=1)
    assert enforcing(check(client, bot, user, kind="proactive")) == ["opt_out"]


def test_whatsapp_webhook_skips_an_out_of_range_time_and_applies_the_rest(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    from tests.test_webhook_route import APP_SECRET, BOT, PHONE_NUMBER_ID, USER, deliver, payload

    tenant = uid("wa")
    client = make_client(
        whatsapp={"app_secret": APP_SECRET,
                  "phone_numbers": {PHONE_NUMBER_ID: {"tenant": tenant, "bot": BOT}}},
        keys=[{"name": "t", "tenant": tenant, "key": "tenant-key-Zx81Qw"}],
    )  # fmt: skip
    far = {"from": USER, "id": uid("wamid.far"), "timestamp": "253402300000", "type": "text",
           "text": {"body": "hi"}}  # fmt: skip
    stop = {"from": USER, "id": uid("wamid.stop"), "type": "text", "text": {"body": "STOP"},
            "timestamp": str(int(clock().timestamp()))}  # fmt: skip
    answer = deliver(client, payload(far, stop))
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == 1
    assert any("out of range" in w for w in answer.json()["warnings"])
    store = client.app.state.gateway.store  # type: ignore[attr-defined]
    snap = client.portal.call(store.snapshot, tenant, BOT, USER, clock(), timedelta(days=1))  # type: ignore[union-attr]
    assert snap.opted_out and len(snap.user_messages) == 1
