"""Shared fixtures: a settable clock and gateways on SQLite or the real Redis server."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis as redis_sync
from fastapi.testclient import TestClient

from classifiers.crisis_grammar import CrisisGrammar, default_grammar
from guardrail.app import create_app
from guardrail.config import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Gateways built by tests do not load the classifier stack unless a test asks for it.
os.environ.setdefault("GUARDRAIL_CLASSIFIERS", "false")
# Nor do they prune on a schedule: a prune at a test's clock would sweep the shared Redis
# server (tests that exercise the schedule turn it on, with a key prefix of their own).
os.environ.setdefault("GUARDRAIL_RETENTION", '{"enabled": false}')
# Gateways started without an audit key write one on their first start: into a folder of
# this run, never the working folder (the repository).
_KEYS = tempfile.mkdtemp(prefix="guardrail-test-keys-")
atexit.register(shutil.rmtree, _KEYS, True)
os.environ.setdefault("GUARDRAIL_AUDIT_KEY_FILE", os.path.join(_KEYS, "audit.key"))

# Skips are declared (tests/allowed_skips.txt; enforced in CI); pytester tests that rule.
pytest_plugins = ["tests.skip_policy", "pytester"]

REDIS_URL = "redis://127.0.0.1:6379/0"
API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


class Clock:
    """A clock tests move by hand; the gateway reads it for every decision."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso).astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def redis_available() -> bool:
    try:
        return bool(redis_sync.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis_sync.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings selecting each store in turn; every test id gets fresh state."""
    if request.param == "sqlite":
        return {"db": str(tmp_path / "state.db")}
    if not redis_available():
        pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
    return {"redis_url": REDIS_URL, "audit_db": str(tmp_path / "audit.db")}


@pytest.fixture
def make_client(
    clock: Clock, store_settings: dict[str, Any]
) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient over a gateway with the given extra settings (store chosen above)."""
    clients: list[TestClient] = []
    # The audit outbox is prefix-wide: tests sharing the server must not copy each other's
    # records (the clients of one test share one prefix, as replicas do).
    shared = f"t{uuid.uuid4().hex[:10]}"

    def build(**overrides: Any) -> TestClient:
        if "redis_url" in store_settings and "review_webhook" in overrides:
            # The review outbox is prefix-wide: tests sharing the server must not deliver
            # each other's notifications.
            overrides.setdefault("redis_prefix", f"t{uuid.uuid4().hex[:10]}")
        if "redis_url" in store_settings:
            overrides.setdefault("redis_prefix", shared)
        settings = Settings(api_key=API_KEY, **{**store_settings, **overrides})
        client = TestClient(create_app(settings, clock=clock))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def uid() -> Callable[[str], str]:
    """Unique ids, so tests sharing the real Redis server never see each other's state."""
    run = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{run}"


PG_SERVER = "postgresql://127.0.0.1:5432/test"


def pg_server_up() -> bool:
    try:
        with psycopg.connect(PG_SERVER, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL of the test PostgreSQL server whose search_path is a fresh schema (dropped
    afterwards). Skipped without a server, unless GUARDRAIL_REQUIRE_POSTGRES says fail."""
    if not pg_server_up():
        if os.environ.get("GUARDRAIL_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is not answering on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432")
    schema = f"audit_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def wait_ready(client: TestClient, polls: int = 600) -> Any:
    """``/readyz`` once it says ready, or its last answer after ``polls`` tries."""
    ready = client.get("/readyz")
    for _ in range(polls):
        if ready.status_code == 200:
            break
        time.sleep(0.1)
        ready = client.get("/readyz")
    return ready


@pytest.fixture(scope="session")
def grammar() -> CrisisGrammar:
    """The shipped crisis grammar (loaded once; a test module may define its own)."""
    return default_grammar()
