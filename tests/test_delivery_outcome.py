"""Delivery outcomes: only a definite non-delivery gives the cap slot back.

Connection refused, a DNS failure or a 4xx refusal mean the message did not go out: the
slot is released. A timeout after the request went out, or a 5xx, may hide a delivery:
the message counts as sent, and the Delivery and the audit record say it is uncertain.
Against the local fake upstream (tests/upstream.py), on both stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.audit.backend import RecordFilter
from guardrail.platforms.adapter import AdapterConfig
from guardrail.platforms.registry import build_adapter
from tests.conftest import AUTH, Clock, free_port
from tests.test_api import PROACTIVE_TEXT, check, engage
from tests.upstream import Reply, Upstream, serve_upstream

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
Json = dict[str, Any]
BOT = "herald"


@pytest.fixture(scope="module")
def _server() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(_server: Upstream) -> Upstream:
    _server.reset()
    return _server


def webhook(url: str, **overrides: Any) -> AdapterConfig:
    fields = {"type": "webhook", "url": url, "backoff_s": 0, "retries": 0, "timeout_s": 0.3}
    return AdapterConfig.model_validate({**fields, **overrides})


# --------------------------------------------------------------------------- the adapter


async def test_a_refused_connection_and_a_dns_failure_are_definite() -> None:
    for url in (f"http://127.0.0.1:{free_port()}/hook", "http://no-such-host.invalid/hook"):
        async with build_adapter(webhook(url, retries=1, timeout_s=3)) as adapter:
            delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
        assert (delivery.status, delivery.uncertain) == ("failed", False), delivery


@pytest.mark.parametrize("status", [400, 403, 404, 429])
async def test_a_4xx_refusal_is_definite(upstream: Upstream, status: int) -> None:
    upstream.default = Reply(status, {"error": "no"})
    async with build_adapter(webhook(f"{upstream.base}/hook")) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert (delivery.status, delivery.uncertain) == ("failed", False)


@pytest.mark.parametrize(
    "reply", [Reply(500, {"error": "oops"}), Reply(502), Reply(200, delay=2.0)], ids=str
)
async def test_a_timeout_or_5xx_is_uncertain(upstream: Upstream, reply: Reply) -> None:
    upstream.default = reply
    async with build_adapter(webhook(f"{upstream.base}/hook")) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert (delivery.status, delivery.uncertain) == ("failed", True), delivery
    assert delivery.error is not None and "may have delivered it" in delivery.error


async def test_once_uncertain_always_uncertain(upstream: Upstream) -> None:
    """A 5xx then a 4xx on the retry: the first attempt may have gone out."""
    upstream.script(Reply(503, {"error": "busy"}), Reply(400, {"error": "duplicate"}))
    async with build_adapter(webhook(f"{upstream.base}/hook", retries=1)) as adapter:
        delivery = await adapter.deliver(bot_id="b", user_id="u", text="t")
    assert (delivery.upstream_status, delivery.uncertain) == (400, True)


# --------------------------------------------------------------------------- the gateway


def send(client: TestClient, user: str) -> Json:
    body = {"bot_id": BOT, "user_id": user, "channel": "messenger", "text": PROACTIVE_TEXT}
    response = client.post("/v1/outreach/send", json=body, headers=AUTH)
    assert response.status_code == 502, response.text
    data: Json = response.json()
    return data


def delivery_record(client: TestClient, decision_id: str) -> Json:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert client.portal is not None
    records, _ = client.portal.call(gateway.audit.query, RecordFilter(types=("delivery",)))
    bodies: list[Json] = [r.body for r in records if r.body["decision_id"] == decision_id]
    (body,) = bodies
    return body


@pytest.mark.parametrize("failure", ["timeout", "500"])
def test_an_uncertain_delivery_keeps_its_slot(
    make_client: MakeClient, upstream: Upstream, clock: Clock, uid: Uid, failure: str
) -> None:
    config = webhook(f"{upstream.base}/hook").model_dump(mode="python")
    config["token"] = None
    client = make_client(bots={BOT: {"upstream": config}})
    user = uid("gil")
    engage(client, BOT, user, clock())
    upstream.default = Reply(200, delay=2.0) if failure == "timeout" else Reply(500)
    failed = send(client, user)
    assert failed["delivery"]["status"] == "failed" and failed["delivery"]["uncertain"] is True
    record = delivery_record(client, failed["decision_id"])
    assert (record["uncertain"], record["counted"]) == (True, True)
    clock.advance(minutes=10)
    again = check(client, BOT, user, kind="proactive")
    assert again["verdict"] != "allow", again  # the slot was kept: it may have gone out


def test_a_definite_failure_gives_the_slot_back(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    config = webhook(f"http://127.0.0.1:{free_port()}/hook").model_dump(mode="python")
    config["token"] = None
    client = make_client(bots={BOT: {"upstream": config}})
    user = uid("hal")
    engage(client, BOT, user, clock())
    failed = send(client, user)
    assert failed["delivery"]["uncertain"] is False
    record = delivery_record(client, failed["decision_id"])
    assert (record["uncertain"], record["counted"]) == (False, False)
    clock.advance(minutes=10)
    assert check(client, BOT, user, kind="proactive")["verdict"] == "allow"
