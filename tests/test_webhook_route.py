"""The WhatsApp Cloud API webhook route over HTTP: handshake, signatures, recording.

The user is the fixed number 33612345678, as Meta would send it; each test runs under a
tenant of its own so that tests sharing the real Redis server never see each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AUTH, Clock
from tests.test_api import check, enforcing

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
Json = dict[str, Any]

APP_SECRET = "6d0f2b9e4c7a1358e2b4d6f8a0c1e3f5"
VERIFY_TOKEN = "meta-verify-Hq7x2Lp9"
PHONE_NUMBER_ID = "123"
USER = "33612345678"
BOT = "maestro"
TENANT_KEY = "tenant-wa-key-N4b8Rt2Ys6"
TENANT_AUTH = {"Authorization": f"Bearer {TENANT_KEY}"}
CHAT = [
    "Salut ! Tu peux me conseiller une série pour ce soir ?",
    "Ah oui, j'ai adoré la première saison",
    "Et un film court pour dimanche ?",
    "Parfait, merci beaucoup",
    "Je te dirai ce que j'en ai pensé",
]


@pytest.fixture
def tenant(uid: Uid) -> str:
    return uid("wa-tenant")


@pytest.fixture
def client(make_client: MakeClient, tenant: str) -> TestClient:
    return make_client(
        whatsapp={
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "phone_numbers": {PHONE_NUMBER_ID: {"tenant": tenant, "bot": BOT}},
        },
        keys=[{"name": "wa-tenant", "tenant": tenant, "key": TENANT_KEY}],
    )


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def text_message(text: str, ts: datetime, wamid: str, sender: str = USER) -> Json:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(ts.timestamp())),
        "text": {"body": text},
        "type": "text",
    }


def payload(*messages: Json, phone_number_id: str = PHONE_NUMBER_ID) -> Json:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "33180005000", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Camille"}, "wa_id": USER}],
        "messages": list(messages),
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "4242", "changes": [{"value": value, "field": "messages"}]}],
    }


def deliver(client: TestClient, body: Json, *, signature: str | None = None) -> Any:
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    headers["X-Hub-Signature-256"] = sign(raw) if signature is None else signature
    return client.post("/v1/webhooks/whatsapp", content=raw, headers=headers)


def wamid(n: int) -> str:
    return f"wamid.HBgLMzM2MTIzNDU2NzgVAgASGBQzQUI{n:04d}"


def proactive(client: TestClient) -> Json:
    return check(client, BOT, USER, headers=TENANT_AUTH)


# --------------------------------------------------------------------------- handshake


def test_handshake(client: TestClient) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    ok = client.get("/v1/webhooks/whatsapp", params=params)
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")

    for bad in (
        {**params, "hub.verify_token": "guessed-token"},
        {**params, "hub.mode": "unsubscribe"},
        {"hub.challenge": "1158201444"},
    ):
        refused = client.get("/v1/webhooks/whatsapp", params=bad)
        assert refused.status_code == 403
        assert "1158201444" not in refused.text
        assert VERIFY_TOKEN not in refused.text


def test_handshake_without_verify_token_always_fails(make_client: MakeClient) -> None:
    client = make_client(whatsapp={"app_secret": APP_SECRET})
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "77"}
    assert client.get("/v1/webhooks/whatsapp", params=params).status_code == 403


def test_not_configured_is_404(make_client: MakeClient, clock: Clock) -> None:
    client = make_client()
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
    assert client.get("/v1/webhooks/whatsapp", params=params).status_code == 404
    body = payload(text_message("hello", clock(), wamid(1)))
    response = deliver(client, body)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --------------------------------------------------------------------------- messages


def test_signed_message_is_recorded(client: TestClient, clock: Clock) -> None:
    assert enforcing(proactive(client)) == ["user_first"]

    first = text_message(CHAT[0], clock() - timedelta(hours=6), wamid(1))
    response = deliver(client, payload(first))
    assert response.status_code == 200, response.text
    assert response.json() == {"recorded": 1, "warnings": []}

    # The user wrote first now; with one message, engagement is what still holds.
    assert enforcing(proactive(client)) == ["engagement"]

    # Four more messages in one delivery (Meta batches), and the bot may write.
    later = [
        text_message(text, clock() - timedelta(hours=5 - i), wamid(2 + i))
        for i, text in enumerate(CHAT[1:])
    ]
    assert deliver(client, payload(*later)).json()["recorded"] == 4
    decision = proactive(client)
    assert decision["verdict"] == "allow", decision

    # The events are the tenant's: the default tenant never heard of this user.
    assert enforcing(check(client, BOT, USER, headers=AUTH)) == ["user_first"]


def test_stop_via_webhook_opts_out(client: TestClient, clock: Clock) -> None:
    chat = [  # the last one 6 h ago: inside the 24-hour window
        text_message(text, clock() - timedelta(hours=30 - 6 * i), wamid(10 + i))
        for i, text in enumerate(CHAT)
    ]
    assert deliver(client, payload(*chat)).status_code == 200
    assert proactive(client)["verdict"] == "allow"

    clock.advance(days=1, minutes=5)
    stop = text_message("STOP", clock() - timedelta(hours=2), wamid(20))
    assert deliver(client, payload(stop)).status_code == 200
    assert enforcing(proactive(client)) == ["opt_out"]

    # START lifts it; free wording in French opts out again.
    start = text_message("START", clock() - timedelta(hours=1, minutes=30), wamid(21))
    assert deliver(client, payload(start)).status_code == 200
    assert proactive(client)["verdict"] == "allow"
    clock.advance(days=1, minutes=5)
    phrase = text_message("Arrête de m'écrire stp", clock() - timedelta(hours=2), wamid(22))
    assert deliver(client, payload(phrase)).status_code == 200
    assert enforcing(proactive(client)) == ["opt_out"]


BAD_SIGNATURES: dict[str, Callable[[bytes], str | None]] = {
    "missing": lambda raw: None,
    "empty": lambda raw: "",
    "zeros": lambda raw: "sha256=" + "0" * 64,
    "other-body": lambda raw: sign(raw + b" "),
    "other-secret": lambda raw: sign(raw, "another-app-secret"),
    "sha1": lambda raw: "sha1=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha1).hexdigest(),
}


@pytest.mark.parametrize("make_signature", BAD_SIGNATURES.values(), ids=BAD_SIGNATURES.keys())
def test_bad_signature_is_401_and_records_nothing(
    client: TestClient, clock: Clock, make_signature: Callable[[bytes], str | None]
) -> None:
    stop = text_message("STOP", clock() - timedelta(hours=1), wamid(30))
    body = payload(stop)
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    signature = make_signature(raw)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = client.post("/v1/webhooks/whatsapp", content=raw, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert APP_SECRET not in response.text
    # Nothing was recorded: the user has still never written.
    assert enforcing(proactive(client)) == ["user_first"]
    # A signature over re-serialised JSON is not a signature over the bytes sent.
    pretty = json.dumps(body, indent=2).encode()
    resigned = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
    assert client.post("/v1/webhooks/whatsapp", content=pretty, headers=resigned).status_code == 401
    assert enforcing(proactive(client)) == ["user_first"]


def test_redelivery_is_not_double_counted(client: TestClient, clock: Clock) -> None:
    messages = [
        text_message(text, clock() - timedelta(hours=30 - i), wamid(40 + i))
        for i, text in enumerate(CHAT[:4])
    ]
    assert deliver(client, payload(*messages)).status_code == 200
    # Meta did not get our 200 in time and sends the last two again.
    again = deliver(client, payload(*messages[2:]))
    assert again.status_code == 200
    assert again.json()["recorded"] == 0

    decision = proactive(client)
    assert enforcing(decision) == ["engagement"]
    assert decision["reasons"][0]["detail"].startswith("4 user message(s)")

    # A redelivered STOP after a START does not opt the user out again.
    stop = text_message("STOP", clock() - timedelta(hours=3), wamid(50))
    start = text_message("START", clock() - timedelta(hours=2), wamid(51))
    deliver(client, payload(stop))
    deliver(client, payload(start))
    deliver(client, payload(stop))
    assert enforcing(proactive(client)) == []


def test_malformed_and_foreign_payloads(client: TestClient, clock: Clock) -> None:
    for raw in (b"not json at all", b"[1, 2]", b'{"object": "page", "entry": []}'):
        response = client.post(
            "/v1/webhooks/whatsapp",
            content=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)},
        )
        assert response.status_code == 400, raw
        assert "malformed webhook" in response.json()["detail"]

    # A number no bot owns is acknowledged (Meta would retry forever) and skipped.
    foreign = payload(text_message("hello", clock(), wamid(60)), phone_number_id="999")
    response = deliver(client, foreign)
    assert response.status_code == 200
    body = response.json()
    assert body["recorded"] == 0
    assert "unknown phone_number_id 999" in body["warnings"][0]
    assert enforcing(proactive(client)) == ["user_first"]


def test_oversized_webhook_is_413(make_client: MakeClient, tenant: str, clock: Clock) -> None:
    client = make_client(
        max_body_bytes=4096,
        whatsapp={
            "app_secret": APP_SECRET,
            "phone_numbers": {PHONE_NUMBER_ID: {"tenant": tenant, "bot": BOT}},
        },
    )
    big = payload(text_message("la " * 2000, clock(), wamid(70)))
    raw = json.dumps(big).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
    assert client.post("/v1/webhooks/whatsapp", content=raw, headers=headers).status_code == 413

    def chunks() -> Any:
        for start in range(0, len(raw), 1000):
            yield raw[start : start + 1000]

    streamed = client.post("/v1/webhooks/whatsapp", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert streamed.json()["error"] == "too_large"
