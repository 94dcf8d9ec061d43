"""Upstream adapters against a real HTTP server on 127.0.0.1 (no mocked transports).

The server records every request and plays a script of replies (status, body, delay), so
retries, timeouts and platform error shapes are exercised over real sockets.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import tenacity
from pydantic import ValidationError

from guardrail.models import Decision, Kind, Reason, Verdict
from guardrail.platforms.adapter import MAX_RETRY_WAIT_S
from guardrail.platforms.registry import (
    ADAPTERS,
    Adapter,
    AdapterConfig,
    InstagramAdapter,
    MessengerAdapter,
    TelegramAdapter,
    UpstreamConfig,
    WebhookAdapter,
    WhatsAppAdapter,
    build_adapter,
)
from tests.upstream import Reply, Upstream, serve_upstream

TOKEN = "tok-SECRET-4f9a1c"
TG_TOKEN = "123456789:AAHsecretTelegramToken_xyz"
HEADER_SECRET = "hdr-SECRET-77e0"


# --------------------------------------------------------------------------- upstream


@pytest.fixture(scope="module")
def _server() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(_server: Upstream) -> Upstream:
    _server.reset()
    return _server


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses between delivery attempts, recorded instead of slept (a fake of time):
    retry schedules are asserted as numbers, never by timing the test."""
    recorded: list[float] = []
    real = tenacity.AsyncRetrying

    async def pause(seconds: float) -> None:
        recorded.append(seconds)

    def recording(*args: Any, **kwargs: Any) -> tenacity.AsyncRetrying:
        return real(*args, **{**kwargs, "sleep": pause})

    monkeypatch.setattr(tenacity, "AsyncRetrying", recording)
    return recorded


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --------------------------------------------------------------------------- helpers


def _config(type_: str, url: str, **overrides: Any) -> AdapterConfig:
    return AdapterConfig.model_validate({"type": type_, "url": url, "backoff_s": 0, **overrides})


def _webhook(up: Upstream, **overrides: Any) -> Adapter:
    return build_adapter(_config("webhook", f"{up.base}/hook", **overrides))


def _whatsapp(up: Upstream, **overrides: Any) -> Adapter:
    overrides.setdefault("token", TOKEN)
    return build_adapter(_config("whatsapp", f"{up.base}/v21.0/1098765/messages", **overrides))


def _telegram(up: Upstream, **overrides: Any) -> Adapter:
    return build_adapter(_config("telegram", f"{up.base}/bot{TG_TOKEN}", **overrides))


DECIDED = datetime(2025, 3, 1, 21, 30, tzinfo=UTC)


def _decision(verdict: Verdict, retry_in: timedelta | None = None) -> Decision:
    return Decision(
        decision_id="dec_01HX",
        verdict=verdict,
        text=None,
        retry_after=DECIDED + retry_in if retry_in else None,
        kind=Kind.PROACTIVE,
        reasons=[
            Reason(rule="quiet_hours", detail="22:30 local", policy="default", effect="defer"),
            Reason(rule="cap", detail="3/day", policy="default", effect="block"),
            Reason(rule="minor", detail="would fire", policy="default", effect="shadow"),
            Reason(rule="quiet_hours", detail="dup", policy="default", effect="defer"),
        ],
        policy="default",
        policy_version="v1",
        decided_at=DECIDED,
    )


# --------------------------------------------------------------------------- request shapes


async def test_webhook_request_shape(upstream: Upstream) -> None:
    upstream.default = Reply(200, {"accepted": True, "id": "m1"})
    async with _webhook(upstream, token=TOKEN, headers={"X-Tenant": "acme"}) as adapter:
        delivery = await adapter.deliver(bot_id="bot-1", user_id="u-9", text="hello")
    assert delivery.status == "delivered"
    assert delivery.adapter == "webhook"
    assert delivery.upstream_status == 200
    assert delivery.response == {"accepted": True, "id": "m1"}
    assert delivery.error is None
    [req] = upstream.requests
    assert (req.method, req.path) == ("POST", "/hook")
    assert req.json == {"bot_id": "bot-1", "user_id": "u-9", "text": "hello"}
    assert req.headers["content-type"] == "application/json"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["x-tenant"] == "acme"
    assert req.headers["user-agent"].startswith("guardrail/")
    assert len(req.headers["idempotency-key"]) == 32


async def test_webhook_without_token_sends_no_authorization(upstream: Upstream) -> None:
    async with _webhook(upstream) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "delivered"
    assert "authorization" not in upstream.requests[0].headers


