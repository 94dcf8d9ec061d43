"""Store.user_profile / remember_user on both stores: who may change a user's facts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from guardrail.state.base import Store, UserProfile
from tests.test_store import store  # noqa: F401  (the both-stores fixture)

TENANT, USER = "acme", "user-1"


async def test_an_unknown_user_has_an_empty_profile(store: Store) -> None:  # noqa: F811
    assert await store.user_profile(TENANT, USER) == UserProfile()


async def test_a_bot_fills_gaps_only(store: Store) -> None:  # noqa: F811
    await store.remember_user(TENANT, USER, "fr", False, "bot")
    await store.remember_user(TENANT, USER, "US", None, "bot")
    profile = await store.user_profile(TENANT, USER)
    assert profile == UserProfile("FR", "bot", False, "bot")
    await store.remember_user(TENANT, USER, None, True, "bot")  # stricter: always taken
    await store.remember_user(TENANT, USER, None, False, "bot")  # milder: ignored
    assert (await store.user_profile(TENANT, USER)).is_minor is True
    assert await store.user_profile(TENANT, "someone-else") == UserProfile()


async def test_platform_evidence_replaces_the_record(store: Store) -> None:  # noqa: F811
    await store.remember_user(TENANT, USER, "FR", True, "bot")
    await store.remember_user(TENANT, USER, "US-CA", False, "ingest")
    assert await store.user_profile(TENANT, USER) == UserProfile("US-CA", "ingest", False, "ingest")
    await store.remember_user(TENANT, USER, "FR", None, "bot")
    assert (await store.user_profile(TENANT, USER)).jurisdiction == "US-CA"


async def test_concurrent_claims_never_lose_a_minor(store: Store) -> None:  # noqa: F811
    claims = [store.remember_user(TENANT, USER, None, i % 2 == 0, "bot") for i in range(40)]
    await asyncio.gather(*claims)
    assert (await store.user_profile(TENANT, USER)).is_minor is True


# --------------------------------------------------------------------------- age evidence

T0 = datetime(2027, 1, 12, 16, 0, tzinfo=UTC)


async def test_a_likely_minor_mark_keeps_its_evidence(store: Store) -> None:  # noqa: F811
    assert await store.mark_likely_minor(TENANT, USER, T0, "webhook", ("age",))
    later = T0 + timedelta(hours=1)
    assert not await store.mark_likely_minor(TENANT, USER, later, "bot", ("school_year",))
    profile = await store.user_profile(TENANT, USER)
    assert profile.likely_minor and profile.likely_minor_at == T0
    assert (profile.likely_minor_source, profile.likely_minor_cues) == ("webhook", ("age",))
    earlier = T0 - timedelta(days=1)  # a redelivered older message moves it back
    assert await store.mark_likely_minor(TENANT, USER, earlier, "ingest", ("parents_rules",))
    assert (await store.user_profile(TENANT, USER)).likely_minor_at == earlier
    assert (await store.user_profile(TENANT, "someone-else")).likely_minor is False


async def test_only_an_adult_assurance_clears_the_evidence_before_it(store: Store) -> None:  # noqa: F811
    await store.mark_likely_minor(TENANT, USER, T0, "ingest", ("age",))
    await store.assure_age(TENANT, USER, T0 - timedelta(minutes=1), True, "ingest", "id")
    assert (await store.user_profile(TENANT, USER)).likely_minor  # dated before the message
    await store.assure_age(TENANT, USER, T0 + timedelta(minutes=1), True, "admin", "id_document")
    profile = await store.user_profile(TENANT, USER)
    assert not profile.likely_minor and profile.age_assured_adult is True
    assert (profile.age_assurance_source, profile.age_assurance_method) == ("admin", "id_document")
    # evidence the assurance answered (a redelivery) changes nothing; newer words mark again
    assert not await store.mark_likely_minor(TENANT, USER, T0, "ingest", ("age",))
    assert await store.mark_likely_minor(TENANT, USER, T0 + timedelta(hours=1), "bot", ("age",))
    assert (await store.user_profile(TENANT, USER)).likely_minor
    # an older assurance arriving late does not replace the latest one
    await store.assure_age(TENANT, USER, T0, False, "ingest", None)
    assert (await store.user_profile(TENANT, USER)).age_assured_adult is True


async def test_age_evidence_leaves_the_jurisdiction_and_minor_record_alone(
    store: Store,  # noqa: F811
) -> None:
    await store.remember_user(TENANT, USER, "US-WA", None, "ingest")
    await store.mark_likely_minor(TENANT, USER, T0, "ingest", ("age",))
    profile = await store.user_profile(TENANT, USER)
    assert (profile.jurisdiction, profile.is_minor, profile.likely_minor) == ("US-WA", None, True)
