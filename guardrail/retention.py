"""Scheduled retention: a background task of the app's lifespan that prunes the state store.

State would otherwise grow forever: every user message, sent message and risk signal is a
row (SQLite) or a sorted-set member (Redis). Each run drops what is older than its
retention, where a retention is the longest any active policy sets (``retention:``), else
the configured duration (``settings.retention``), raised to the longest look-back of the
active policies, so a prune never drops what a rule still reads. Risk and dependency
signals have their own, shorter retention (health data).
On Redis the same run (re)sets the TTL of every key it sweeps, and the write-time TTLs
follow the effective durations, so nothing outlives its retention even if pruning stops.

A failed run (store down) is logged and counted, never raised: the next run tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from guardrail.gateway import Gateway
from guardrail.notify import cancel_and_wait
from guardrail.state.base import StoreUnavailable
from guardrail.state.common import KeyTtls

log = logging.getLogger("guardrail.retention")


@dataclass
class PruneStats:
    """What the scheduler has done, for tests and ``/readyz``-style introspection."""

    runs: int = 0
    failures: int = 0
    removed: int = 0
    last_error: str | None = None


def effective_ttls(gateway: Gateway) -> KeyTtls:
    """Each retention: the longest any active policy sets (``retention:``), else the
    gateway's setting, and never less than the longest look-back of any active policy."""
    config = gateway.settings.retention
    active = gateway.policies.current.active
    lookback = max((p.lookback for p in active), default=config.messages)

    def chosen(kind: str, default: timedelta) -> timedelta:
        asked = [d for p in active if (d := getattr(p.policy.retention, kind)) is not None]
        return max(max(asked, default=default), lookback)

    return KeyTtls(
        messages=chosen("messages", config.messages),
        risk=chosen("risk", config.risk),
        records=chosen("records", config.records),
    )


async def prune_once(gateway: Gateway) -> int:
    """One prune at the gateway's clock; returns the messages dropped."""
    ttls = effective_ttls(gateway)
    store = gateway.store
    if store.name == "redis":  # write-time TTLs follow the effective retention
        from guardrail.state.redis import RedisStore

        if isinstance(store, RedisStore):
            store.ttls = ttls
    now = gateway.clock()
    return await store.prune(
        now - ttls.messages, risk_before=now - ttls.risk, records_before=now - ttls.records
    )


async def _loop(gateway: Gateway, stats: PruneStats) -> None:
    interval = gateway.settings.retention.interval.total_seconds()
    while True:
        try:
            removed = await prune_once(gateway)
        except StoreUnavailable as exc:
            stats.failures += 1
            stats.last_error = str(exc)
            log.warning("retention prune failed, retrying in %.0fs: %s", interval, exc)
        except Exception as exc:  # a bug in one run must not end the schedule
            stats.failures += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("retention prune crashed; retrying in %.0fs", interval)
        else:
            stats.removed += removed
            if removed:
                log.info("retention prune removed %d messages", removed)
        stats.runs += 1
        await asyncio.sleep(interval)


@asynccontextmanager
async def pruning(gateway: Gateway) -> AsyncIterator[PruneStats]:
    """Run the prune every ``settings.retention.interval`` while the block runs (first at
    start-up); nothing when retention is disabled."""
    stats = PruneStats()
    if not gateway.settings.retention.enabled:
        yield stats
        return
    task = asyncio.create_task(_loop(gateway, stats), name="guardrail-retention")
    try:
        yield stats
    finally:
        await cancel_and_wait(task)
