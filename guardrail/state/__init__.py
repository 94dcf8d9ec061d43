"""State stores: SQLite for one host, Redis for replicas. Both pass one test suite."""

from __future__ import annotations

from pathlib import Path

from guardrail.state.base import (
    Cap,
    CapScope,
    CommitRequest,
    CommitResult,
    IdempotencyClaim,
    Snapshot,
    Store,
    StoreUnavailable,
)
from guardrail.state.common import KeyTtls

DEFAULT_DB = "guardrail.db"

__all__ = [
    "DEFAULT_DB",
    "Cap",
    "CapScope",
    "CommitRequest",
    "CommitResult",
    "IdempotencyClaim",
    "KeyTtls",
    "Snapshot",
    "Store",
    "StoreUnavailable",
    "open_store",
]


def open_store(
    *,
    db: str | Path | None = None,
    redis_url: str | None = None,
    ttls: KeyTtls | None = None,
    prefix: str = "gr",
) -> Store:
    """Open the store the configuration names: a SQLite file, or a Redis URL.

    With neither, a SQLite file ``guardrail.db`` in the working folder, so a first run
    needs no setup. ``ttls``: how long Redis keeps keys after their last write;
    ``prefix``: the Redis key prefix (deployments sharing one server). Backends are
    imported lazily: a SQLite deployment never loads redis.
    """
    if db is not None and redis_url is not None:
        raise ValueError("give either db or redis_url, not both")
    if redis_url is not None:
        from guardrail.state.redis import RedisStore

        return RedisStore(redis_url, prefix, ttls=ttls)
    from guardrail.state.sqlite import SQLiteStore

    return SQLiteStore(DEFAULT_DB if db is None else db)
