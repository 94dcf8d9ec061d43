"""Consent and crisis records survive an audit-log outage (the consent issue's point 5),
on both stores: written with the state change into the store's audit outbox, answered at
once, copied to the log when it is back, once each and in order; and a decision the log
cannot take does not count as sent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail import gateway as gateway_module
from guardrail.audit import AuditTrail, AuditUnavailable
from guardrail.audit.backend import EVERYTHING
from guardrail.audit.outbox import RecordCopier
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.sqlite import SQLiteAudit
from guardrail.gateway import Gateway
from guardrail.state import redis as redis_state
from guardrail.state.base import EventWrite, StoreUnavailable
from guardrail.state.common import ConsentOutcome
from tests.audit_support import ADMIN_KEY, AUDIT_KEY, TEXT, bearer, event
from tests.conftest import Clock
from tests.store_support import STORES, store_of
from tests.test_crisis import PhraseAssessor

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
CRISIS = "je veux en finir"
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def gateway_of(client: TestClient) -> Gateway:
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    return gateway


def records(client: TestClient, kind: str = "all") -> list[dict[str, Any]]:
    response = client.get("/v1/audit/export", params={"type": kind}, headers=bearer(ADMIN_KEY))
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def audit_down(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make the audit log refuse every append; returns the function that brings it back."""
    backend = gateway_of(client).audit.backend

    def failing(body: dict[str, Any], **_: Any) -> Any:
        raise AuditUnavailable("disk full")

    monkeypatch.setattr(backend, "append", failing)
    return lambda: monkeypatch.undo()


def copy_now(client: TestClient) -> int:
    """What the background copier does every few seconds, now."""
    copier = gateway_of(client).records
    assert copier is not None
    copied: int = client.portal.call(partial(copier.flush, force=True))  # type: ignore[union-attr]
    return copied


@pytest.fixture
def client(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setitem(gateway_module.ASSESSORS, "test-phrases", PhraseAssessor)
    return make_client(assessor="test-phrases", audit_key=AUDIT_KEY)


def test_a_stop_and_a_crisis_during_an_outage_reach_the_log_once_in_order(
    client: TestClient, clock: Clock, uid: Uid, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, user = uid("maestro"), uid("ana")
    restore = audit_down(client, monkeypatch)
    sent = clock.now - timedelta(seconds=10)
    # Answered at once: the store took the opt-out and its record together.
    stop = event(client, bot, user, sent, text="STOP", event_id="m1")
    assert stop["consent"] == "opted_out" and not stop.get("duplicate")
    # The platform's redelivery is a duplicate, and that is fine now: the record is kept.
    assert event(client, bot, user, sent, text="STOP", event_id="m1")["duplicate"]
    crisis = event(client, bot, user, sent, text=CRISIS, event_id="m2")
    assert crisis["crisis"] is True
    start = event(client, bot, user, sent + timedelta(seconds=1), text="START", event_id="m3")
    assert start["consent"] == "opted_in"
    assert records(client, "consent") == [] and records(client, "crisis") == []
    # While the log is down, the opt-out is enforced all the same.
    body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": TEXT}
    restore()
    assert copy_now(client) == 3
    kept = [r for r in records(client) if r["type"] in ("consent", "crisis")]
    assert [(r["type"], r.get("action")) for r in kept] == [
        ("consent", "opt_out"),
        ("crisis", None),
        ("consent", "opt_in"),
    ]
    assert kept[0]["received_at"] == sent.isoformat() and kept[0]["applied"] is True
    assert kept[1]["level"] == "ideation" and kept[1]["text_hmac"].startswith("hmac:")
    assert CRISIS not in json.dumps(kept) and user not in json.dumps(kept)
    # Copied once: another pass, a redelivery, another copier over the same store add nothing.
    assert copy_now(client) == 0
    event(client, bot, user, sent, text="STOP", event_id="m1")
    gateway = gateway_of(client)
    other = RecordCopier(gateway.store, gateway.audit)
    assert client.portal.call(partial(other.flush, force=True)) == 0  # type: ignore[union-attr]
    assert len([r for r in records(client) if r["type"] in ("consent", "crisis")]) == 3
    assert client.get("/v1/audit/verify", headers=bearer(ADMIN_KEY)).json()["ok"]
    assert (
        client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY)).status_code == 200
    )


def test_records_left_by_an_outage_are_copied_by_the_next_start(
    make_client: MakeClient,
    clock: Clock,
    uid: Uid,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    store_settings: dict[str, Any],
) -> None:
    common: dict[str, Any] = {"audit_key": AUDIT_KEY}
    if "db" in store_settings:
        common["audit_db"] = str(tmp_path / "audit.db")
    first = make_client(**common)
    bot, user = uid("maestro"), uid("ana")
    audit_down(first, monkeypatch)
    assert event(first, bot, user, clock.now, text="STOP")["consent"] == "opted_out"
    first.__exit__(None, None, None)  # shuts down with the record still in the store
    monkeypatch.undo()
    second = make_client(**common)  # its copier runs at start
    for _ in range(200):
        if records(second, "consent"):
            break
        asyncio.run(asyncio.sleep(0.02))
    (record,) = records(second, "consent")
    assert record["action"] == "opt_out" and record["bot"] == bot


