"""The review webhook: tells the operator's trust-and-safety team about a crisis, at once.

Notifications are signed (HMAC-SHA256 over ``<timestamp>.<body>``, Stripe-style, so a
replayed body with an old timestamp can be refused), sent in the background so they
never hold up a decision or an event, and retried with exponential backoff on network
errors, 429 and 5xx. A notification that still fails is logged and counted, not lost
silently.

Header: ``X-Guardrail-Signature: t=<unix seconds>,v1=<hex HMAC>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

log = logging.getLogger("guardrail.notify")
SIGNATURE_HEADER = "X-Guardrail-Signature"


class ReviewWebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    secret: SecretStr
    retries: int = Field(default=5, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0, le=30)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    include_text: bool = Field(
        default=False, description="send the user's message too (reviewers' context; it is PII)"
    )


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


class ReviewNotifier:
    def __init__(self, config: ReviewWebhookConfig) -> None:
        self.config = config
        self._client = httpx.AsyncClient(timeout=config.timeout_s)
        self._pending: set[asyncio.Task[bool]] = set()
        self.sent = 0
        self.failed = 0

    def notify(self, payload: dict[str, Any]) -> None:
        """Queue one notification; returns at once."""
        task = asyncio.get_running_loop().create_task(self._deliver(payload))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, payload: dict[str, Any]) -> bool:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        secret = self.config.secret.get_secret_value()
        for attempt in range(self.config.retries + 1):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(secret, body, int(time.time())),
            }
            try:
                response = await self._client.post(self.config.url, content=body, headers=headers)
                if response.status_code < 300:
                    self.sent += 1
                    return True
                retryable = response.status_code == 429 or response.status_code >= 500
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                retryable, problem = True, type(exc).__name__
            if not retryable or attempt == self.config.retries:
                break
            await asyncio.sleep(self.config.backoff_s * 2**attempt)
        self.failed += 1
        log.error("review webhook failed for %s: %s", payload.get("type"), problem)
        return False

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait for queued notifications (shutdown, tests)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)

    async def aclose(self) -> None:
        await self.drain()
        await self._client.aclose()