async def test_whatsapp_request_shape(upstream: Upstream) -> None:
    graph_ok = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "15551234567", "wa_id": "15551234567"}],
        "messages": [{"id": "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI"}],
    }
    upstream.default = Reply(200, graph_ok)
    async with _whatsapp(upstream) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="15551234567", text="Hi there")
    assert delivery.status == "delivered"
    assert delivery.response == graph_ok
    [req] = upstream.requests
    assert req.path == "/v21.0/1098765/messages"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "text",
        "text": {"body": "Hi there"},
    }


@pytest.mark.parametrize("form", ["token_in_url", "token_field"])
async def test_telegram_request_shape(upstream: Upstream, form: str) -> None:
    upstream.default = Reply(200, {"ok": True, "result": {"message_id": 42}})
    if form == "token_in_url":
        adapter = _telegram(upstream)
    else:
        adapter = build_adapter(_config("telegram", upstream.base, token=TG_TOKEN))
    async with adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="987654", text="hey")
    assert delivery.status == "delivered"
    assert delivery.response == {"ok": True, "result": {"message_id": 42}}
    [req] = upstream.requests
    assert req.path == f"/bot{TG_TOKEN}/sendMessage"
    assert req.json == {"chat_id": "987654", "text": "hey"}
    assert "authorization" not in req.headers


# --------------------------------------------------------------------------- retries


async def test_retries_on_5xx_then_succeeds(upstream: Upstream) -> None:
    upstream.script(Reply(500, {"error": "boom"}), Reply(503, b"unavailable"))
    async with _webhook(upstream, retries=2) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "delivered"
    assert len(upstream.requests) == 3
    # The same message on every attempt, so the receiver can deduplicate.
    keys = {r.headers["idempotency-key"] for r in upstream.requests}
    assert len(keys) == 1
    assert all(r.json == upstream.requests[0].json for r in upstream.requests)


@pytest.mark.parametrize("factory", [_webhook, _whatsapp, _telegram])
async def test_retries_on_5xx_are_bounded(upstream: Upstream, factory: Any) -> None:
    upstream.default = Reply(502, {"error": "bad gateway"})
    async with factory(upstream, retries=2) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "failed"
    assert delivery.upstream_status == 502
    assert len(upstream.requests) == 3
    assert delivery.error is not None
    assert "502" in delivery.error
    assert "3 attempts" in delivery.error


async def test_backoff_grows_exponentially(upstream: Upstream, waits: list[float]) -> None:
    upstream.default = Reply(500)
    async with _webhook(upstream, retries=3, backoff_s=0.1) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "failed"
    assert len(upstream.requests) == 4
    assert waits == pytest.approx([0.1, 0.2, 0.4])  # doubling from backoff_s


async def test_backoff_is_capped(upstream: Upstream, waits: list[float]) -> None:
    """However many retries a config asks for, no single pause exceeds the cap (the bot
    is waiting on the HTTP response)."""
    upstream.default = Reply(500)
    async with _webhook(upstream, retries=5, backoff_s=2.0) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "failed"
    assert waits == pytest.approx([2.0, 4.0, MAX_RETRY_WAIT_S, MAX_RETRY_WAIT_S, MAX_RETRY_WAIT_S])


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_no_retry_on_4xx(upstream: Upstream, status: int) -> None:
    upstream.default = Reply(status, {"detail": "nope"})
    async with _webhook(upstream, retries=3) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "failed"
    assert delivery.upstream_status == status
    assert len(upstream.requests) == 1
    assert delivery.error == f"upstream HTTP {status}: nope"
    assert delivery.response == {"detail": "nope"}


async def test_whatsapp_graph_error_is_reported(upstream: Upstream) -> None:
    graph_error = {
        "error": {
            "message": "(#131030) Recipient phone number not in allowed list",
            "type": "OAuthException",
            "code": 131030,
            "error_data": {"messaging_product": "whatsapp", "details": "Add it first"},
            "fbtrace_id": "AbCdEf",
        }
    }
    upstream.default = Reply(400, graph_error)
    async with _whatsapp(upstream, retries=2) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="1555", text="t")
    assert delivery.status == "failed"
    assert len(upstream.requests) == 1
    assert delivery.error is not None
    assert "131030" in delivery.error
    assert "not in allowed list" in delivery.error
    assert "Add it first" in delivery.error
    assert delivery.response == graph_error


async def test_429_is_retried_honouring_short_retry_after(
    upstream: Upstream, waits: list[float]
) -> None:
    upstream.script(Reply(429, {"error": "slow down"}, headers={"Retry-After": "3"}))
    async with _webhook(upstream, retries=1, backoff_s=0.1) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "delivered"
    assert len(upstream.requests) == 2
    assert waits == [3.0]  # the upstream's pause, longer than the backoff's 0.1


