"""Messenger and Instagram inbound webhooks: signature, the ``messages`` field, events fed
to guardrail the way the WhatsApp webhook feeds them, on both stores.

The end-to-end test shows why it matters: the user's message that arrives by webhook is
what lets the bot's reply through the Messenger proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.models import Channel, EventType
from guardrail.platforms.meta.webhook_messenger import parse_events
from tests.conftest import Clock
from tests.proxy_support import sha256
from tests.upstream import Reply, Upstream, serve_upstream

APP_SECRET = "9c2e4a1b7d3f5e6a8b0c1d2e3f4a5b6c"
PAGE_ID, IG_ID = "20531316728", "17841400008460056"
PROXY, REAL = "fb-proxy-token-of-pagebot-4Kq", "EAAB-page-real-SECRET-0c1d"
MakeClient = Callable[..., TestClient]


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def messenger_payload(psid: str, ms: int, *items: dict[str, Any]) -> dict[str, Any]:
    base = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": ms}
    return {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": ms, "messaging": [{**base, **i} for i in items]}],
    }


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with serve_upstream() as up:
        yield up


@pytest.fixture
def client(make_client: MakeClient, upstream: Upstream) -> TestClient:
    upstream.reset()
    url = f"{upstream.base}/v21.0/{PAGE_ID}/messages"
    bot = {
        "upstream": {"type": "messenger", "url": url, "token": REAL, "retries": 0},
        "proxy_token_sha256": sha256(PROXY),
    }
    pages = {PAGE_ID: {"bot": "pagebot"}, IG_ID: {"bot": "instabot"}}
    return make_client(
        bots={"pagebot": bot, "instabot": {}},
        meta={"app_secret": APP_SECRET, "verify_token": "handshake-Wq3", "pages": pages},
    )


def post(client: TestClient, payload: dict[str, Any], secret: str = APP_SECRET) -> Any:
    body = json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": sign(body, secret), "Content-Type": "application/json"}
    return client.post("/v1/webhooks/meta", content=body, headers=headers)


def test_user_message_by_webhook_opens_the_proxy(
    client: TestClient, upstream: Upstream, clock: Clock
) -> None:
    psid = "psid-" + uuid.uuid4().hex[:10]
    send = {"recipient": {"id": psid}, "message": {"text": "Here is the list you asked for."}}
    url = f"/v1/proxy/graph/v21.0/{PAGE_ID}/messages"
    auth = {"Authorization": f"Bearer {PROXY}"}
    assert client.post(url, json=send, headers=auth).json()["error"]["error_data"]["rules"] == [
        "user_first"
    ]

    ms = int((clock() - timedelta(minutes=3)).timestamp() * 1000)
    message = {"message": {"mid": f"m_{psid}", "text": "can you send me the list?"}}
    answer = post(client, messenger_payload(psid, ms, message))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"recorded": 1, "warnings": []}
    assert post(client, messenger_payload(psid, ms, message)).json()["recorded"] == 0  # redelivery

    upstream.default = Reply(200, {"recipient_id": psid, "message_id": "m_out"})
    sent = client.post(url, json=send, headers=auth)
    assert sent.status_code == 200, sent.text
    [req] = upstream.requests
    assert req.headers["authorization"] == f"Bearer {REAL}"


def test_signature_and_shape_are_checked(client: TestClient, clock: Clock) -> None:
    payload = messenger_payload("psid-1", 1764633600000, {"message": {"mid": "m1", "text": "hi"}})
    assert post(client, payload, secret="someone-else").status_code == 401
    unsigned = client.post("/v1/webhooks/meta", json=payload)
    assert unsigned.status_code == 401
    broken = {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{"message": {}}]}]}
    bad = post(client, broken)
    assert bad.status_code == 400 and "entry[0].messaging[0].sender" in bad.json()["detail"]
    assert post(client, {"object": "whatsapp_business_account", "entry": []}).status_code == 400
    assert post(client, [1, 2]).status_code == 400  # type: ignore[arg-type]


def test_handshake(client: TestClient) -> None:
    ok = {
        "hub.mode": "subscribe",
        "hub.verify_token": "handshake-Wq3",
        "hub.challenge": "1158201444",
    }
    assert client.get("/v1/webhooks/meta", params=ok).text == "1158201444"
    wrong = {**ok, "hub.verify_token": "guess"}
    assert client.get("/v1/webhooks/meta", params=wrong).status_code == 403
    accented = {**ok, "hub.verify_token": "hándshake-Wq3"}  # not ASCII: 403, never a 500
    assert client.get("/v1/webhooks/meta", params=accented).status_code == 403
    assert client.get("/v1/webhooks/whatsapp", params=accented).status_code == 404


def test_a_signed_body_nested_thousands_deep_is_400(client: TestClient) -> None:
    body = b"[" * 10_000 + b"]" * 10_000
    headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
    answer = client.post("/v1/webhooks/meta", content=body, headers=headers)
    assert answer.status_code == 400
    assert "nested too deep" in answer.json()["detail"]


def test_parse_messenger_items() -> None:
    items: list[dict[str, Any]] = [
        {"message": {"mid": "m_in", "text": "hello"}},
        {"message": {"mid": "m_echo", "text": "bot said", "is_echo": True}},
        {"postback": {"title": "Get started", "payload": "START", "mid": "m_pb"}},
        {"delivery": {"mids": ["m_a", "m_b"], "watermark": 1764633600000}},
        {"read": {"watermark": 1764633601000}},
        {"reaction": {"mid": "m_a", "action": "react", "emoji": "x"}},
    ]
    parsed = parse_events(messenger_payload("psid-9", 1764633600000, *items), {PAGE_ID: "b"}.get)
    kinds = [(e.event.type, e.event.event_id, e.event.text) for e in parsed.events]
    assert kinds == [
        (EventType.USER_MESSAGE, "m_in", "hello"),
        (EventType.USER_MESSAGE, "m_pb", "Get started"),
        (EventType.DELIVERED, "m_a:delivered", None),
        (EventType.DELIVERED, "m_b:delivered", None),
        (EventType.READ, "read:psid-9:1764633601000", None),
    ]
    assert {e.event.channel for e in parsed.events} == {Channel.MESSENGER}
    assert {e.event.user_id for e in parsed.events} == {"psid-9"}
    assert len(parsed.warnings) == 1 and "reaction" in parsed.warnings[0]


def test_parse_instagram_messages_field_and_unknown_accounts() -> None:
    value = {
        "sender": {"id": "igsid-1"},
        "recipient": {"id": IG_ID},
        "timestamp": "1764633600",  # the messages field's test payloads send seconds
        "message": {"mid": "aWdf", "text": "love this"},
    }
    payload = {
        "object": "instagram",
        "entry": [
            {"id": IG_ID, "time": 1764633600, "changes": [{"field": "messages", "value": value}]},
            {"id": "404", "messaging": [value]},
        ],
    }
    parsed = parse_events(payload, {IG_ID: "instabot"}.get)
    [event] = [e.event for e in parsed.events]
    assert (event.channel, event.bot_id, event.text) == (Channel.INSTAGRAM, "instabot", "love this")
    assert event.ts.timestamp() == 1764633600
    assert len(parsed.warnings) == 1 and "unknown page or account 404" in parsed.warnings[0]
