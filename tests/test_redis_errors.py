"""Every kind of Redis error is StoreUnavailable, so callers fail closed instead of a 500.

Provoked for real on private redis-server processes the tests start: out of memory
(``maxmemory 1``, noeviction), a read-only replica (``--replicaof`` a master that is not
there), a server paused past the client's timeout, a key of the wrong type; LOADING cannot
be held long enough to hit on purpose, so its exception class is mapped directly.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as redis_sync
from fastapi.testclient import TestClient
from redis.exceptions import BusyLoadingError, ResponseError

from guardrail.app import create_app
from guardrail.config import Settings
from guardrail.models import Kind
from guardrail.state.base import CommitRequest, EventWrite, StoreUnavailable
from guardrail.state.common import ConsentChange
from guardrail.state.redis import RedisStore
from tests.conftest import API_KEY, AUTH, REDIS_URL, Clock, free_port
from tests.store_support import redis_server, unique_prefix

pytestmark = pytest.mark.redis
Uid = Callable[[str], str]
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def oom_url() -> Iterator[str]:
    with redis_server("--maxmemory", "1", "--maxmemory-policy", "noeviction") as url:
        yield url


@pytest.fixture(scope="module")
def replica_url() -> Iterator[str]:
    with redis_server("--replicaof", "127.0.0.1", str(free_port())) as url:
        yield url


async def writes_fail(store: RedisStore, *, expect: str, deletes: bool = True) -> None:
    stop = ConsentChange("coach", True, T0, "webhook", T0)
    commit = CommitRequest(decision_id=uuid.uuid4().hex, kind=Kind.PROACTIVE, ts=T0,
                           decision_json="{}")  # fmt: skip
    attempts: list[Any] = [
        store.apply_event("a", "coach", "u", EventWrite(ts=T0, user_message=True, consent=stop)),
        store.record_user_message("a", "coach", "u", T0, "m1"),
        store.set_consent("a", None, "u", True, T0),
        store.commit("a", "coach", "u", commit),
        store.put_idempotent("a", "coach", "u", "k", "{}", T0, timedelta(hours=1)),
    ]
    if deletes:  # under OOM Redis still allows deletions (they free memory): release works
        attempts.append(store.release("a", "coach", "u", "d", "k"))
    for attempt in attempts:
        with pytest.raises(StoreUnavailable, match=expect):
            await attempt


async def test_out_of_memory_is_store_unavailable(oom_url: str) -> None:
    store = RedisStore(oom_url, prefix=unique_prefix())
    try:
        await store.snapshot("a", "coach", "u", T0, timedelta(days=1))  # reads still serve
        await writes_fail(store, expect="maxmemory", deletes=False)
    finally:
        await store.close()


async def test_a_read_only_replica_is_store_unavailable(replica_url: str) -> None:
    store = RedisStore(replica_url, prefix=unique_prefix())
    try:
        await writes_fail(store, expect="READONLY|read only")
    finally:
        await store.close()


async def test_a_timeout_is_store_unavailable() -> None:
    with redis_server() as url:
        admin = redis_sync.Redis.from_url(url)
        store = RedisStore(url, prefix=unique_prefix(), timeout_s=0.2)
        try:
            await store.ping()
            # redis leaves execute_command unannotated
            admin.execute_command("CLIENT", "PAUSE", "5000", "ALL")  # type: ignore[no-untyped-call]
            with pytest.raises(StoreUnavailable, match="Timeout"):
                await store.snapshot("a", "coach", "u", T0, timedelta(days=1))
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")  # type: ignore[no-untyped-call]
            await store.close()


@pytest.fixture
async def shared() -> AsyncIterator[RedisStore]:
    store = RedisStore(REDIS_URL, prefix=unique_prefix())
    yield store
    keys = [k async for k in store._r.scan_iter(match=f"{store.prefix}:*")]
    if keys:
        await store._r.delete(*keys)
    await store.close()


async def test_an_error_reply_is_store_unavailable(shared: RedisStore) -> None:
    await shared._r.set(f"{shared._tag('a', 'u')}:consent", "not a hash")  # WRONGTYPE
    with pytest.raises(StoreUnavailable, match="WRONGTYPE"):
        await shared.snapshot("a", "coach", "u", T0, timedelta(days=1))
    with pytest.raises(StoreUnavailable):
        await shared.apply_event("a", "coach", "u", EventWrite(ts=T0, user_message=True))


@pytest.mark.parametrize(
    "error",
    [BusyLoadingError("Redis is loading the dataset in memory"), ResponseError("ERR anything")],
    ids=["loading", "response"],
)
async def test_every_redis_error_class_maps_to_store_unavailable(
    shared: RedisStore, error: Exception
) -> None:
    with pytest.raises(StoreUnavailable), shared._guard("test"):
        raise error


# --------------------------------------------------------------------------- the gateway


@pytest.mark.parametrize("which", ["oom", "replica"])
def test_the_gateway_fails_closed_not_500(
    request: pytest.FixtureRequest, clock: Clock, uid: Uid, tmp_path: Any, which: str
) -> None:
    url = request.getfixturevalue(f"{which}_url")
    settings = Settings(api_key=API_KEY, redis_url=url, audit_db=str(tmp_path / "audit.db"),
                        redis_prefix=unique_prefix())  # fmt: skip
    with TestClient(create_app(settings, clock=clock)) as client:
        bot, user = uid("coach"), uid("jo")
        event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": "STOP",
                 "ts": clock().isoformat()}  # fmt: skip
        down = client.post("/v1/events", json=event, headers=AUTH)
        assert down.status_code == 503, down.text
        assert down.json()["error"] == "unavailable"
        body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": "Hello there!",
                "kind": "proactive"}  # fmt: skip
        decided = client.post("/v1/outreach/check", json=body, headers=AUTH)
        assert decided.status_code == 200, decided.text
        assert decided.json()["verdict"] == "block"


@pytest.mark.parametrize(
    "store_settings", [pytest.param("redis", marks=pytest.mark.redis)], indirect=True
)
def test_a_wrong_type_key_fails_closed_not_500(
    make_client: Callable[..., TestClient], clock: Clock, uid: Uid
) -> None:
    """A Redis error (a key of the wrong type), so Redis only: no SQLite variant to skip."""
    client = make_client()
    bot, user = uid("coach"), uid("kit")
    prefix = client.app.state.gateway.store.prefix  # type: ignore[attr-defined]
    redis_sync.Redis.from_url(REDIS_URL).set(f"{prefix}:{{default|{user}}}:consent", "x", ex=600)
    body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": "Hi!", "kind": "proactive"}
    decided = client.post("/v1/outreach/check", json=body, headers=AUTH)
    assert decided.status_code == 200 and decided.json()["verdict"] == "block", decided.text
    event = {"type": "opt_out", "bot_id": bot, "user_id": user, "ts": clock().isoformat()}
    assert client.post("/v1/events", json=event, headers=AUTH).status_code == 503