async def test_429_with_long_retry_after_is_not_waited_for(
    upstream: Upstream, waits: list[float]
) -> None:
    upstream.default = Reply(429, {"error": "slow down"}, headers={"Retry-After": "3600"})
    async with _webhook(upstream, retries=3) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert waits == []  # no pause at all: the bot gets its answer now
    assert delivery.status == "failed"
    assert delivery.upstream_status == 429
    assert len(upstream.requests) == 1
    assert delivery.error is not None
    assert "3600" in delivery.error


async def test_timeout_gives_failed_delivery(upstream: Upstream, waits: list[float]) -> None:
    """An upstream that never answers in time: each attempt ends with the client's own
    timeout (the error says so), and the attempts are bounded."""
    upstream.default = Reply(200, {"ok": True}, delay=3.0)
    async with _webhook(upstream, timeout_s=0.2, retries=1, backoff_s=0.1) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "failed"
    assert delivery.upstream_status is None
    assert delivery.error is not None
    assert delivery.error.startswith("timeout (ReadTimeout)")
    assert "2 attempts" in delivery.error
    assert len(upstream.requests) == 2  # timeouts are retried, and bounded
    assert waits == [0.1]


async def test_connect_error_gives_failed_delivery() -> None:
    config = _config("telegram", f"http://127.0.0.1:{_closed_port()}/bot{TG_TOKEN}", retries=1)
    async with build_adapter(config) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "failed"
    assert delivery.upstream_status is None
    assert delivery.error is not None
    assert delivery.error.startswith("connect error (ConnectError)")
    assert TG_TOKEN not in delivery.error


async def test_non_json_success_still_delivered(upstream: Upstream) -> None:
    upstream.default = Reply(202, b"accepted")
    async with _webhook(upstream) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "delivered"
    assert delivery.upstream_status == 202
    assert delivery.response is None


# --------------------------------------------------------------------------- telegram specifics


async def test_telegram_ok_false_on_200_is_failure(upstream: Upstream) -> None:
    upstream.default = Reply(200, {"ok": False, "error_code": 400, "description": "chat gone"})
    async with _telegram(upstream, retries=2) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="1", text="t")
    assert delivery.status == "failed"
    assert delivery.upstream_status == 200
    assert delivery.error == "upstream rejected the message: chat gone"
    assert len(upstream.requests) == 1


async def test_telegram_non_json_200_is_failure(upstream: Upstream) -> None:
    upstream.default = Reply(200, b"<html>proxy</html>")
    async with _telegram(upstream) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="1", text="t")
    assert delivery.status == "failed"


async def test_telegram_403_user_blocked_bot(upstream: Upstream) -> None:
    body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    upstream.default = Reply(403, body)
    async with _telegram(upstream, retries=2) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="1", text="t")
    assert delivery.status == "failed"
    assert delivery.error == "upstream HTTP 403: Forbidden: bot was blocked by the user"
    assert len(upstream.requests) == 1


async def test_telegram_429_uses_parameters_retry_after(upstream: Upstream) -> None:
    slow = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 0"}
    slow["parameters"] = {"retry_after": 0}
    upstream.script(Reply(429, slow))
    async with _telegram(upstream, retries=1) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="1", text="t")
    assert delivery.status == "delivered"
    assert len(upstream.requests) == 2

    upstream.reset()
    slow["parameters"] = {"retry_after": 35}
    upstream.default = Reply(429, slow)
    async with _telegram(upstream, retries=3) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="1", text="t")
    assert delivery.status == "failed"
    assert len(upstream.requests) == 1


# --------------------------------------------------------------------------- refusals


async def test_webhook_refusal(upstream: Upstream) -> None:
    async with _webhook(upstream) as adapter:
        status, body = adapter.refusal(_decision(Verdict.BLOCK))
        assert status == 403
        assert body["error"] == "guardrail_blocked"
        assert body["verdict"] == "block"
        assert body["decision_id"] == "dec_01HX"
        assert body["rules"] == ["quiet_hours", "cap"]  # enforcing rules, deduplicated
        assert body["retry_after"] is None
        assert body["decision"]["decision_id"] == "dec_01HX"
        assert body["decision"]["verdict"] == "block"

        status, body = adapter.refusal(_decision(Verdict.DEFER, timedelta(minutes=90)))
        assert status == 409
        assert body["error"] == "guardrail_deferred"
        assert body["retry_after"] == "2025-03-01T23:00:00+00:00"
        assert body["retry_after_s"] == 5400
    json.dumps(body)  # JSON-ready as returned


