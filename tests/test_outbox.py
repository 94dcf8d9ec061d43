"""The durable review outbox: notices survive a restart, every attempt is in the audit
log, two workers never both send one notice; and the crisis level follows the policy
that matches the event's tenant and bot. Both stores, the real Redis server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from guardrail import gateway as gateway_module
from guardrail.config import ReviewWebhookConfig
from guardrail.notify import SIGNATURE_HEADER, ReviewNotifier, delivering, verify
from guardrail.risk import RiskLevel
from guardrail.state.base import Store
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore
from tests.conftest import AUTH, REDIS_URL, Clock, free_port, redis_available
from tests.store_support import unique_prefix
from tests.test_crisis import PhraseAssessor
from tests.upstream import Reply, Upstream, serve_upstream

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "outbox-secret-1"


@pytest.fixture(scope="module")
def _webhook() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture
def webhook(_webhook: Upstream) -> Upstream:
    _webhook.reset()
    return _webhook


@pytest.fixture(params=["sqlite", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Opens a new connection to one store each call (a replica, a restarted gateway)."""
    if request.param == "sqlite":
        path = tmp_path / "state.db"
        return lambda: SQLiteStore(path)
    if not redis_available():
        pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
    prefix = unique_prefix()
    return lambda: RedisStore(REDIS_URL, prefix=prefix)


def test_claim_leases_settle_and_retry(open_store: Callable[[], Store]) -> None:
    async def run() -> None:
        a, b = open_store(), open_store()
        lease = timedelta(seconds=30)
        await a.outbox_put("n1", '{"type":"crisis"}', T0)
        await a.outbox_put("n1", '{"type":"other"}', T0)  # a second put changes nothing
        assert await a.outbox_next_due() == T0
        (item,) = await a.outbox_claim(T0, lease, "tok-a")
        assert (item.item_id, item.payload_json, item.attempts) == ("n1", '{"type":"crisis"}', 1)
        assert await b.outbox_claim(T0, lease, "tok-b") == []  # leased to a
        assert not await b.outbox_settle("n1", "tok-b", None)  # not b's to settle
        assert await a.outbox_settle("n1", "tok-a", T0 + timedelta(seconds=5))
        assert await b.outbox_claim(T0 + timedelta(seconds=4), lease, "tok-b") == []
        (again,) = await b.outbox_claim(T0 + timedelta(seconds=5), lease, "tok-b")
        assert again.attempts == 2
        # b dies holding it: once the lease ends a claims it, and b's late settle is refused.
        (third,) = await a.outbox_claim(T0 + timedelta(seconds=36), lease, "tok-a2")
        assert third.attempts == 3
        assert not await b.outbox_settle("n1", "tok-b", None)
        assert await a.outbox_settle("n1", "tok-a2", None)
        assert await a.outbox_next_due() is None
        assert await a.outbox_claim(T0 + timedelta(days=1), lease, "tok-a") == []
        await a.close()
        await b.close()

    asyncio.run(run())


def test_two_workers_never_both_deliver_one_notice(
    open_store: Callable[[], Store], webhook: Upstream
) -> None:
    config = ReviewWebhookConfig(url=f"{webhook.base}/review", secret=SECRET, backoff_s=0.01)

    async def run() -> None:
        stores = [open_store(), open_store()]
        workers = [ReviewNotifier(config, store) for store in stores]
        for n in range(30):
            await workers[0].enqueue({"type": "crisis", "event_id": f"e{n}"})
        await asyncio.gather(*(w.drain(timeout_s=20) for w in workers))
        for worker, store in zip(workers, stores, strict=True):
            await worker.aclose()
            await store.close()

    asyncio.run(run())
    sent = [json.loads(r.body)["event_id"] for r in webhook.requests]
    assert sorted(sent) == sorted(f"e{n}" for n in range(30))  # each exactly once


POLICY = """\
name: outbox-test
rules:
  engagement: {min_user_messages: 3}
  quiet_hours: {enabled: false}
"""


def _export(client: TestClient, kind: str) -> list[dict[str, Any]]:
    export = client.get("/v1/audit/export", params={"format": "jsonl", "type": kind}, headers=AUTH)
    assert export.status_code == 200, export.text
    return [json.loads(line) for line in export.text.splitlines() if line.strip()]


