"""Bot claims about the user against evidence (issue #24, point 3), over HTTP on both stores.

The request's ``user`` block is the bot's word. A time zone it claims is checked against
the zones of a phone-number user id and the zone the platform reported; a jurisdiction
against the user record and the phone number's country; minor status against the record.
A conflict gets the strictest reading, and the decision says so.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.state.base import Store, UserProfile
from guardrail.state.sqlite import SQLiteStore
from guardrail.timezones import phone_zones
from tests.conftest import Clock
from tests.store_support import store
from tests.test_api import PROACTIVE_TEXT, MakeClient, Uid, enforcing, engage
from tests.test_trust import policy_set

__all__ = ["store"]  # the fixture, of each backend

BOT_KEY = "bot-key-claims-Hq4Zt8Wd"
INGEST_KEY = "ingest-key-claims-Mv2Rb6Ks"
BOT = {"Authorization": f"Bearer {BOT_KEY}"}
INGEST = {"Authorization": f"Bearer {INGEST_KEY}"}


def number(prefix: str, digits: int) -> str:
    """A valid phone number of its own with ``prefix`` (tests share the Redis server)."""
    while True:
        found = prefix + str(uuid.uuid4().int % 10**digits).zfill(digits)
        if phone_zones(found, None) is not None:
            return found


def tokyo_mobile() -> str:
    return number("+81901", 7)


Json = dict[str, Any]


def client_with_keys(make_client: MakeClient, **settings: Any) -> TestClient:
    keys = [
        {"name": "engine", "tenant": "default", "key": BOT_KEY},
        {"name": "platform", "tenant": "default", "role": "ingest", "key": INGEST_KEY},
    ]
    return make_client(keys=keys, **settings)


def check(
    client: TestClient, bot: str, user_id: str, *, headers: dict[str, str] = BOT, **extra: Any
) -> Json:
    body = {"bot_id": bot, "user_id": user_id, "channel": "messenger", "text": PROACTIVE_TEXT}
    response = client.post("/v1/outreach/check", json=body | extra, headers=headers)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def reasons(decision: Json, rule: str) -> list[Json]:
    return [r for r in decision["reasons"] if r["rule"] == rule]


def report(client: TestClient, headers: dict[str, str], bot: str, user: str, **facts: Any) -> None:
    body = {"type": "delivered", "bot_id": bot, "user_id": user,
            "ts": "2026-11-19T20:00:00+00:00", **facts}  # fmt: skip
    response = client.post("/v1/events", json=body, headers=headers)
    assert response.status_code == 200, response.text


# --------------------------------------------------------------------------- zones


@pytest.mark.parametrize(
    ("plus", "channel"),
    [("+", "messenger"), ("", "whatsapp"), ("", "sms")],
)
def test_a_japanese_number_is_deferred_whatever_zone_the_bot_claims(
    make_client: MakeClient, clock: Clock, uid: Uid, plus: str, channel: str
) -> None:
    user_id = plus + tokyo_mobile()[1:]
    client = client_with_keys(make_client)
    clock.set("2026-11-19T20:25:00+00:00")  # 05:25 in Tokyo, 15:25 in New York
    bot = uid("maestro")
    engage(client, bot, user_id, clock())
    for claim in (None, "Asia/Tokyo", "America/New_York"):
        user = {"timezone": claim} if claim else {}
        decision = check(client, bot, user_id, kind="proactive", user=user, channel=channel)
        assert decision["verdict"] == "defer", (claim, decision)
        assert decision["retry_after"].startswith("2026-11-20T08:00:00+09:00"), decision
    (quiet,) = reasons(decision, "quiet_hours")
    assert (
        "the request says America/New_York, which conflicts with the phone number"
        in (quiet["detail"])
    )


def test_a_conflicting_claim_that_is_not_quiet_is_still_said(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = client_with_keys(make_client)
    clock.set("2026-11-20T01:00:00+00:00")  # 10:00 in Tokyo, 20:00 in New York
    bot = uid("maestro")
    user_id = tokyo_mobile()
    engage(client, bot, user_id, clock())
    claimed = {"timezone": "America/New_York"}
    decision = check(client, bot, user_id, kind="proactive", user=claimed)
    assert decision["verdict"] == "allow", decision
    (quiet,) = reasons(decision, "quiet_hours")
    assert quiet["effect"] == "info" and "conflicts with the phone number" in quiet["detail"]


def test_the_zone_the_platform_reported_is_evidence_a_bots_is_not(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = client_with_keys(make_client)
    clock.set("2026-11-19T20:25:00+00:00")
    bot, user, other = uid("maestro"), uid("ana"), uid("bo")
    report(client, INGEST, bot, user, timezone="Asia/Tokyo")
    report(client, BOT, bot, other, timezone="Asia/Tokyo")  # a bot's word: not kept
    claimed = {"timezone": "America/New_York"}
    for who in (user, other):
        engage(client, bot, who, clock())
    deferred = check(client, bot, user, kind="proactive", user=claimed)
    assert deferred["verdict"] == "defer", deferred
    (quiet,) = reasons(deferred, "quiet_hours")
    assert "conflicts with the user record (ingest)" in quiet["detail"]
    assert check(client, bot, other, kind="proactive", user=claimed)["verdict"] == "allow"
    # Without a claim, the record's zone applies.
    alone = check(client, bot, user, kind="proactive")
    assert (
        alone["verdict"] == "defer" and "Asia/Tokyo" in reasons(alone, "quiet_hours")[0]["detail"]
    )


# --------------------------------------------------------------------------- jurisdiction, age


def test_a_conflicting_jurisdiction_gets_the_stricter_policy(
    make_client: MakeClient, tmp_path: Path, uid: Uid
) -> None:
    client = client_with_keys(make_client, policy=policy_set(tmp_path / "set"))
    bot, user = uid("b"), uid("u")
    report(client, INGEST, bot, user, jurisdiction="US")
    # fr (strictness 5) is stricter than us (1): the bot's claim of FR is the stricter reading.
    stricter = check(client, bot, user, user={"jurisdiction": "FR"})
    assert stricter["policy"] == "fr"
    notes = " ".join(r["detail"] for r in reasons(stricter, "user.context"))
    assert "the request says jurisdiction FR; the user record says US" in notes
    assert "policy fr (strictness 5) is the strictest of US, FR" in notes
    # A milder claim changes nothing.
    other = uid("v")
    report(client, INGEST, bot, other, jurisdiction="FR")
    assert check(client, bot, other, user={"jurisdiction": "US"})["policy"] == "fr"


def test_the_phone_numbers_country_is_evidence_for_the_jurisdiction(
    make_client: MakeClient, tmp_path: Path, uid: Uid
) -> None:
    client = client_with_keys(make_client, policy=policy_set(tmp_path / "set"))
    bot = uid("b")
    french = check(client, bot, number("+336", 8), user={"jurisdiction": "US"})
    assert french["policy"] == "fr"
    assert any("phone number is from FR, not US" in r["detail"] for r in french["reasons"])
    american = check(client, bot, number("+1212", 7), user={"jurisdiction": "US"})
    assert american["policy"] == "us" and not reasons(american, "user.context")


def test_a_minor_on_either_side_is_a_minor(
    make_client: MakeClient, tmp_path: Path, uid: Uid
) -> None:
    client = client_with_keys(make_client, policy=policy_set(tmp_path / "set"))
    bot, user = uid("b"), uid("u")
    report(client, INGEST, bot, user, is_minor=False)
    decision = check(client, bot, user, user={"is_minor": True})
    assert decision["policy"] == "minors"
    notes = " ".join(r["detail"] for r in reasons(decision, "user.context"))
    assert "the request says the user is a minor; the user record says adult" in notes
    assert "stricter reading" in notes
    assert enforcing(decision) != ["user.unknown"]


# --------------------------------------------------------------------------- the stores


async def test_stores_keep_a_zone_from_platform_evidence_only(store: Store) -> None:
    await store.remember_user("acme", "u1", None, None, "bot", "America/New_York")
    assert (await store.user_profile("acme", "u1")).timezone is None
    await store.remember_user("acme", "u1", "JP", None, "ingest", "Asia/Tokyo")
    profile = await store.user_profile("acme", "u1")
    assert (profile.timezone, profile.timezone_source, profile.jurisdiction) == (
        "Asia/Tokyo",
        "ingest",
        "JP",
    )
    await store.remember_user("acme", "u1", None, True, "bot", "America/New_York")
    assert (await store.user_profile("acme", "u1")).timezone == "Asia/Tokyo"


def test_an_older_sqlite_profile_table_gains_the_zone_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE user_profile (tenant TEXT NOT NULL, user TEXT NOT NULL, jurisdiction TEXT,"
        " jurisdiction_source TEXT, is_minor INTEGER, minor_source TEXT,"
        " PRIMARY KEY (tenant, user)) WITHOUT ROWID"
    )
    db.execute("INSERT INTO user_profile VALUES ('acme', 'u1', 'FR', 'ingest', 0, 'ingest')")
    db.commit()
    db.close()

    async def run() -> UserProfile:
        store = SQLiteStore(path)
        await store.remember_user("acme", "u1", None, None, "ingest", "Europe/Paris")
        profile = await store.user_profile("acme", "u1")
        await store.close()
        return profile

    assert asyncio.run(run()) == UserProfile(
        "FR", "ingest", False, "ingest", "Europe/Paris", "ingest"
    )