async def test_whatsapp_refusal_is_graph_error_shape(upstream: Upstream) -> None:
    async with _whatsapp(upstream) as adapter:
        status, body = adapter.refusal(_decision(Verdict.BLOCK))
        assert status == 400
        assert set(body) == {"error"}
        error = body["error"]
        assert error["type"] == "GuardrailPolicyError"
        assert isinstance(error["code"], int)
        assert error["fbtrace_id"] == "dec_01HX"
        assert error["message"] == f"(#{error['code']}) blocked by guardrail: quiet_hours, cap"
        data = error["error_data"]
        assert "quiet_hours" in data["details"]
        assert data["verdict"] == "block"
        assert data["rules"] == ["quiet_hours", "cap"]
        assert data["decision_id"] == "dec_01HX"

        status, body = adapter.refusal(_decision(Verdict.DEFER, timedelta(seconds=30)))
        assert status == 400
        assert body["error"]["code"] != error["code"]
        assert body["error"]["error_data"]["verdict"] == "defer"
        assert body["error"]["error_data"]["retry_after_s"] == 30
    json.dumps(body)


async def test_telegram_refusal_shapes(upstream: Upstream) -> None:
    async with _telegram(upstream) as adapter:
        status, body = adapter.refusal(_decision(Verdict.BLOCK))
        assert status == 403
        assert body["ok"] is False
        assert body["error_code"] == 403
        assert body["description"].startswith("Forbidden: ")
        assert body["guardrail"]["decision_id"] == "dec_01HX"
        assert body["guardrail"]["rules"] == ["quiet_hours", "cap"]

        status, body = adapter.refusal(_decision(Verdict.DEFER, timedelta(seconds=12.2)))
        assert status == 429
        assert body["error_code"] == 429
        assert body["description"] == "Too Many Requests: retry after 13"
        assert body["parameters"] == {"retry_after": 13}
        assert body["guardrail"]["verdict"] == "defer"
        assert body["guardrail"]["retry_after"] == "2025-03-01T21:30:12.200000+00:00"

        status, body = adapter.refusal(_decision(Verdict.DEFER))
        assert status == 429
        assert "parameters" not in body


@pytest.mark.parametrize("verdict", [Verdict.ALLOW, Verdict.REWRITE])
@pytest.mark.parametrize("factory", [_webhook, _whatsapp, _telegram])
async def test_refusal_rejects_non_refusals(
    upstream: Upstream, factory: Any, verdict: Verdict
) -> None:
    async with factory(upstream) as adapter:
        with pytest.raises(ValueError, match="block or defer"):
            adapter.refusal(_decision(verdict))


# --------------------------------------------------------------------------- secrets


async def test_tokens_not_in_reprs(upstream: Upstream) -> None:
    configs = [
        _config("whatsapp", f"{upstream.base}/v1/1/messages", token=TOKEN),
        _config("telegram", f"{upstream.base}/bot{TG_TOKEN}"),
        _config("webhook", f"{upstream.base}/h?key={TOKEN}", headers={"X-Key": HEADER_SECRET}),
    ]
    for config in configs:
        async with build_adapter(config) as adapter:
            shown = (repr(adapter), str(adapter), repr(config), str(config))
            for text in (*shown, config.model_dump_json()):
                for secret in (TOKEN, TG_TOKEN, HEADER_SECRET):
                    assert secret not in text
    assert "key=***" in repr(configs[2])
    # The Telegram token moved out of the URL into a SecretStr.
    assert configs[1].url == upstream.base
    assert configs[1].token is not None
    assert configs[1].token.get_secret_value() == TG_TOKEN


@pytest.mark.parametrize("factory", [_webhook, _whatsapp, _telegram])
async def test_tokens_not_in_errors_or_responses(upstream: Upstream, factory: Any) -> None:
    # A misbehaving upstream that echoes credentials back.
    echo = f"bad credential {TOKEN} {TG_TOKEN} {HEADER_SECRET}"
    upstream.default = Reply(401, {"error": echo, "description": echo, "nested": [echo]})
    overrides: dict[str, Any] = {"headers": {"X-Key": HEADER_SECRET}}
    if factory is _webhook:
        overrides["token"] = TOKEN
    async with factory(upstream, **overrides) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert delivery.status == "failed"
    dumped = delivery.model_dump_json()
    assert "bad credential" in dumped
    own_token = TG_TOKEN if factory is _telegram else TOKEN
    for secret in (own_token, HEADER_SECRET):  # an adapter can only redact what it holds
        assert secret not in dumped


