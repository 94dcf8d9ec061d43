"""Signed webhooks and proxy-read updates meet the limits of /v1/events (issue #24, point
6): an event more than client_time_skew ahead of the gateway clock, older than
event_max_age, outside 2000-2100, or with a text over max_text_chars, is skipped with a
warning (Meta retries a refused webhook for days), and the rest of the payload applies.
Both stores, through the routes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.channel_support import (
    INGEST,
    TG_BOT,
    MakeClient,
    fb_item,
    make_channels,
    messenger,
    telegram,
    tg_update,
    wa_message,
    whatsapp,
)
from tests.conftest import Clock
from tests.test_api import check, enforcing
from tests.upstream import Reply, Upstream, serve_upstream

FIFTY_YEARS = timedelta(days=50 * 365)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with serve_upstream() as up:
        up.default = Reply(200, {"ok": True, "result": []})
        yield up


@pytest.fixture
def client(make_client: MakeClient, upstream: Upstream) -> TestClient:
    return make_channels(make_client, upstream, max_text_chars=200, event_max_age="P1D")


def wa_user() -> str:
    return "3361" + str(uuid.uuid4().int % 10**7).zfill(7)


def test_whatsapp_skips_what_events_would_refuse(client: TestClient, clock: Clock) -> None:
    user, now = wa_user(), clock()
    payload = [
        wa_message(user, now + FIFTY_YEARS, "text", "from the future"),
        wa_message(user, now + timedelta(minutes=6), "text", "a clock too fast"),
        wa_message(user, now - timedelta(days=2), "text", "older than event_max_age"),
        wa_message(user, now - timedelta(minutes=1), "text", "x" * 201),
        wa_message(user, now - timedelta(minutes=1), "text", "fine"),
    ]
    answer = whatsapp(client, *payload)
    assert answer["recorded"] == 1
    warnings = " | ".join(answer["warnings"])
    assert warnings.count("skipped event") == 4, warnings
    assert "ahead of the gateway clock" in warnings and "older than the 1 day" in warnings
    assert "text is 201 characters; the limit is 200" in warnings


def test_messenger_skips_instead_of_refusing_the_payload(client: TestClient, clock: Clock) -> None:
    psid, now = f"psid-{uuid.uuid4().hex[:8]}", clock()
    far = datetime(2150, 1, 1, tzinfo=UTC)  # outside 2000-2100: was a 400 for the whole payload
    items = [
        fb_item(psid, far, "text", "hello from 2150"),
        fb_item(psid, now + FIFTY_YEARS, "text", "hello from 2076"),
        fb_item(psid, now - timedelta(minutes=1), "text", "STOP"),
    ]
    answer = messenger(client, *items)
    assert answer["recorded"] == 1, answer
    assert len(answer["warnings"]) == 2 and all("skipped" in w for w in answer["warnings"])
    assert "opt_out" in enforcing(check(client, "fb-bot", psid, kind="proactive"))


def test_telegram_updates_read_by_the_proxy_meet_the_limits(
    client: TestClient, upstream: Upstream, clock: Clock
) -> None:
    chat, now = 10**9 + uuid.uuid4().int % 10**9, clock()
    future = telegram(client, upstream, tg_update(chat, now + FIFTY_YEARS, "text", "STOP"))
    assert future["ok"] is True  # the bot's answer passes unchanged
    long = telegram(client, upstream, tg_update(chat, now, "text", "STOP " + "x" * 300))
    assert long["ok"] is True
    assert "opt_out" not in enforcing(check(client, TG_BOT, str(chat), kind="proactive"))
    telegram(client, upstream, tg_update(chat, now - timedelta(minutes=1), "text", "STOP"))
    assert "opt_out" in enforcing(check(client, TG_BOT, str(chat), kind="proactive"))


def test_events_refuse_the_same(client: TestClient, clock: Clock) -> None:
    base = {"type": "user_message", "bot_id": "api-bot", "user_id": "u", "text": "hi"}
    ahead = {**base, "ts": (clock() + FIFTY_YEARS).isoformat()}
    assert client.post("/v1/events", json=ahead, headers=INGEST).status_code == 422
    long = {**base, "ts": clock().isoformat(), "text": "x" * 201}
    assert client.post("/v1/events", json=long, headers=INGEST).status_code == 413
