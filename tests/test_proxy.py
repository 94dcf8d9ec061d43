"""Decide-and-deliver over HTTP: /v1/outreach/send and the platform-shaped proxy routes.

A real HTTP server on 127.0.0.1 plays the upstream platform (the scriptable one of
test_adapters); the gateway runs on both stores through TestClient.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.config import Settings
from tests.conftest import API_KEY, AUTH, Clock
from tests.test_api import PROACTIVE_TEXT, check, enforcing, engage, say
from tests.upstream import Reply, Upstream, serve_upstream

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
Json = dict[str, Any]

BOT = "maestro"
HOOK_TOKEN = "hook-SECRET-c81d2e"
WA_TOKEN = "EAAG-wa-SECRET-93be1f"
TG_TOKEN = "7012345678:AAE-tg-SECRET-kq8Zr"
PHONE_ID = "1098765"
GRAPH_OK = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "33655501234", "wa_id": "33655501234"}],
    "messages": [{"id": "wamid.HBgLMzM2NTU1MDEyMzQVAgARGBJGQTc0"}],
}
TG_OK = {"ok": True, "result": {"message_id": 4711, "chat": {"id": 1}, "text": "..."}}


@pytest.fixture(scope="module")
def _upstream_server() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(_upstream_server: Upstream) -> Upstream:
    _upstream_server.reset()
    return _upstream_server


def upstream_config(kind: str, up: Upstream) -> Json:
    common = {"retries": 1, "backoff_s": 0, "timeout_s": 2}
    if kind == "webhook":
        return {"type": "webhook", "url": f"{up.base}/deliver", "token": HOOK_TOKEN, **common}
    if kind == "whatsapp":
        url = f"{up.base}/v21.0/{PHONE_ID}/messages"
        return {"type": "whatsapp", "url": url, "token": WA_TOKEN, **common}
    return {"type": "telegram", "url": f"{up.base}/bot{TG_TOKEN}", **common}


def client_with(make_client: MakeClient, kind: str, up: Upstream, **settings: Any) -> TestClient:
    return make_client(bots={BOT: {"upstream": upstream_config(kind, up)}}, **settings)


def phone() -> str:
    """A unique French mobile number, so tests sharing the Redis server never collide."""
    return "336" + str(uuid.uuid4().int % 10**8).zfill(8)


def chat_id() -> int:
    return 10**9 + uuid.uuid4().int % 10**9


def send(client: TestClient, user: str, *, status: int = 200, **extra: Any) -> Json:
    body = {"bot_id": BOT, "user_id": user, "channel": "messenger", "text": PROACTIVE_TEXT, **extra}
    response = client.post("/v1/outreach/send", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    data: Json = response.json()
    return data


# --------------------------------------------------------------------------- /send


def test_send_allowed_is_delivered(
    make_client: MakeClient, upstream: Upstream, clock: Clock, uid: Uid
) -> None:
    client = client_with(make_client, "webhook", upstream)
    user = uid("ana")
    engage(client, BOT, user, clock())
    upstream.default = Reply(202, {"accepted": True, "id": "out-1"})

    decision = send(client, user)
    assert decision["verdict"] == "allow"
    assert decision["delivery"] == {
        "status": "delivered",
        "adapter": "webhook",
        "uncertain": False,
        "upstream_status": 202,
        "error": None,
        "response": {"accepted": True, "id": "out-1"},
    }
    [req] = upstream.requests
    assert (req.method, req.path) == ("POST", "/deliver")
    assert req.json == {"bot_id": BOT, "user_id": user, "text": PROACTIVE_TEXT}
    assert req.headers["authorization"] == f"Bearer {HOOK_TOKEN}"

    # Delivered messages count: the next one is an unanswered follow-up, never sent.
    clock.advance(hours=1)
    again = send(client, user)
    assert enforcing(again) == ["unanswered"]
    assert again["delivery"] is None
    assert len(upstream.requests) == 1

    # The same idempotency key twice: decided once, delivered once.
    other = uid("bo")
    engage(client, BOT, other, clock())
    key = uid("nudge")
    first = send(client, other, idempotency_key=key)
    assert first["delivery"]["status"] == "delivered"
    replay = send(client, other, idempotency_key=key)
    assert replay["idempotent_replay"] is True
    assert replay["decision_id"] == first["decision_id"]
    assert replay["delivery"]["status"] == "skipped"
    assert len(upstream.requests) == 2


def test_send_blocked_sends_nothing(make_client: MakeClient, upstream: Upstream, uid: Uid) -> None:
    client = client_with(make_client, "webhook", upstream)
    decision = send(client, uid("stranger"))
    assert decision["verdict"] == "block"
    assert enforcing(decision) == ["user_first"]
    assert decision["delivery"] is None and decision["text"] is None
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("reply", "attempts"),
    [(Reply(400, {"error": "unknown recipient"}), 1)],  # not retried
    ids=["400"],
)
def test_send_upstream_failure_is_502_and_released(
    make_client: MakeClient,
    upstream: Upstream,
    clock: Clock,
    uid: Uid,
    reply: Reply,
    attempts: int,
) -> None:
    client = client_with(make_client, "webhook", upstream)
    user = uid("cleo")
    engage(client, BOT, user, clock())
    upstream.default = reply

    failed = send(client, user, status=502)
    assert failed["verdict"] == "allow"
    delivery = failed["delivery"]
    assert delivery["status"] == "failed"
    assert delivery["upstream_status"] == reply.status
    assert str(reply.status) in delivery["error"]
    assert HOOK_TOKEN not in str(failed)
    assert len(upstream.requests) == attempts
    # The audit log says how the decision ended, without the upstream's error text.
    from guardrail.audit.backend import RecordFilter

    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert client.portal is not None
    records, _ = client.portal.call(gateway.audit.query, RecordFilter(types=("delivery",)))
    (record,) = [r for r in records if r.body["decision_id"] == failed["decision_id"]]
    assert record.body["status"] == "failed" and record.body["upstream_status"] == reply.status
    assert "error" not in record.body and user not in str(record.body)

    # The failed message was released: neither unanswered nor the 1/day cap holds the next.
    clock.advance(minutes=10)
    retry = check(client, BOT, user)
    assert retry["verdict"] == "allow", retry
    upstream.default = Reply(200, {"ok": True})
    clock.advance(minutes=10)
    delivered = send(client, user)
    assert enforcing(delivered) == ["unanswered"]  # the check above counted, as checks do

    # With a fresh user the whole way: fail, then succeed.
    other = uid("dina")
    engage(client, BOT, other, clock())
    upstream.default = reply
    send(client, other, status=502)
    upstream.default = Reply(200, {"ok": True})
    ok = send(client, other)
    assert ok["delivery"]["status"] == "delivered"


def test_send_without_upstream_is_409(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    user = uid("eli")
    engage(client, BOT, user, clock())
    refused = send(client, user, status=409)
    assert refused["error"] == "conflict"
    assert "/v1/outreach/check" in refused["detail"]
    # Nothing was decided, so nothing counted.
    assert check(client, BOT, user)["verdict"] == "allow"

    message = {"to": phone(), "type": "text", "text": {"body": PROACTIVE_TEXT}}
    proxied = client.post(f"/v1/proxy/whatsapp/{BOT}/messages", json=message, headers=AUTH)
    assert proxied.status_code == 409
    telegram = {"chat_id": chat_id(), "text": PROACTIVE_TEXT}
    proxied = client.post(f"/v1/proxy/telegram/{BOT}/sendMessage", json=telegram, headers=AUTH)
    assert proxied.status_code == 409


# --------------------------------------------------------------------------- WhatsApp proxy


def wa_send(client: TestClient, to: str, text: str = PROACTIVE_TEXT, **headers: str) -> Any:
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }
    return client.post(f"/v1/proxy/whatsapp/{BOT}/messages", json=body, headers={**AUTH, **headers})


def test_whatsapp_proxy_allowed(make_client: MakeClient, upstream: Upstream, clock: Clock) -> None:
    client = client_with(make_client, "whatsapp", upstream)
    to = phone()
    engage(client, BOT, to, clock())
    upstream.default = Reply(200, GRAPH_OK)

    response = wa_send(client, to)
    assert response.status_code == 200, response.text
    assert response.json() == GRAPH_OK
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-guardrail-decision-id"])
    assert response.headers["x-guardrail-verdict"] == "allow"
    [req] = upstream.requests
    assert req.path == f"/v21.0/{PHONE_ID}/messages"
    assert req.headers["authorization"] == f"Bearer {WA_TOKEN}"
    assert req.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": PROACTIVE_TEXT},
    }


def test_whatsapp_proxy_blocked(make_client: MakeClient, upstream: Upstream, clock: Clock) -> None:
    client = client_with(make_client, "whatsapp", upstream)
    to = phone()
    response = wa_send(client, to)
    assert response.status_code == 400
    decision_id = response.headers["x-guardrail-decision-id"]
    assert response.headers["x-guardrail-verdict"] == "block"
    error = response.json()["error"]
    assert error["code"] == 403
    assert error["type"] == "GuardrailPolicyError"
    assert error["fbtrace_id"] == decision_id
    assert error["error_data"]["rules"] == ["user_first"]
    assert error["error_data"]["verdict"] == "block"
    assert upstream.requests == []

    # Engaged but silent for more than 24 h: outside WhatsApp's customer-service window.
    late = phone()
    engage(client, BOT, late, clock() - timedelta(days=2))
    response = wa_send(client, late)
    assert response.status_code == 400
    assert response.json()["error"]["error_data"]["rules"] == ["channel_window"]
    assert upstream.requests == []


def test_whatsapp_proxy_headers_and_upstream_errors(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    client = client_with(make_client, "whatsapp", upstream)
    to = phone()
    engage(client, BOT, to, clock())

    # An unknown time zone in the optional header is a 422 naming it; nothing is decided.
    bad = wa_send(client, to, **{"X-Guardrail-Timezone": "Mars/Olympus_Mons"})
    assert bad.status_code == 422
    assert "user.timezone" in bad.json()["detail"]

    # Meta refuses the message: the bot gets Meta's own error, and the send is released.
    graph_error = {
        "error": {
            "message": "(#131030) Recipient phone number not in allowed list",
            "type": "OAuthException",
            "code": 131030,
            "fbtrace_id": "AbCdEf123",
        }
    }
    upstream.default = Reply(400, graph_error)
    refused = wa_send(client, to)
    assert refused.status_code == 400
    assert refused.json() == graph_error
    assert refused.headers["x-guardrail-verdict"] == "allow"

    upstream.default = Reply(200, GRAPH_OK)
    ok = wa_send(client, to, **{"Idempotency-Key": "wa-msg-0001-" + to})
    assert ok.status_code == 200, ok.text
    replay = wa_send(client, to, **{"Idempotency-Key": "wa-msg-0001-" + to})
    assert replay.status_code == 200
    assert replay.headers["x-guardrail-decision-id"] == ok.headers["x-guardrail-decision-id"]
    assert replay.json()["idempotent_replay"] is True
    assert len(upstream.requests) == 2  # the refused one and the delivered one

    # A bot with a WhatsApp upstream has no Telegram one.
    tg = client.post(
        f"/v1/proxy/telegram/{BOT}/sendMessage", json={"chat_id": 1, "text": "hi"}, headers=AUTH
    )
    assert tg.status_code == 409


# --------------------------------------------------------------------------- Telegram proxy


def tg_send(client: TestClient, chat: int, **headers: str) -> Any:
    body = {"chat_id": chat, "text": PROACTIVE_TEXT, "disable_notification": True}
    return client.post(
        f"/v1/proxy/telegram/{BOT}/sendMessage", json=body, headers={**AUTH, **headers}
    )


def test_telegram_proxy_allowed(make_client: MakeClient, upstream: Upstream, clock: Clock) -> None:
    client = client_with(make_client, "telegram", upstream)
    chat = chat_id()
    engage(client, BOT, str(chat), clock())
    upstream.default = Reply(200, TG_OK)

    response = tg_send(client, chat)
    assert response.status_code == 200, response.text
    assert response.json() == TG_OK
    assert response.headers["x-guardrail-verdict"] == "allow"
    assert response.headers["x-guardrail-decision-id"]
    [req] = upstream.requests
    assert req.path == f"/bot{TG_TOKEN}/sendMessage"
    assert req.json == {"chat_id": str(chat), "text": PROACTIVE_TEXT}


def test_telegram_proxy_blocked(make_client: MakeClient, upstream: Upstream) -> None:
    client = client_with(make_client, "telegram", upstream)
    response = tg_send(client, chat_id())
    assert response.status_code == 403
    body = response.json()
    assert body["ok"] is False and body["error_code"] == 403
    assert body["description"].startswith("Forbidden: ")
    assert body["guardrail"]["rules"] == ["user_first"]
    assert body["guardrail"]["decision_id"] == response.headers["x-guardrail-decision-id"]
    assert upstream.requests == []


def test_telegram_proxy_quiet_hours_defer(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    client = client_with(make_client, "telegram", upstream)
    chat = chat_id()
    clock.set("2026-11-20T22:30:00+00:00")  # 23:30 in Paris
    engage(client, BOT, str(chat), clock())

    response = tg_send(client, chat, **{"X-Guardrail-Timezone": "Europe/Paris"})
    assert response.status_code == 429
    assert response.headers["x-guardrail-verdict"] == "defer"
    body = response.json()
    assert body["ok"] is False and body["error_code"] == 429
    assert body["parameters"] == {"retry_after": 30600}  # until 08:00 Paris = 07:00 UTC
    assert body["guardrail"]["rules"] == ["quiet_hours"]
    assert body["guardrail"]["retry_after"] == "2026-11-21T08:00:00+01:00"
    assert upstream.requests == []

    # Deferred messages do not count: at 08:00 local the same message goes out.
    clock.set("2026-11-21T07:00:00+00:00")
    upstream.default = Reply(200, TG_OK)
    later = tg_send(client, chat, **{"X-Guardrail-Timezone": "Europe/Paris"})
    assert later.status_code == 200, later.text
    assert len(upstream.requests) == 1


def test_proxy_needs_auth_and_the_right_bot(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    key = "acme-proxy-Zx81Lm0Qp"
    client = make_client(
        bots={
            BOT: {"upstream": upstream_config("telegram", upstream)},
            "concierge": {"upstream": upstream_config("telegram", upstream)},
        },
        keys=[{"name": "acme", "tenant": "default", "bots": ["concierge"], "key": key}],
    )
    chat = chat_id()
    body = {"chat_id": chat, "text": PROACTIVE_TEXT}
    anonymous = client.post(f"/v1/proxy/telegram/{BOT}/sendMessage", json=body)
    assert anonymous.status_code == 401
    other = client.post(
        f"/v1/proxy/telegram/{BOT}/sendMessage",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert other.status_code == 403
    say(client, BOT, str(chat), "hello!", clock() - timedelta(minutes=5))
    assert upstream.requests == []


def test_failed_send_can_be_retried_under_the_same_key(
    make_client: MakeClient, upstream: Upstream, clock: Clock, uid: Uid
) -> None:
    client = client_with(make_client, "webhook", upstream)
    user, key = uid("fern"), uid("nudge")
    engage(client, BOT, user, clock())
    upstream.default = Reply(403, {"error": "recipient blocked the number"})
    failed = send(client, user, idempotency_key=key, status=502)
    assert failed["delivery"]["status"] == "failed"
    assert failed["delivery"]["uncertain"] is False  # a refusal: certainly not delivered

    # The key was released with the reservation: the retry is decided and delivered anew.
    upstream.default = Reply(200, {"ok": True})
    retried = send(client, user, idempotency_key=key)
    assert retried["idempotent_replay"] is False
    assert retried["decision_id"] != failed["decision_id"]
    assert retried["delivery"]["status"] == "delivered"
    assert upstream.requests[-1].json["text"] == PROACTIVE_TEXT


def test_send_while_store_is_down(
    upstream: Upstream, clock: Clock, uid: Uid, tmp_path: Path
) -> None:
    fail_open = tmp_path / "fail-open.yaml"
    fail_open.write_text("name: fail-open\nstore_failure: {proactive: allow}\n")
    settings = Settings(
        api_key=API_KEY,
        redis_url="redis://127.0.0.1:1/0",
        audit_db=":memory:",
        bots={BOT: {"upstream": upstream_config("webhook", upstream)}},
    )
    user = uid("gus")
    with TestClient(create_app(settings, clock=clock)) as client:
        # Proactive: fails closed, nothing leaves; a claimed reply cannot be confirmed.
        blocked = send(client, user)
        assert enforcing(blocked) == ["store.unavailable"]
        assert enforcing(send(client, user, kind="reply")) == ["store.unavailable"]
        assert upstream.requests == []

    settings = settings.model_copy(update={"policy": fail_open})
    with TestClient(create_app(settings, clock=clock)) as client:
        # A policy that fails open delivers...
        upstream.default = Reply(200, {"ok": True})
        reply = send(client, user, kind="reply")
        assert reply["verdict"] == "allow"
        assert reply["delivery"]["status"] == "delivered"
        assert len(upstream.requests) == 1

        # ...and when its delivery fails too, the bot still gets a 502, not a crash.
        upstream.default = Reply(500, {"error": "down as well"})
        failed = send(client, user, kind="reply", status=502)
        assert failed["delivery"]["status"] == "failed"