def test_a_decision_the_log_cannot_take_does_not_count_as_sent(
    client: TestClient, clock: Clock, uid: Uid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An allow answered 503 used to count against the caps all the same."""
    bot, user = uid("maestro"), uid("ana")
    for days in (4, 3, 2, 1):  # engaged: proactive outreach allowed, one a day
        event(client, bot, user, clock.now - timedelta(days=days), text="hello!")
    event(client, bot, user, clock.now - timedelta(hours=2), text="thanks!")
    body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": TEXT, "kind": "proactive"}
    restore = audit_down(client, monkeypatch)
    refused = client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY))
    assert refused.status_code == 503
    restore()
    again = client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY)).json()
    assert again["verdict"] in ("allow", "rewrite"), again  # the refused one did not count
    counted = client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY)).json()
    assert counted["verdict"] == "block"  # this one did: unanswered, and the day's cap
    assert {"unanswered", "frequency_caps"} & {r["rule"] for r in counted["reasons"]}


# ----------------------------------------------------------------------- the store protocol


def _write(record_id: str, text: str) -> EventWrite:
    return EventWrite(
        ts=T0,
        user_message=True,
        audit=lambda outcome: [(record_id, json.dumps({"id": record_id, "text": text}))],
    )


@pytest.mark.parametrize("kind", STORES)
async def test_the_outbox_is_written_with_the_event_and_read_in_order(
    kind: str, tmp_path: Path
) -> None:
    async for store in store_of(kind, tmp_path):
        for i in range(5):
            await store.apply_event("acme", "bot", f"u{i % 2}", _write(f"r{i}", str(i)))
        pending = await store.audit_pending(3)
        assert [p.record_id for p in pending] == ["r0", "r1", "r2"]
        await store.audit_done(pending[:2])
        assert [p.record_id for p in await store.audit_pending()] == ["r2", "r3", "r4"]
        assert json.loads((await store.audit_pending(1))[0].body_json)["text"] == "2"
        await store.audit_done(await store.audit_pending())
        assert await store.audit_pending() == []


@pytest.mark.parametrize("kind", STORES)
async def test_a_failed_event_write_keeps_no_record(kind: str, tmp_path: Path) -> None:
    """All or nothing: an event the store could not apply leaves no audit record behind
    (the platform's retry applies both)."""
    async for store in store_of(kind, tmp_path):

        def refuse(outcome: Any) -> list[tuple[str, str]]:
            raise StoreUnavailable("the write fails after the record was built")

        write = EventWrite(ts=T0, user_message=True, seen_key="user_message:e1", audit=refuse)
        with pytest.raises(StoreUnavailable):
            await store.apply_event("acme", "bot", "u", write)
        assert await store.audit_pending() == []
        # Nothing was marked seen either: the retry applies the event and keeps its record.
        retry = EventWrite(ts=T0, seen_key="user_message:e1", audit=_write("r", "")
                           .audit)  # fmt: skip
        assert not (await store.apply_event("acme", "bot", "u", retry)).duplicate
        assert [p.record_id for p in await store.audit_pending()] == ["r"]


@pytest.mark.redis
async def test_redis_keeps_the_order_while_a_write_is_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A place reserved whose record has not landed yet holds the ones after it back (the
    order is kept); once it is clearly never coming, it is dropped."""
    async for store in store_of("redis", tmp_path):
        assert isinstance(store, redis_state.RedisStore)
        await store.apply_event("acme", "bot", "u1", _write("first", "1"))
        await store._r.eval(
            redis_state._AUDIT_INDEX,
            2,
            store._auditq("seq"),
            store._auditq("idx"),
            600,
            json.dumps([int(time.time() * 1000), "x", "ghost"]),  # its MULTI never came
        )
        await store.apply_event("acme", "bot", "u2", _write("after", "2"))
        assert [p.record_id for p in await store.audit_pending()] == ["first"]
        monkeypatch.setattr(redis_state, "AUDIT_IN_FLIGHT_MS", -1)  # long gone
        assert [p.record_id for p in await store.audit_pending()] == ["first", "after"]


async def test_copier_appends_each_record_once(tmp_path: Path) -> None:
    async for store in store_of("sqlite", tmp_path):
        trail = AuditTrail(SQLiteAudit(tmp_path / "a.db"), AuditKey(AUDIT_KEY.encode()))
        body = json.dumps(
            {"type": "consent", "id": "c1", "ts": "2026-05-01T00:00:00+00:00", "tenant": "t"}
        )

        def audit(outcome: ConsentOutcome | None, b: str = body) -> list[tuple[str, str]]:
            return [("c1", b)]

        await store.apply_event("t", "b", "u", EventWrite(ts=T0, audit=audit))
        copiers = [RecordCopier(store, trail), RecordCopier(store, trail)]  # two replicas
        await asyncio.gather(*(c.flush(force=True) for c in copiers))
        await copiers[0].flush(force=True)
        assert [r.id for r in trail.backend.page(EVERYTHING, limit=10)] == ["c1"]
        assert await store.audit_pending() == []
