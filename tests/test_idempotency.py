"""Idempotency keys: bound to the request, claimed while in flight, and only final
judgements kept as a key's answer. Both stores (SQLite, the real Redis server).

- the same key with another body is refused (422), the same request replays;
- the same key while the first request is still being decided is refused (409);
- a block caused by an outage (store down, a content stage failing closed) or a
  deferral is not the key's answer: a retry after the outage is decided afresh.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from classifiers.results import ManipulationResult, Role, SelfHarmResult, TextScores
from guardrail.analysis import Analyzer
from guardrail.models import Kind, OutreachRequest
from guardrail.pipeline import (
    IN_FLIGHT_TTL,
    IdempotencyInFlight,
    IdempotencyMismatch,
    decide,
    request_hash,
)
from guardrail.policy.loader import LoadedPolicy, parse_policy
from guardrail.state import CommitRequest, IdempotencyClaim, Store
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore
from tests.conftest import AUTH, REDIS_URL, Clock
from tests.store_support import HeldStore, drop_prefix, store

__all__ = ["store"]  # the fixture, used by name

T0 = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
TENANT, BOT, USER = "acme", "coach", "u-1"
DAY = timedelta(days=1)
H1, H2 = "a" * 64, "b" * 64

RULES = {
    "user_first": "{enabled: false}",
    "unanswered": "{enabled: false}",
    "engagement": "{enabled: false}",
    "quiet_hours": "{enabled: false}",
    "frequency_caps": "{caps: [{scope: bot, limit: 100, window: 1d}]}",
    "pii": "{enabled: false}",
    "manipulation": "{enabled: false}",
}


def policy_text(**rules: str) -> str:
    lines = "".join(f"  {rule}: {value}\n" for rule, value in (RULES | rules).items())
    return f"name: open\nrules:\n{lines}"


OPEN = policy_text()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def outreach(
    key: str = "k-1", text: str = "New playlists are out!", **extra: Any
) -> OutreachRequest:
    return OutreachRequest(
        bot_id=BOT, user_id=USER, channel="sms", text=text, idempotency_key=key, **extra
    )


def keyed_commit(ts: datetime, key: str, bound: str | None, payload: str) -> CommitRequest:
    return CommitRequest(
        uuid.uuid4().hex,
        Kind.PROACTIVE,
        ts,
        payload,
        idempotency_key=key,
        request_hash=bound,
    )


async def claim(store: Store, bound: str, now: datetime, key: str = "k", token: str = "t1") -> Any:
    return await store.claim_idempotent(TENANT, BOT, USER, key, bound, token, now, IN_FLIGHT_TTL)


# --------------------------------------------------------------------------- the store


async def test_a_claimed_key_is_in_flight_until_its_decision_is_stored(store: Store) -> None:
    assert (await claim(store, H1, at(0))).state == "claimed"
    assert await store.get_idempotent(TENANT, BOT, USER, "k", at(0)) is None  # not a decision
    assert (await claim(store, H1, at(1), token="t2")).state == "in_flight"
    assert (await claim(store, H2, at(1), token="t2")).state == "mismatch"
    # The commit replaces the marker with the decision, atomically with counting it.
    assert (
        await store.commit(TENANT, BOT, USER, keyed_commit(at(2), "k", H1, '{"v": 1}'))
    ).committed
    assert await claim(store, H1, at(3)) == IdempotencyClaim("replay", '{"v": 1}')
    assert (await claim(store, H2, at(3))).state == "mismatch"
    assert await store.get_idempotent(TENANT, BOT, USER, "k", at(3)) == '{"v": 1}'


async def test_a_marker_expires_by_itself(store: Store) -> None:
    """A gateway that died mid-decision blocks its key for the marker's short TTL only."""
    assert (await claim(store, H1, at(0))).state == "claimed"
    assert (await claim(store, H1, at(29), token="t2")).state == "in_flight"
    assert (await claim(store, H1, at(31), token="t2")).state == "claimed"


