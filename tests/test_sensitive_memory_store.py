"""SensitiveMemoryStore and ErasureStore on both stores: what a user confided (categories and
times only), their wishes about it, retention, and erasure that keeps the opt-out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from guardrail.models import Kind
from guardrail.state.base import (
    ALL_TOPICS,
    CommitRequest,
    EventWrite,
    SensitiveMemory,
    Store,
    TopicPreference,
)
from guardrail.state.redis import RedisStore
from tests.test_store import store  # noqa: F401  (the both-stores fixture)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TENANT, BOT, OTHER, USER = "acme", "maestro", "other-bot", "ana"


async def test_disclosures_are_categories_and_latest_times_per_bot(store: Store) -> None:  # noqa: F811
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0, user_message=True,
                                                          disclosed=("health",)))  # fmt: skip
    both = EventWrite(ts=T0 + DAY, disclosed=("health", "finances"))
    await store.apply_event(TENANT, BOT, USER, both)
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0 - DAY, disclosed=("health",)))
    memory = await store.sensitive_memory(TENANT, BOT, USER)
    assert memory.disclosed == {"health": T0 + DAY, "finances": T0 + DAY}
    assert (await store.sensitive_memory(TENANT, OTHER, USER)).disclosed == {}
    assert (await store.snapshot(TENANT, BOT, USER, T0, DAY)).user_messages == (T0,)


async def test_forget_marks_do_not_mention_until_the_user_brings_it_up(store: Store) -> None:  # noqa: F811
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0, disclosed=("health",)))
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0 + DAY, forget=("health",)))
    memory = await store.sensitive_memory(TENANT, BOT, USER)
    assert memory.do_not_mention(["health", "religion"]) == {"health"}
    assert (await store.sensitive_memory(TENANT, OTHER, USER)).do_not_mention(["health"]) == set()
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0 + 2 * DAY, disclosed=("health",)))
    assert (await store.sensitive_memory(TENANT, BOT, USER)).do_not_mention(["health"]) == set()


async def test_forget_everything_covers_every_category(store: Store) -> None:  # noqa: F811
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0, forget=(ALL_TOPICS,)))
    memory = await store.sensitive_memory(TENANT, BOT, USER)
    assert memory.do_not_mention(["legal", "politics"]) == {"legal", "politics"}


async def test_follow_up_consent_later_wins_and_all_bots_apply(store: Store) -> None:  # noqa: F811
    await store.set_follow_ups(TENANT, BOT, USER, ["health"], True, T0, "ingest")
    await store.set_follow_ups(TENANT, None, USER, ["religion"], True, T0, "admin")
    memory = await store.sensitive_memory(TENANT, BOT, USER)
    assert memory.consented(["health", "religion", "legal"]) == {"health", "religion"}
    assert memory.preferences["health"] == TopicPreference("allow", T0, "ingest")
    other = await store.sensitive_memory(TENANT, OTHER, USER)
    assert other.consented(["health", "religion"]) == {"religion"}
    await store.set_follow_ups(TENANT, BOT, USER, ["health"], False, T0 - DAY, "ingest")  # older
    assert (await store.sensitive_memory(TENANT, BOT, USER)).consented(["health"]) == {"health"}
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0 + DAY, forget=("health",)))
    memory = await store.sensitive_memory(TENANT, BOT, USER)
    assert memory.consented(["health"]) == set()
    assert memory.do_not_mention(["health"]) == {"health"}


async def test_disclosures_go_with_risk_retention_preferences_with_records(store: Store) -> None:  # noqa: F811
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0, disclosed=("health",),
                                                          forget=("legal",)))  # fmt: skip
    await store.prune(T0 - 90 * DAY, risk_before=T0 + DAY, records_before=T0 - DAY)
    memory = await store.sensitive_memory(TENANT, BOT, USER)
    assert memory.disclosed == {} and "legal" in memory.preferences
    if isinstance(store, RedisStore):  # records live by TTL since their last write, as consent
        ttl = await store._r.ttl(f"{store._tag(TENANT, USER)}:topics")
        assert 0 < ttl <= store.ttls.records.total_seconds()
        return
    await store.prune(T0 - 90 * DAY, risk_before=T0 + DAY, records_before=T0 + DAY)
    assert await store.sensitive_memory(TENANT, BOT, USER) == SensitiveMemory()


async def test_a_duplicate_event_writes_no_memory(store: Store) -> None:  # noqa: F811
    write = EventWrite(ts=T0, seen_key="user_message:e1", user_message=True, disclosed=("health",))
    assert not (await store.apply_event(TENANT, BOT, USER, write)).duplicate
    later = EventWrite(ts=T0 + DAY, seen_key="user_message:e1", disclosed=("health",))
    assert (await store.apply_event(TENANT, BOT, USER, later)).duplicate
    assert (await store.sensitive_memory(TENANT, BOT, USER)).disclosed == {"health": T0}


async def test_erasure_keeps_only_the_opt_out(store: Store) -> None:  # noqa: F811
    await store.apply_event(TENANT, BOT, USER, EventWrite(ts=T0, user_message=True,
                                                          risk_level=2, dependency_score=0.9,
                                                          disclosed=("health",)))  # fmt: skip
    await store.set_follow_ups(TENANT, BOT, USER, ["health"], True, T0, "ingest")
    await store.set_consent(TENANT, BOT, USER, True, T0, source="ingest")
    await store.set_consent(TENANT, OTHER, USER, False, T0, source="ingest")
    await store.remember_user(TENANT, USER, "FR", True, "ingest")
    await store.mark_likely_minor(TENANT, USER, T0, "ingest", ("school_year",))
    await store.assure_age(TENANT, USER, T0 - DAY, False, "ingest", "id_check")
    await store.commit(TENANT, BOT, USER, CommitRequest(uuid.uuid4().hex, Kind.REPLY, T0, "{}",
                                                        idempotency_key="k1"))  # fmt: skip
    await store.apply_event(TENANT, BOT, "bob", EventWrite(ts=T0, user_message=True))
    removed = await store.erase_user(TENANT, USER)
    assert removed > 0
    snap = await store.snapshot(TENANT, BOT, USER, T0 + DAY, 30 * DAY)
    assert snap.opted_out and snap.user_messages == () and snap.outbound_sent == ()
    assert snap.risk_events == () and snap.dependency_events == ()
    assert snap.first_user_message is None
    assert not (await store.snapshot(TENANT, OTHER, USER, T0 + DAY, DAY)).opted_out
    assert await store.sensitive_memory(TENANT, BOT, USER) == SensitiveMemory()
    profile = await store.user_profile(TENANT, USER)
    assert profile.is_minor is None
    assert profile.likely_minor_at is None and profile.age_assured_at is None  # both stores
    assert await store.get_idempotent(TENANT, BOT, USER, "k1", T0) is None
    assert (await store.snapshot(TENANT, BOT, "bob", T0 + DAY, DAY)).user_messages == (T0,)
    if isinstance(store, RedisStore):
        left = [k async for k in store._r.scan_iter(match=f"{store.prefix}:*", count=100)]
        assert all("bob" in k or k.endswith(":consent") for k in left), left
