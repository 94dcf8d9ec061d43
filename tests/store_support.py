"""A fresh store of each backend (SQLite on a temp file, the real Redis server), and a
wrapper that holds decisions between their snapshot and their commit.

The wrapper forces the race the atomic commit exists for: every concurrent decision reads
its snapshot before any of them commits, so only the store's commit-time re-check can
keep them from all passing. Everything is delegated to the real store.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from guardrail.state import Snapshot, Store, StoreUnavailable
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore

REDIS_URL = "redis://127.0.0.1:6379/0"


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
        after_snapshot: Callable[[], Awaitable[None]] | None = None,
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