async def test_telegram_token_not_in_logs(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream.script(Reply(500, {"ok": False, "description": "x"}))
    upstream.default = Reply(200, {"ok": True, "result": {}})
    async with _telegram(upstream, retries=1) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="1", text="t")
    assert delivery.status == "delivered"
    assert "sendMessage" in caplog.text  # httpx did log the request line...
    assert "retrying" in caplog.text
    assert TG_TOKEN not in caplog.text  # ...with the token redacted
    assert "123456789" not in caplog.text


async def test_config_validation_errors_do_not_echo_secrets() -> None:
    with pytest.raises(ValidationError) as info:
        AdapterConfig(type="telegram", url=f"ftp://api.telegram.org/bot{TG_TOKEN}")
    assert TG_TOKEN not in str(info.value)
    with pytest.raises(ValidationError) as info:
        AdapterConfig.model_validate({"type": "whatsapp", "url": "nope", "token": TOKEN})
    assert TOKEN not in str(info.value)


async def test_token_env_read_at_build(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config("whatsapp", f"{upstream.base}/v1/1/messages", token_env="GR_TEST_WA_TOKEN")
    monkeypatch.delenv("GR_TEST_WA_TOKEN", raising=False)
    with pytest.raises(ValueError, match="GR_TEST_WA_TOKEN"):
        build_adapter(config)
    monkeypatch.setenv("GR_TEST_WA_TOKEN", TOKEN)
    async with build_adapter(config) as adapter:
        await adapter.deliver(bot_id="b", user_id="1", text="t")
        assert TOKEN not in repr(adapter)
    assert upstream.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


# --------------------------------------------------------------------------- config and registry


def test_registry_and_build() -> None:
    assert {
        "webhook": WebhookAdapter,
        "whatsapp": WhatsAppAdapter,
        "telegram": TelegramAdapter,
        "messenger": MessengerAdapter,
        "instagram": InstagramAdapter,
    } == ADAPTERS
    for name, cls in ADAPTERS.items():
        assert cls.name == name


async def test_build_adapter_picks_class() -> None:
    cases = {
        "webhook": ("http://127.0.0.1:1/h", WebhookAdapter),
        "whatsapp": ("https://graph.facebook.com/v21.0/123/messages", WhatsAppAdapter),
        "telegram": (f"https://api.telegram.org/bot{TG_TOKEN}", TelegramAdapter),
    }
    for type_, (url, cls) in cases.items():
        adapter = build_adapter(
            AdapterConfig(type=type_, url=url, token=None if type_ != "whatsapp" else TOKEN)
        )
        assert type(adapter) is cls
        assert adapter.config.timeout_s == 5
        assert adapter.config.retries == 2
        await adapter.aclose()
        await adapter.aclose()  # idempotent
        with pytest.raises(RuntimeError, match="closed"):
            await adapter.deliver(bot_id="b", user_id="u", text="t")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "sms", "url": "https://x.test"}, "unknown adapter type"),
        ({"type": "webhook", "url": "https://x.test", "colour": "red"}, "Extra inputs"),
        ({"type": "webhook", "url": "/relative"}, "absolute http"),
        ({"type": "whatsapp", "url": "https://graph.facebook.com/v21.0/1/messages"}, "token"),
        (
            {"type": "whatsapp", "url": "https://graph.facebook.com/v21.0/1", "token": "abcd"},
            "/messages",
        ),
        ({"type": "telegram", "url": "https://api.telegram.org"}, "bot token"),
        (
            {"type": "telegram", "url": f"https://api.telegram.org/bot{TG_TOKEN}", "token": "x"},
            "both",
        ),
        ({"type": "webhook", "url": "https://x.test", "token": "a", "token_env": "B"}, "not both"),
        ({"type": "webhook", "url": "https://x.test", "timeout_s": 0}, "greater than 0"),
        ({"type": "webhook", "url": "https://x.test", "retries": -1}, "greater than or equal"),
        (
            {
                "type": "webhook",
                "url": "https://x.test",
                "token": "abcd",
                "headers": {"Authorization": "x"},
            },
            "conflicts",
        ),
        ({"type": "webhook", "url": "https://x.test", "headers": {"Bad Name": "x"}}, "HTTP token"),
    ],
)
def test_config_validation(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        UpstreamConfig.model_validate(data)


async def test_adapter_rejects_config_of_other_type() -> None:
    config = AdapterConfig(type="webhook", url="https://x.test/h")
    with pytest.raises(ValueError, match="needs type 'telegram'"):
        TelegramAdapter(config)
