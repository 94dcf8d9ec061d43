"""A Redis that may evict keys is refused (issue #24, point 4): at start, and by /readyz.

With a memory limit and an LRU policy (the default of several managed offerings), Redis
evicts keys under load, opt-outs included, and the user is messaged again after STOP.
Throwaway servers on free ports, each with the policy under test; nothing is mocked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.config import Settings
from guardrail.service.readiness import UnsafeStore
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore
from tests.conftest import API_KEY, Clock, wait_ready
from tests.store_support import redis_server

pytestmark = pytest.mark.redis


def app_on(url: str, clock: Clock, **settings: Any) -> TestClient:
    config = Settings(api_key=API_KEY, redis_url=url, audit_db=":memory:", **settings)
    return TestClient(create_app(config, clock=clock, policy_poll_s=None))


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-ttl"])
def test_a_gateway_refuses_to_start_on_a_redis_that_evicts(clock: Clock, policy: str) -> None:
    server = redis_server("--maxmemory", "64mb", "--maxmemory-policy", policy)
    with server as url, pytest.raises(UnsafeStore, match=f"maxmemory-policy {policy}"):
        app_on(url, clock).__enter__()


def test_the_operator_may_accept_it_explicitly(clock: Clock) -> None:
    with (
        redis_server("--maxmemory-policy", "allkeys-lru") as url,
        app_on(url, clock, redis_allow_eviction=True) as client,
    ):
        assert wait_ready(client).json()["ready"] is True


def test_readyz_fails_while_the_policy_evicts(clock: Clock) -> None:
    with redis_server("--maxmemory-policy", "noeviction") as url, app_on(url, clock) as client:
        assert wait_ready(client).status_code == 200
        admin = redis_sync.Redis.from_url(url)
        admin.config_set("maxmemory-policy", "allkeys-lru")  # changed under a running gateway
        unready = client.get("/readyz")
        assert unready.status_code == 503
        why = "store: may evict keys (opt-outs included): see the log"
        assert unready.json() == {
            "ready": False,
            "store": "redis",
            "classifiers": "off",
            "pii": "ready",
            "missing": [why],
            "error": "unavailable",
            "detail": f"not ready: {why}",
        }
        admin.config_set("maxmemory-policy", "noeviction")
        assert client.get("/readyz").status_code == 200


def test_managed_redis_without_config_is_read_from_info(clock: Clock) -> None:
    """CONFIG renamed away (as managed offerings do): INFO memory still tells the policy."""
    no_config = ("--rename-command", "CONFIG", "")
    evicting = redis_server(*no_config, "--maxmemory-policy", "allkeys-lru")
    with evicting as url, pytest.raises(UnsafeStore, match="allkeys-lru"):
        app_on(url, clock).__enter__()
    keeping = redis_server(*no_config, "--maxmemory-policy", "noeviction")
    with keeping as url, app_on(url, clock) as client:
        assert wait_ready(client).status_code == 200


def test_a_policy_nobody_can_read_is_refused_too(clock: Clock) -> None:
    hidden = ("--rename-command", "CONFIG", "", "--rename-command", "INFO", "")
    with redis_server(*hidden) as url:
        with pytest.raises(UnsafeStore, match="cannot read the maxmemory-policy"):
            app_on(url, clock).__enter__()
        with app_on(url, clock, redis_allow_eviction=True) as client:
            assert wait_ready(client).status_code == 200


def test_the_stores_say_whether_they_keep_what_they_are_given(tmp_path: Path) -> None:
    async def run() -> tuple[str | None, str | None]:
        sqlite = SQLiteStore(tmp_path / "s.db")
        with redis_server("--maxmemory-policy", "volatile-lru") as url:
            redis = RedisStore(url, prefix="t")
            said = await redis.durability()
            await redis.close()
        kept = await sqlite.durability()
        await sqlite.close()
        return kept, said

    kept, said = asyncio.run(run())
    assert kept is None
    assert said is not None and "volatile-lru" in said and "noeviction" in said