def _wait_for(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        asyncio.run(asyncio.sleep(0.02))


def test_a_notice_queued_before_a_restart_is_delivered_after_it(
    make_client: Callable[..., TestClient],
    clock: Clock,
    uid: Callable[[str], str],
    tmp_path: Path,
    webhook: Upstream,
    monkeypatch: pytest.MonkeyPatch,
    store_settings: dict[str, Any],
) -> None:
    monkeypatch.setitem(gateway_module.ASSESSORS, "test-phrases", PhraseAssessor)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    common: dict[str, Any] = {"policy": policy, "assessor": "test-phrases"}
    if "redis_url" in store_settings:
        common["redis_prefix"] = unique_prefix()  # the restarted gateway shares it
    else:
        common["audit_db"] = str(tmp_path / "audit.db")
    # The reviewers' endpoint is down while the first gateway runs: attempts fail.
    down = {"url": f"http://127.0.0.1:{free_port()}/review", "secret": SECRET, "backoff_s": 0.2}
    first = make_client(review_webhook=down, **common)
    bot, user = uid("maestro"), uid("lea")
    event = {"type": "user_message", "bot_id": bot, "user_id": user, "event_id": uid("ev"),
             "text": "Je n'en peux plus, je veux en finir.", "ts": clock().isoformat()}  # fmt: skip
    answer = first.post("/v1/events", json=event, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["crisis"] is True, answer.text
    _wait_for(lambda: any(r["outcome"] == "retry" for r in _export(first, "notification")))
    first.__exit__(None, None, None)  # the gateway stops with the notice still owed

    up = {"url": f"{webhook.base}/review", "secret": SECRET, "backoff_s": 0.2}
    second = make_client(review_webhook=up, **common)  # a new app over the same store
    _wait_for(lambda: bool(webhook.requests))
    asyncio.run(asyncio.sleep(0.5))  # a second delivery would show up here
    (sent,) = webhook.requests
    assert verify(SECRET, sent.body, sent.headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(sent.body)
    assert payload["type"] == "crisis" and payload["event_id"] == event["event_id"]
    records = _export(second, "notification")
    assert [r["outcome"] for r in records][-1] == "delivered"
    assert {r["outcome"] for r in records[:-1]} == {"retry"}
    assert [r["attempt"] for r in records] == list(range(1, len(records) + 1))
    assert len({r["notice_id"] for r in records}) == 1
    assert user not in json.dumps(records) and records[0]["user"]


def test_give_up_after_bounded_attempts_is_in_the_audit_log(
    make_client: Callable[..., TestClient],
    clock: Clock,
    uid: Callable[[str], str],
    tmp_path: Path,
    webhook: Upstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(gateway_module.ASSESSORS, "test-phrases", PhraseAssessor)
    webhook.default = Reply(status=503)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    review = {"url": f"{webhook.base}/review", "secret": SECRET, "retries": 2, "backoff_s": 0.01}
    client = make_client(policy=policy, assessor="test-phrases", review_webhook=review)
    event = {"type": "user_message", "bot_id": uid("b"), "user_id": uid("u"),
             "text": "je veux en finir", "ts": clock().isoformat()}  # fmt: skip
    assert client.post("/v1/events", json=event, headers=AUTH).json()["crisis"] is True
    _wait_for(lambda: any(r["outcome"] == "gave_up" for r in _export(client, "notification")))
    records = _export(client, "notification")
    assert [(r["attempt"], r["outcome"]) for r in records] == [
        (1, "retry"),
        (2, "retry"),
        (3, "gave_up"),
    ]
    assert records[0]["problem"] == "HTTP 503" and records[0]["retry_at"]
    assert len(webhook.requests) == 3


class GreyAssessor(PhraseAssessor):
    PHRASES: ClassVar[dict[str, RiskLevel]] = {"everything is grey": RiskLevel.INDICATOR}


def test_the_crisis_level_comes_from_the_policy_of_the_tenant_and_bot(
    make_client: Callable[..., TestClient],
    clock: Clock,
    uid: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(gateway_module.ASSESSORS, "test-grey", GreyAssessor)
    careful = uid("careful")
    (tmp_path / "default.yaml").write_text("name: mine\n")
    (tmp_path / "careful.yaml").write_text(
        f"name: careful\nmatch: {{bots: [{careful}]}}\n"
        "rules:\n  crisis_resources: {level: 1}  # indicator\n"
    )
    client = make_client(policy=tmp_path, assessor="test-grey")

    def crisis(bot: str) -> bool:
        event = {"type": "user_message", "bot_id": bot, "user_id": uid("u"),
                 "text": "Everything is grey lately", "ts": clock().isoformat()}  # fmt: skip
        answer = client.post("/v1/events", json=event, headers=AUTH)
        assert answer.status_code == 200, answer.text
        result: bool = answer.json()["crisis"]
        return result

    assert crisis(careful) is True  # its policy treats an indicator as a crisis
    assert crisis(uid("other")) is False  # the fallback's level (ideation) does not


class SwallowingStore(SQLiteStore):
    """An outbox whose first claim swallows the cancellation that lands in it, as redis-py
    does when a task is cancelled inside a command (redis/redis-py#2028)."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.in_claim = asyncio.Event()
        self.swallowed = 0

    async def outbox_claim(self, *args: Any, **kwargs: Any) -> Any:
        if self.swallowed:
            return await super().outbox_claim(*args, **kwargs)
        self.in_claim.set()
        try:
            await asyncio.Event().wait()  # a command in flight, answered by nothing
        except asyncio.CancelledError:
            self.swallowed += 1  # lost: the loop runs on as if the command returned
        return []


def test_shutdown_ends_the_delivery_loop_even_when_the_store_swallows_the_cancel() -> None:
    """One cancellation lost inside a store call must not keep the app from shutting down:
    the loop is cancelled again until it ends."""
    config = ReviewWebhookConfig(url="http://127.0.0.1:9/review", secret=SECRET)

    async def run() -> tuple[int, bool]:
        store = SwallowingStore()
        notifier = ReviewNotifier(config, store)
        hang = asyncio.timeout(60)  # only turns a hang into a failure
        try:
            async with hang, delivering(notifier, idle_s=0.01):
                await store.in_claim.wait()  # the loop is inside the store call
        finally:
            await notifier.aclose()
            await store.close()
        return store.swallowed, hang.expired()

    swallowed, hung = asyncio.run(run())
    assert swallowed == 1 and not hung