async def test_put_replaces_a_marker_but_never_a_decision(store: Store) -> None:
    assert (await claim(store, H1, at(0))).state == "claimed"
    put = store.put_idempotent
    assert await put(TENANT, BOT, USER, "k", '{"v": "block"}', at(1), DAY, request_hash=H1) is None
    assert (await claim(store, H1, at(2))).decision_json == '{"v": "block"}'
    earlier = await put(TENANT, BOT, USER, "k", '{"v": "other"}', at(2), DAY, request_hash=H1)
    assert earlier == '{"v": "block"}'
    # A commit under the key replays the block and counts nothing.
    result = await store.commit(TENANT, BOT, USER, keyed_commit(at(3), "k", H1, '{"v": "allow"}'))
    assert (result.committed, result.replay_json) == (False, '{"v": "block"}')


async def test_abandon_drops_only_its_own_marker(store: Store) -> None:
    assert (await claim(store, H1, at(0), token="mine")).state == "claimed"
    await store.abandon_idempotent(TENANT, BOT, USER, "k", "someone-else", at(1))
    assert (await claim(store, H1, at(1), token="t2")).state == "in_flight"
    await store.abandon_idempotent(TENANT, BOT, USER, "k", "mine", at(1))
    assert (await claim(store, H1, at(2), token="t3")).state == "claimed"
    assert (
        await store.commit(TENANT, BOT, USER, keyed_commit(at(3), "k", H1, '{"v": 1}'))
    ).committed
    await store.abandon_idempotent(TENANT, BOT, USER, "k", "t3", at(4))  # a decision stays
    assert await store.get_idempotent(TENANT, BOT, USER, "k", at(4)) == '{"v": 1}'


async def test_commit_refuses_a_key_bound_to_another_request(store: Store) -> None:
    assert (
        await store.commit(TENANT, BOT, USER, keyed_commit(at(0), "k", H1, '{"v": 1}'))
    ).committed
    other = await store.commit(TENANT, BOT, USER, keyed_commit(at(1), "k", H2, '{"v": 2}'))
    assert (other.committed, other.key_mismatch, other.replay_json) == (False, True, None)
    snap = await store.snapshot(TENANT, BOT, USER, at(2), DAY)
    assert len(snap.outbound_sent) == 1


async def test_an_unbound_decision_replays_for_any_request(store: Store) -> None:
    """Records written without a hash (older releases, ``put_idempotent`` callers that
    bind none) keep replaying as they always did."""
    await store.put_idempotent(TENANT, BOT, USER, "k", '{"v": "old"}', at(0), DAY)
    assert await claim(store, H2, at(1)) == IdempotencyClaim("replay", '{"v": "old"}')


@pytest.mark.redis
async def test_redis_reads_a_value_in_the_format_before_keys_were_bound() -> None:
    prefix = f"grtest-{uuid.uuid4().hex}"
    redis_store = RedisStore(REDIS_URL, prefix=prefix)
    raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        expires = (at(0) + DAY).timestamp()
        await raw.set(redis_store._idem(TENANT, BOT, USER, "k"), f'{expires!r}|{{"v": "old"}}')
        assert await redis_store.get_idempotent(TENANT, BOT, USER, "k", at(1)) == '{"v": "old"}'
        assert (await claim(redis_store, H1, at(1))).decision_json == '{"v": "old"}'
        replay = await redis_store.commit(TENANT, BOT, USER, keyed_commit(at(1), "k", H1, "{}"))
        assert replay.replay_json == '{"v": "old"}'
    finally:
        await raw.aclose()
        await redis_store.close()
        await drop_prefix(prefix)


