"""Copying consent and crisis records from the state store's audit outbox to the log.

An opt-out or a crisis is written to the store together with its audit record (one
transaction, one ``MULTI``: :class:`~guardrail.state.base.AuditOutboxStore`), so the event
can be answered as soon as the store took it, audit log up or down. The copier then moves
the records to the log, oldest first, each appended by its record id (at most once, even
when two replicas copy at the same time or a copy is retried after a crash), and drops
them from the store once the log holds them. It runs right after each such event, and in
the background (every ``interval_s``) for what an outage left behind; while the log is
down, the requests stop trying for ``backoff_s`` and leave the rest to the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import orjson

from guardrail.audit.backend import AuditUnavailable
from guardrail.audit.trail import AuditTrail
from guardrail.state.base import AuditOutboxStore, PendingRecord, StoreUnavailable

log = logging.getLogger("guardrail.audit")

_BATCH = 100


class RecordCopier:
    """Moves records from ``store``'s audit outbox to ``trail``, in order, once."""

    def __init__(
        self, store: AuditOutboxStore, trail: AuditTrail, *, backoff_s: float = 5.0
    ) -> None:
        self.store, self.trail, self.backoff_s = store, trail, backoff_s
        self._lock = asyncio.Lock()
        self._resting_until = 0.0
        self.copied = 0
        self.waiting = False
        """Whether the last pass left records behind (the log or the store failed)."""

    async def flush(self, *, force: bool = False) -> int:
        """Copy what waits, oldest first, until none is left or the log fails; returns how
        many were copied. Without ``force`` nothing is tried while the log is resting after
        a failure (the requests that call this must not each wait for a dead log)."""
        if not force and time.monotonic() < self._resting_until:
            self.waiting = True
            return 0
        copied = 0
        async with self._lock:
            try:
                while True:
                    pending = await self.store.audit_pending(_BATCH)
                    done, failed = await self._copy(pending)
                    if done:
                        await self.store.audit_done(done)
                        copied += len(done)
                    if failed or len(pending) < _BATCH:
                        self.waiting = failed
                        break
            except StoreUnavailable as exc:
                self.waiting = True
                log.warning("audit outbox unavailable, records wait there: %s", exc)
        self.copied += copied
        return copied

    async def _copy(self, pending: list[PendingRecord]) -> tuple[list[PendingRecord], bool]:
        """Append each in order; stop at the first the log refuses (the order is kept)."""
        done: list[PendingRecord] = []
        for item in pending:
            body: dict[str, Any] = orjson.loads(item.body_json)
            try:
                await self.trail.append_body(body, if_absent=True)
            except AuditUnavailable as exc:
                self._resting_until = time.monotonic() + self.backoff_s
                log.warning(
                    "audit log unavailable: %s record %s waits in the store's outbox (%s)",
                    body.get("type"),
                    item.record_id,
                    exc,
                )
                return done, True
            done.append(item)
        return done, False

    async def run(self, stop: asyncio.Event, interval_s: float = 2.0) -> None:
        """Copy what waits every ``interval_s`` (after an outage, at start-up), until
        ``stop`` is set. A pass is never cut short: a store command cancelled half-way can
        leave its connection pool waiting forever."""
        while not stop.is_set():
            await self.flush(force=True)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)


@asynccontextmanager
async def copying(copier: RecordCopier | None, interval_s: float = 2.0) -> AsyncIterator[None]:
    """Run the copier in the background for the lifetime of the app; at shutdown, let its
    pass end, then copy once more."""
    if copier is None:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(copier.run(stop, interval_s))
    try:
        yield
    finally:
        stop.set()
        await task
        await copier.flush(force=True)
