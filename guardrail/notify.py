"""The review webhook: tells the operator's trust-and-safety team about a crisis, at once.

Notifications are signed (HMAC-SHA256 over ``<timestamp>.<body>``, Stripe-style, so a
replayed body with an old timestamp can be refused), kept in the state store's outbox
(durable across restarts, shared by replicas) and sent by a background loop so they
never hold up a decision or an event, retried with exponential backoff on network
errors, 429 and 5xx. Each attempt is recorded in the audit log; one that still fails
is logged, counted and recorded as given up, not lost silently.

Header: ``X-Guardrail-Signature: t=<unix seconds>,v1=<hex HMAC>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from guardrail.audit.backend import AuditUnavailable
from guardrail.config import ReviewWebhookConfig
from guardrail.state.base import OutboxItem, OutboxStore, StoreUnavailable
from guardrail.state.sqlite import SQLiteStore

if TYPE_CHECKING:
    from guardrail.audit.trail import AuditTrail

log = logging.getLogger("guardrail.notify")
SIGNATURE_HEADER = "X-Guardrail-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: int = 300) -> bool:
    """For receivers (and tests): check the signature and that it is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


def _wall() -> datetime:
    return datetime.now(UTC)


class ReviewNotifier:
    """Delivers notifications from the durable outbox in the store.

    :meth:`enqueue` writes the payload to the store's outbox (so a restart loses nothing)
    and wakes :meth:`run`, the background loop the app's lifespan starts, which claims due
    items under a lease (two replicas never both send one), posts each once per claim,
    and settles it: delivered, due again after ``backoff_s * 2**(attempt-1)`` on a network
    error, 429 or 5xx, or given up after ``retries + 1`` attempts or on another 4xx. Every
    attempt is appended to the audit log. Retry times are wall-clock (the outbox's own
    schedule), not the gateway's decision clock.

    Built without a store (a notifier on its own, in tests), it keeps an in-memory outbox
    and :meth:`aclose` drains it, as nothing would deliver it later.
    """

    def __init__(
        self,
        config: ReviewWebhookConfig,
        store: OutboxStore | None = None,
        audit: AuditTrail | None = None,
        *,
        clock: Callable[[], datetime] = _wall,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.config = config
        self._own_store: SQLiteStore | None = None
        if store is None:
            store = self._own_store = SQLiteStore(":memory:")
        self.store: OutboxStore = store
        self.audit = audit
        self.clock = clock
        self.lease = max(lease, timedelta(seconds=2 * config.timeout_s))
        self.token = uuid.uuid4().hex
        self._client = httpx.AsyncClient(timeout=config.timeout_s)
        self._pending: set[asyncio.Task[str | None]] = set()
        self._wake: asyncio.Event | None = None
        self.sent = 0
        self.failed = 0

    def notify(self, payload: dict[str, Any]) -> None:
        """Queue one notification without waiting (the write happens in the background)."""
        task = asyncio.get_running_loop().create_task(self._enqueue_logged(payload))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _enqueue_logged(self, payload: dict[str, Any]) -> str | None:
        try:
            return await self.enqueue(payload)
        except StoreUnavailable as exc:
            self.failed += 1
            log.error("review notification %s not queued: %s", payload.get("type"), exc)
            return None

    async def enqueue(self, payload: dict[str, Any]) -> str:
        """Keep ``payload`` in the outbox until delivered or given up; its outbox id."""
        item_id = uuid.uuid4().hex
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        await self.store.outbox_put(item_id, body, self.clock())
        if self._wake is not None:
            self._wake.set()
        return item_id

    async def deliver_due(self) -> int:
        """One pass: claim what is due, attempt each once, settle it. Items attempted."""
        items = await self.store.outbox_claim(self.clock(), self.lease, self.token)
        for item in items:
            await self._attempt(item)
        return len(items)

    async def _attempt(self, item: OutboxItem) -> None:
        body = item.payload_json.encode()
        try:
            payload: dict[str, Any] = json.loads(item.payload_json)
        except ValueError:
            payload = {}
        retryable, problem = await self._post(body)
        last = item.attempts > self.config.retries
        retry_at: datetime | None = None
        if problem is None:
            outcome = "delivered"
            self.sent += 1
        elif retryable and not last:
            outcome = "retry"
            delay = self.config.backoff_s * 2 ** (item.attempts - 1)
            retry_at = self.clock() + timedelta(seconds=delay)
        else:
            outcome = "gave_up"
            self.failed += 1
            log.error("review webhook failed for %s: %s", payload.get("type"), problem)
        if not await self.store.outbox_settle(item.item_id, item.token, retry_at):
            log.warning("review notification %s: lease lost before settling", item.item_id)
        if self.audit is not None:
            try:
                await self.audit.record_notification(
                    payload,
                    item_id=item.item_id,
                    attempt=item.attempts,
                    outcome=outcome,
                    problem=problem,
                    retry_at=retry_at,
                )
            except AuditUnavailable as exc:
                log.error("notification attempt not recorded in the audit log: %s", exc)

    async def _post(self, body: bytes) -> tuple[bool, str | None]:
        """(retryable, problem); problem None: delivered."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.config.secret.get_secret_value(), body, int(time.time())),
        }
        try:
            response = await self._client.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return True, type(exc).__name__
        if response.status_code < 300:
            return False, None
        return response.status_code == 429 or response.status_code >= 500, (
            f"HTTP {response.status_code}"
        )

    async def _wait(self, idle_s: float) -> None:
        """Sleep until the next item is due, a new one is queued, or ``idle_s`` passes."""
        assert self._wake is not None
        due = await self.store.outbox_next_due()
        delay = idle_s
        if due is not None:
            delay = min(idle_s, max(0.0, (due - self.clock()).total_seconds()))
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
        self._wake.clear()

    async def run(self, idle_s: float = 1.0) -> None:
        """The delivery loop (until cancelled); a store outage is logged and waited out.
        ``idle_s`` bounds how late an item another replica queued is noticed."""
        self._wake = asyncio.Event()
        while True:
            try:
                while await self.deliver_due():
                    pass
                await self._wait(idle_s)
            except StoreUnavailable as exc:
                log.warning("review outbox unavailable, retrying: %s", exc)
                await asyncio.sleep(idle_s)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Deliver until the outbox is empty or ``timeout_s`` passes (shutdown, tests)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        while loop.time() < end:
            if await self.deliver_due():
                continue
            due = await self.store.outbox_next_due()
            if due is None:
                return
            wait = (due - self.clock()).total_seconds()
            await asyncio.sleep(min(max(wait, 0.0), max(0.0, end - loop.time())) + 0.001)

    async def aclose(self) -> None:
        """Close; an in-memory outbox is drained first (a durable one waits in the store)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=5.0)
        if self._own_store is not None:
            await self.drain()
            await self._own_store.close()
        await self._client.aclose()


@asynccontextmanager
async def delivering(notifier: ReviewNotifier | None, idle_s: float = 1.0) -> AsyncIterator[None]:
    """Run the notifier's delivery loop for the lifetime of the app (nothing without one)."""
    if notifier is None:
        yield
        return
    task = asyncio.get_running_loop().create_task(notifier.run(idle_s))
    try:
        yield
    finally:
        await cancel_and_wait(task)


async def cancel_and_wait(task: asyncio.Task[Any], every_s: float = 0.1) -> None:
    """Cancel a background loop and wait for it to end, cancelling again until it does.

    A cancellation that lands inside a Redis command can be swallowed by redis-py (measured
    with redis 8.2 on Python 3.11; redis/redis-py#2028): the loop then runs on, and one
    ``cancel()`` would hold the shutdown forever."""
    task.cancel()
    while not task.done():
        await asyncio.wait({task}, timeout=every_s)
        task.cancel()
    with suppress(asyncio.CancelledError):
        await task