def test_an_older_sqlite_file_gains_the_binding_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE idempotency (tenant TEXT NOT NULL, user TEXT NOT NULL, bot TEXT NOT NULL,"
        " key TEXT NOT NULL, decision_json TEXT NOT NULL, expires_at REAL NOT NULL,"
        " PRIMARY KEY (tenant, user, bot, key)); PRAGMA user_version = 1;"
    )
    db.execute(
        "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
        (TENANT, USER, BOT, "k", '{"v": "old"}', (at(0) + DAY).timestamp()),
    )
    db.commit()
    db.close()

    async def run() -> None:
        upgraded = SQLiteStore(path)
        try:
            assert await upgraded.get_idempotent(TENANT, BOT, USER, "k", at(1)) == '{"v": "old"}'
            assert (await claim(upgraded, H1, at(1))).decision_json == '{"v": "old"}'
            assert (await claim(upgraded, H1, at(1), key="fresh")).state == "claimed"
        finally:
            await upgraded.close()

    asyncio.run(run())


# --------------------------------------------------------------------------- the pipeline


class Calm:
    """A classifier stand-in that finds nothing (the stack once it has loaded); these
    tests are about what a decision stores, not about the classifier's judgement."""

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        return [
            TextScores(
                self_harm=SelfHarmResult(0.01, "none", False),
                manipulation=ManipulationResult(0.02, (), False),
            )
            for _ in texts
        ]


def loaded(**rules: str) -> LoadedPolicy:
    return parse_policy(policy_text(**rules))


async def seed(store: Store) -> None:
    await store.record_user_message(TENANT, BOT, USER, at(-7200))  # no reply pending


async def test_the_same_key_with_another_body_is_refused(store: Store) -> None:
    await seed(store)
    first = await decide(store, loaded(), TENANT, outreach(), at(0))
    assert first.verdict.value == "allow"
    with pytest.raises(IdempotencyMismatch, match="already used for a different request"):
        await decide(store, loaded(), TENANT, outreach(text="Something else entirely"), at(1))
    for changed in ({"kind": Kind.REPLY}, {"channel": "whatsapp"}, {"user": {"locale": "fr"}}):
        body = outreach().model_dump() | changed
        with pytest.raises(IdempotencyMismatch):
            await decide(store, loaded(), TENANT, OutreachRequest(**body), at(1))
    # The very same request, stamped anew (ts is not part of it), replays.
    again = await decide(store, loaded(), TENANT, outreach(ts=at(2)), at(2))
    assert (again.idempotent_replay, again.decision_id) == (True, first.decision_id)
    snap = await store.snapshot(TENANT, BOT, USER, at(3), DAY)
    assert len(snap.outbound_sent) == 1


async def test_a_duplicate_in_flight_is_refused_then_replays(store: Store) -> None:
    await seed(store)
    held = HeldStore(store)
    held.hold = asyncio.Event()
    first = asyncio.create_task(decide(held, loaded(), TENANT, outreach(), at(0)))
    for _ in range(50):  # until the first has claimed the key and waits in its snapshot
        await asyncio.sleep(0.01)
        if (
            await store.claim_idempotent(
                TENANT, BOT, USER, "k-1", request_hash(outreach()), "probe", at(0), IN_FLIGHT_TTL
            )
            is not None
            and not first.done()
        ):
            break
    with pytest.raises(IdempotencyInFlight, match="still being decided"):
        await decide(store, loaded(), TENANT, outreach(), at(0.5))
    held.hold.set()
    decision = await first
    assert decision.verdict.value == "allow"
    replay = await decide(store, loaded(), TENANT, outreach(), at(1))
    assert (replay.idempotent_replay, replay.decision_id) == (True, decision.decision_id)


async def test_a_store_outage_block_is_not_the_keys_answer(store: Store) -> None:
    await seed(store)
    blip = HeldStore(store, fail_snapshots=1)
    down = await decide(blip, loaded(), TENANT, outreach(), at(0))
    assert [(r.rule, r.effect) for r in down.reasons] == [("store.unavailable", "block")]
    after = await decide(store, loaded(), TENANT, outreach(), at(1))
    assert (after.verdict.value, after.idempotent_replay) == ("allow", False)


