"""Retention: a prune scheduled in the app's lifespan, and a TTL on every Redis key.

The schedule is observed, not timed: the tests wait for the task to have run after the
data went in, then look at what is left. Risk signals have their own, shorter retention.
Each duration is raised to the longest look-back of the active policies (28 days for the
built-in one), so a prune never drops what a rule still reads.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from guardrail.models import Kind
from guardrail.retention import PruneStats
from guardrail.state.base import CommitRequest, EventWrite, Store
from guardrail.state.common import ConsentChange, KeyTtls
from guardrail.state.redis import RedisStore
from tests.conftest import Clock
from tests.store_support import store_of, unique_prefix

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
DAY = timedelta(days=1)


def wait_for_runs(stats: PruneStats, runs: int) -> None:
    """Wait (bounded) until the scheduled prune has run ``runs`` more times."""
    target = stats.runs + runs
    deadline = time.monotonic() + 30
    while stats.runs < target:
        assert time.monotonic() < deadline, f"the prune ran {stats.runs} times, not {target}"
        time.sleep(0.02)


def test_the_scheduled_prune_drops_old_state_and_risk_sooner(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client(
        retention={"enabled": True, "interval": 0.05, "messages": "60d", "risk": "1d"},
        redis_prefix=unique_prefix(),
    )
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    stats: PruneStats = client.app.state.prune_stats  # type: ignore[attr-defined]
    portal = client.portal
    assert portal is not None
    bot, user, now = uid("coach"), uid("ivy"), clock()
    for age in (90 * DAY, 35 * DAY, 2 * DAY):  # beyond 60 d / past risk's 28 d / recent
        write = EventWrite(ts=now - age, user_message=True, risk_level=2)
        portal.call(gateway.store.apply_event, "default", bot, user, write)
    wait_for_runs(stats, 2)
    assert stats.failures == 0, stats.last_error
    snap = portal.call(gateway.store.snapshot, "default", bot, user, now, 365 * DAY)
    assert snap.user_messages == (now - 35 * DAY, now - 2 * DAY)
    assert [e.ts for e in snap.risk_events] == [now - 2 * DAY]  # 28 d: the policy's look-back


def test_policies_set_retention_the_longest_wins(
    make_client: MakeClient, clock: Clock, uid: Uid, tmp_path: Path
) -> None:
    """A policy's ``retention:`` replaces the gateway's setting; the longest active one wins
    (state is shared by the set), and a look-back still floors it."""
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "default.yaml").write_text("name: default\nretention: {messages: 40d, risk: 3d}\n")
    (folder / "acme.yaml").write_text(
        "name: acme\nmatch: {tenants: [acme]}\nretention: {messages: 50d}\n"
    )
    client = make_client(
        policy=folder,
        retention={"enabled": True, "interval": 0.05, "messages": "300d", "risk": "100d"},
        redis_prefix=unique_prefix(),
    )
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    stats: PruneStats = client.app.state.prune_stats  # type: ignore[attr-defined]
    portal = client.portal
    assert portal is not None
    bot, user, now = uid("coach"), uid("ivy"), clock()
    for age in (60 * DAY, 45 * DAY, 2 * DAY):
        write = EventWrite(ts=now - age, user_message=True, risk_level=2)
        portal.call(gateway.store.apply_event, "default", bot, user, write)
    wait_for_runs(stats, 2)
    assert stats.failures == 0, stats.last_error
    snap = portal.call(gateway.store.snapshot, "default", bot, user, now, 365 * DAY)
    assert snap.user_messages == (now - 45 * DAY, now - 2 * DAY)  # 50 d: acme's, the longest
    assert [e.ts for e in snap.risk_events] == [now - 2 * DAY]  # 3 d, floored to 28 d


def test_retention_can_be_turned_off(make_client: MakeClient) -> None:
    client = make_client(retention={"enabled": False, "interval": 0.01})
    stats: PruneStats = client.app.state.prune_stats  # type: ignore[attr-defined]
    assert stats.runs == 0


# --------------------------------------------------------------------------- Redis TTLs


@pytest.fixture
async def redis_store(tmp_path: Path) -> AsyncIterator[Store]:
    async for s in store_of("redis", tmp_path):
        yield s


T0 = datetime.now(UTC).replace(microsecond=0)  # TTLs are server-side: use the real clock


async def ttls(store: RedisStore) -> dict[str, int]:
    keys = [k async for k in store._r.scan_iter(match=f"{store.prefix}:*", count=1000)]
    return {key.split("}:", 1)[1]: int(await store._r.ttl(key)) for key in keys}


@pytest.mark.redis
async def test_every_redis_key_gets_a_ttl(redis_store: Store) -> None:
    store = redis_store
    assert isinstance(store, RedisStore)
    store.ttls = KeyTtls(messages=10 * DAY, risk=2 * DAY, records=100 * DAY)
    change = ConsentChange("coach", True, T0, "webhook", T0)
    write = EventWrite(ts=T0, seen_key="user_message:m1", user_message=True, consent=change,
                       risk_level=2, dependency_score=0.9)  # fmt: skip
    await store.apply_event("acme", "coach", "u", write)
    after_event = await ttls(store)
    assert set(after_event) == {"seen:user_message%3Am1", "um:coach", "first", "consent", "risk",
                                "dep"}  # fmt: skip
    assert all(ttl > 0 for ttl in after_event.values()), after_event
    assert after_event["risk"] <= 2 * 86400 < after_event["um:coach"] <= 10 * 86400
    assert after_event["consent"] > 10 * 86400

    request = CommitRequest(decision_id=uuid.uuid4().hex, kind=Kind.PROACTIVE, ts=T0,
                            decision_json="{}", disclosed=True, resources=True)  # fmt: skip
    assert (await store.commit("acme", "coach", "u", request)).committed
    await store.record_user_message("acme", "coach", "u2", T0)
    await store.prune(T0 - 10 * DAY, risk_before=T0 - 2 * DAY)
    swept = await ttls(store)
    assert {"pro:coach", "pro_all", "out:coach", "disc:coach", "res:coach"} <= set(swept)
    assert all(ttl > 0 for ttl in swept.values()), swept  # nothing grows forever
    # A zset's TTL follows its newest entry: it expires when that entry leaves retention.
    assert 9 * 86400 < swept["out:coach"] <= 10 * 86400
