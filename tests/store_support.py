"""Stores for tests: SQLite on a temp file, Redis on the real server under a key prefix of
the test's own (so sweeps and key scans never touch another test's or helper's state); a
private redis-server for provoking errors; and a wrapper that holds decisions between their
snapshot and their commit.

The wrapper forces the race the atomic commit exists for: every concurrent decision reads
its snapshot before any of them commits, so only the store's commit-time re-check can
keep them from all passing. Everything is delegated to the real store.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
import redis.asyncio as aioredis

from guardrail.state import Snapshot, Store, StoreUnavailable
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore
from tests.conftest import REDIS_URL, free_port, redis_available

STORES = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def open_test_store(kind: str, tmp_path: Path) -> Store:
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "state.db")
    if not redis_available():
        pytest.fail("Redis is not answering on 127.0.0.1:6379")
    return RedisStore(REDIS_URL, prefix=unique_prefix())


async def store_of(kind: str, tmp_path: Path) -> AsyncIterator[Store]:
    store = open_test_store(kind, tmp_path)
    try:
        yield store
    finally:
        if isinstance(store, RedisStore):
            await _drop_prefix(store)
        await store.close()


async def _drop_prefix(store: RedisStore) -> None:
    keys = [k async for k in store._r.scan_iter(match=f"{store.prefix}:*", count=1000)]
    if keys:
        await store._r.delete(*keys)


@contextmanager
def redis_server(*args: str) -> Iterator[str]:
    """A private redis-server on a free port (for provoking OOM, READONLY, pauses): its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
           "no", "--protected-mode", "no", *args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if redis_sync.Redis.from_url(url, socket_timeout=1).ping():
                    break
            except (OSError, redis_sync.RedisError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server {' '.join(args)} did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def drop_prefix(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        names = [name async for name in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if names:
            await client.delete(*names)
    finally:
        await client.aclose()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend."""
    if request.param == "sqlite":
        sqlite_store = SQLiteStore(tmp_path / "state.db")
        yield sqlite_store
        await sqlite_store.close()
        return
    prefix = f"grtest-{uuid.uuid4().hex}"
    redis_store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        yield redis_store
    finally:
        await redis_store.close()
        await drop_prefix(prefix)


class HeldStore:
    """The real store, with hooks after each snapshot: wait for ``parties`` snapshots
    (then every caller has read the same state), run ``after_snapshot``, or fail the next
    ``fail_snapshots`` snapshots as an outage would."""

    def __init__(
        self,
        inner: Store,
        parties: int = 1,
        after_snapshot: Callable[[], Awaitable[object]] | None = None,
        fail_snapshots: int = 0,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.barrier = asyncio.Barrier(parties)
        self.after_snapshot = after_snapshot
        self.fail_snapshots = fail_snapshots
        self.hold: asyncio.Event | None = None
        """When set: snapshots wait for this event (a decision kept in flight)."""
        self.reached = asyncio.Event()
        """Set once a decision has reached its snapshot (its key, if any, is claimed)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        if self.fail_snapshots:
            self.fail_snapshots -= 1
            raise StoreUnavailable("simulated outage: the store did not answer")
        self.reached.set()
        snap = await self.inner.snapshot(tenant, bot, user, now, horizon)
        await self.barrier.wait()
        if self.hold is not None:
            await self.hold.wait()
        if self.after_snapshot is not None:
            await self.after_snapshot()
        return snap
