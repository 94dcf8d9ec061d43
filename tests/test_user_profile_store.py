"""Store.user_profile / remember_user on both stores: who may change a user's facts."""

from __future__ import annotations

import asyncio

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
