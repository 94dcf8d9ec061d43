"""Stores for tests: SQLite on a temp file, Redis on the real server under a key prefix of
the test's own (so sweeps and key scans never touch another test's or helper's state)."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis as redis_sync

from guardrail.state.base import Store
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