async def test_a_content_stage_failing_closed_is_not_the_keys_answer(store: Store) -> None:
    await seed(store)
    policy = loaded(manipulation="{enabled: true, on_error: fail_closed}")
    stack: list[Calm | None] = [None]  # None: the classifier stack has not loaded yet
    analyzer = Analyzer(classifiers=lambda: stack[0])
    down = await decide(store, policy, TENANT, outreach(), at(0), analyzer)
    assert [(r.rule, r.effect) for r in down.reasons if r.effect in ("block", "defer")] == [
        ("manipulation", "defer")  # a proactive message waits for the check
    ]
    assert "unavailable" in down.reasons[-1].detail
    stack[0] = Calm()
    after = await decide(store, policy, TENANT, outreach(), at(1), analyzer)
    assert (after.verdict.value, after.idempotent_replay) == ("allow", False)
    replay = await decide(store, policy, TENANT, outreach(), at(2), analyzer)
    assert replay.idempotent_replay and replay.decision_id == after.decision_id


async def test_a_final_block_is_the_keys_answer(store: Store) -> None:
    """A judgement of the message stands for the key's lifetime, even if state changes."""
    await seed(store)
    await store.set_consent(TENANT, BOT, USER, True, at(-60))
    blocked = await decide(store, loaded(), TENANT, outreach(), at(0))
    assert [r.rule for r in blocked.reasons if r.effect == "block"] == ["opt_out"]
    await store.set_consent(TENANT, BOT, USER, False, at(10))
    replay = await decide(store, loaded(), TENANT, outreach(), at(20))
    assert (replay.idempotent_replay, replay.decision_id) == (True, blocked.decision_id)


async def test_a_deferral_is_not_the_keys_answer(store: Store) -> None:
    await seed(store)
    policy = loaded(quiet_hours="{windows: [{start: '11:00', end: '13:00'}]}")
    deferred = await decide(store, policy, TENANT, outreach(), at(0))
    assert deferred.verdict.value == "defer"
    # Not 409 and not a replay: the retry is decided afresh (and deferred again).
    again = await decide(store, policy, TENANT, outreach(), at(5))
    assert (again.verdict.value, again.idempotent_replay) == ("defer", False)
    assert again.decision_id != deferred.decision_id


# --------------------------------------------------------------------------- over HTTP


def post(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/v1/outreach/check", json=body, headers=AUTH)


def test_http_mismatch_is_422_and_in_flight_is_409(
    make_client: Callable[..., TestClient], clock: Clock, uid: Callable[[str], str], tmp_path: Path
) -> None:
    policy = tmp_path / "open.yaml"
    policy.write_text(OPEN, encoding="utf-8")
    client = make_client(policy=policy)
    bot, user, key = uid("maestro"), uid("ana"), uid("nudge")
    body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": "Gig on Friday!",
            "idempotency_key": key}  # fmt: skip

    first = post(client, body)
    assert first.status_code == 200 and first.json()["verdict"] == "allow", first.text
    again = post(client, body | {"ts": clock().isoformat()})
    assert again.status_code == 200 and again.json()["idempotent_replay"] is True

    other = post(client, body | {"text": "Gig on Saturday!"})
    assert other.status_code == 422, other.text
    assert other.json()["error"] == "invalid_request"
    assert "already used for a different request" in other.json()["detail"]

    # Another replica is deciding this very request right now: it holds the key.
    busy = body | {"idempotency_key": uid("busy")}
    store = client.app.state.gateway.store  # type: ignore[attr-defined]
    bound = request_hash(OutreachRequest(**busy))
    claimed = client.portal.call(  # type: ignore[union-attr]
        store.claim_idempotent, "default", bot, user, busy["idempotency_key"], bound, "replica-2",
        clock(), IN_FLIGHT_TTL,
    )  # fmt: skip
    assert claimed.state == "claimed"
    conflict = post(client, busy)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["error"] == "conflict"
    assert "still being decided" in conflict.json()["detail"]
    assert conflict.headers["retry-after"] == "1"
    # The marker is short-lived: once it expires, the key is decided.
    clock.advance(seconds=IN_FLIGHT_TTL.total_seconds() + 1)
    assert post(client, busy).status_code == 200
