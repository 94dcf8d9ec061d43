"""Roles and consent evidence: the bot cannot forge what only the user can say.

``ingest`` keys (and the platform webhook) post what users did; a ``bot`` key may post
receipts, and user messages, opt-ins and opt-outs only when its bot's configuration says
its engine forwards them, and then the consent record says the evidence came from the bot.
An opt-out is never undone by an opt-in from the bot, nor by one dated before it, and
consent is ordered by arrival, so a date in 2100 or a clock minutes fast cannot put an
opt-in ahead of a later STOP. Both stores, the real servers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.audit.backend import RecordFilter
from guardrail.state.base import Store
from tests.conftest import Clock
from tests.store_support import STORES, store_of
from tests.test_api import check, enforcing, engage

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
Json = dict[str, Any]
BOT_KEY = "bot-key-Pq7Zr2Lm9Wx4"
INGEST_KEY = "ingest-key-Hs3Vn8Kd1Tb6"
AUDITOR_KEY = "auditor-key-Yc5Fg0Qj7Ne2"
BOT = {"Authorization": f"Bearer {BOT_KEY}"}
INGEST = {"Authorization": f"Bearer {INGEST_KEY}"}
AUDITOR = {"Authorization": f"Bearer {AUDITOR_KEY}"}


def client_for(make_client: MakeClient, *forwarding: str) -> TestClient:
    keys = [
        {"name": "engine", "tenant": "default", "role": "bot", "key": BOT_KEY},
        {"name": "platform", "tenant": "default", "role": "ingest", "key": INGEST_KEY},
        {"name": "audit", "tenant": "default", "role": "auditor", "key": AUDITOR_KEY},
    ]
    bots = {bot: {"forwards_user_events": True} for bot in forwarding}
    return make_client(keys=keys, bots=bots)


def post(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    if isinstance(body.get("ts"), datetime):
        body["ts"] = body["ts"].isoformat()
    return client.post("/v1/events", json=body, headers=headers)


def ok(response: Any) -> Json:
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def consent_records(client: TestClient, bot: str) -> list[Json]:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert client.portal is not None
    records, _ = client.portal.call(gateway.audit.query, RecordFilter(types=("consent",)))
    return [r.body for r in sorted(records, key=lambda r: r.seq) if r.body["bot"] == bot]


def proactive(client: TestClient, bot: str, user: str) -> Json:
    return check(client, bot, user, kind="proactive")


# --------------------------------------------------------------------------- roles


def test_a_bot_key_may_not_forge_user_events(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client)
    bot, user = uid("coach"), uid("ada")
    for kind in ("user_message", "opt_in", "opt_out"):
        extra = {"text": "hello"} if kind == "user_message" else {}
        forged = post(client, BOT, type=kind, bot_id=bot, user_id=user, ts=clock(), **extra)
        assert forged.status_code == 403, forged.text
        detail = forged.json()["detail"]
        assert f"a bot key may not post {kind} events" in detail
        assert f"bots.{bot}.forwards_user_events" in detail and "ingest key" in detail
    # Nothing was recorded: no first contact, so the bot still may not write first.
    assert "user_first" in enforcing(proactive(client, bot, user))
    # Receipts are the bot's side of the conversation: open to bot keys.
    for kind in ("delivered", "read"):
        assert ok(post(client, BOT, type=kind, bot_id=bot, user_id=user, ts=clock()))["accepted"]
    assert (
        post(client, AUDITOR, type="read", bot_id=bot, user_id=user, ts=clock()).status_code == 403
    )


def test_an_ingest_key_posts_user_events_but_decides_nothing(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client)
    bot, user = uid("coach"), uid("bo")
    engage(client, bot, user, clock(), headers=INGEST)
    assert check(client, bot, user, headers=BOT, kind="proactive")["verdict"] == "allow"
    check(client, bot, user, headers=INGEST, status=403)
    stop = ok(post(client, INGEST, type="user_message", bot_id=bot, user_id=user, ts=clock(),
                   text="STOP"))  # fmt: skip
    assert (stop["consent"], stop["consent_source"], stop["consent_applied"]) == (
        "opted_out", "ingest", True,
    )  # fmt: skip
    assert "an opt-in forwarded by the bot would not undo it" in stop["detail"]
    (record,) = consent_records(client, bot)
    assert (record["evidence"], record["via"], record["applied"]) == ("ingest", "platform", True)


def test_a_forwarding_bot_posts_user_events_as_its_own_evidence(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    bot, user = uid("coach"), uid("cy")
    client = client_for(make_client, bot)
    engage(client, bot, user, clock(), headers=BOT)
    assert proactive(client, bot, user)["verdict"] == "allow"
    stop = ok(post(client, BOT, type="user_message", bot_id=bot, user_id=user, ts=clock(),
                   text="stop"))  # fmt: skip
    assert (stop["consent"], stop["consent_source"]) == ("opted_out", "bot")
    assert "forwarded by the bot" in stop["detail"]
    clock.advance(minutes=1)
    assert enforcing(proactive(client, bot, user)) == ["opt_out"]
    # Its own forwarded STOP, its own forwarded START: the bot's word against the bot's.
    start = ok(post(client, BOT, type="user_message", bot_id=bot, user_id=user, ts=clock(),
                    text="START"))  # fmt: skip
    assert (start["consent"], start["consent_applied"]) == ("opted_in", True)
    records = consent_records(client, bot)
    assert [(r["action"], r["evidence"], r["via"]) for r in records] == [
        ("opt_out", "bot", "engine"),
        ("opt_in", "bot", "engine"),
    ]


# --------------------------------------------------------------------------- consent order


def test_a_bot_opt_in_dated_2100_does_not_undo_a_stop(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    bot, user = uid("coach"), uid("dee")
    client = client_for(make_client, bot)  # even a bot allowed to forward user events
    engage(client, bot, user, clock(), headers=INGEST)
    stop = ok(post(client, INGEST, type="user_message", bot_id=bot, user_id=user, ts=clock(),
                   text="STOP"))  # fmt: skip
    assert stop["consent"] == "opted_out"

    future = datetime(2100, 1, 1, tzinfo=UTC)
    forged = post(client, BOT, type="opt_in", bot_id=bot, user_id=user, ts=future)
    # Refused at the door (422: a time far in the future, once event times are bounded) or
    # recorded and not applied; either way the STOP stands.
    assert forged.status_code in (200, 422), forged.text
    if forged.status_code == 200:
        body = forged.json()
        assert (body["consent"], body["consent_applied"], body["consent_source"]) == (
            "opted_out", False, "bot",
        )  # fmt: skip
        assert "does not undo it (only the user can)" in body["detail"]
    clock.advance(minutes=5)
    assert enforcing(proactive(client, bot, user)) == ["opt_out"]
    records = [(r["action"], r["evidence"], r["applied"]) for r in consent_records(client, bot)]
    assert records[0] == ("opt_out", "ingest", True)
    if forged.status_code == 200:  # the audit log says what happened, not what was asked
        assert records[1:] == [("opt_in", "bot", False)]
        assert consent_records(client, bot)[1]["honoured_at"] is None


def test_a_fast_clock_opt_in_does_not_outrank_a_later_stop(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    """Latest-timestamp-wins would keep this opt-in (dated 4 min ahead) over the STOP that
    arrived after it; ordered by arrival, the STOP wins."""
    client = client_for(make_client)
    bot, user = uid("coach"), uid("eli")
    engage(client, bot, user, clock(), headers=INGEST)
    early = clock() + timedelta(minutes=4)
    assert ok(post(client, INGEST, type="opt_in", bot_id=bot, user_id=user, ts=early))["consent"]
    clock.advance(seconds=30)
    stop = ok(post(client, INGEST, type="user_message", bot_id=bot, user_id=user,
                   ts=clock(), text="STOP"))  # fmt: skip
    assert stop["consent"] == "opted_out"
    clock.advance(minutes=10)
    assert enforcing(proactive(client, bot, user)) == ["opt_out"]


def test_a_start_said_before_the_stop_but_delivered_after_does_not_lift_it(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client)
    bot, user = uid("coach"), uid("fay")
    engage(client, bot, user, clock(), headers=INGEST)
    said_stop = clock() - timedelta(minutes=1)
    ok(post(client, INGEST, type="user_message", bot_id=bot, user_id=user, ts=said_stop,
            text="STOP"))  # fmt: skip
    late = ok(post(client, INGEST, type="user_message", bot_id=bot, user_id=user,
                   ts=said_stop - timedelta(minutes=1), text="START"))  # fmt: skip
    assert (late["consent"], late["consent_applied"]) == ("opted_out", False)
    assert "not after the opt-out" in late["detail"]
    assert enforcing(proactive(client, bot, user)) == ["opt_out"]
    # A START the user sends afterwards does lift it.
    again = ok(post(client, INGEST, type="user_message", bot_id=bot, user_id=user, ts=clock(),
                    text="START"))  # fmt: skip
    assert (again["consent"], again["consent_applied"]) == ("opted_in", True)
    assert proactive(client, bot, user)["verdict"] == "allow"


# --------------------------------------------------------------------------- the store rule


T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for s in store_of(request.param, tmp_path):
        yield s


async def opted_out(store: Store, bot: str = "coach") -> bool:
    return (await store.snapshot("acme", bot, "u", T0, timedelta(days=1))).opted_out


async def test_store_bot_opt_ins_never_lift_a_users_opt_out(store: Store) -> None:
    minute = timedelta(minutes=1)
    await store.set_consent("acme", "coach", "u", True, T0, source="webhook", arrival=T0)
    for scope in ("coach", None):  # neither for this bot nor for every bot
        outcome = await store.set_consent(
            "acme", scope, "u", False, T0 + minute, source="bot", arrival=T0 + minute
        )
        assert not outcome.applied and "came from webhook" in (outcome.refused or "")
        assert await opted_out(store)
    lifted = await store.set_consent(
        "acme", None, "u", False, T0 + minute, source="ingest", arrival=T0 + 2 * minute
    )
    assert lifted.applied and not await opted_out(store)


async def test_store_orders_consent_by_arrival(store: Store) -> None:
    future = datetime(2100, 1, 1, tzinfo=UTC)
    await store.set_consent("acme", "coach", "u", False, future, source="ingest", arrival=T0)
    later = T0 + timedelta(seconds=1)
    stop = await store.set_consent("acme", "coach", "u", True, T0, source="webhook", arrival=later)
    assert stop.applied and await opted_out(store)
    # Even an arrival time that is not later (a replica's clock behind) comes out last.
    await store.set_consent("acme", None, "u", True, T0, source="webhook", arrival=T0)
    again = await store.set_consent(
        "acme", None, "u", False, T0 + timedelta(hours=1), source="webhook", arrival=T0
    )
    assert again.applied and not await opted_out(store, "other")


async def test_an_older_sqlite_file_keeps_its_opt_outs_against_the_bot(tmp_path: Path) -> None:
    """A file written before consent kept its evidence: its opt-outs count as the user's."""
    import sqlite3

    from guardrail.state.sqlite import SQLiteStore

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE consent (tenant TEXT NOT NULL, user TEXT NOT NULL, bot TEXT NOT NULL,"
        " opted_out INTEGER NOT NULL, ts REAL NOT NULL, PRIMARY KEY (tenant, user, bot))"
        " WITHOUT ROWID;"
        f"INSERT INTO consent VALUES ('acme', 'u', 'coach', 1, {T0.timestamp()});"
        "PRAGMA user_version = 1;"
    )
    db.close()
    store = SQLiteStore(path)
    try:
        assert await opted_out(store)
        later = T0 + timedelta(hours=1)
        outcome = await store.set_consent(
            "acme", "coach", "u", False, later, source="bot", arrival=later
        )
        assert not outcome.applied and "came from legacy" in (outcome.refused or "")
        assert await opted_out(store)
    finally:
        await store.close()
