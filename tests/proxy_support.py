"""A real gateway (uvicorn on a free loopback port) for tests that drive platform clients.

The client libraries under test (python-telegram-bot, requests) open their own sockets, so
the gateway must be a real HTTP server, not a TestClient. It runs in a thread of the test
process, on a fixed clock (:data:`NOW`, a weekday morning), so no test depends on the
time of day it runs at.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn

from guardrail.app import create_app
from guardrail.config import Settings
from tests.conftest import API_KEY, AUTH, free_port
from tests.gateways import FIRST_USE_S
from tests.test_api import USER_CHAT

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@contextmanager
def serve_gateway(**settings: Any) -> Iterator[str]:
    """Run a gateway with these settings on 127.0.0.1; yield its base URL."""
    app = create_app(Settings(api_key=API_KEY, **settings), clock=lambda: NOW, policy_poll_s=None)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("gateway did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def user_wrote(
    base: str, bot: str, user: str, *, hours_ago: float = 5, channel: str | None = None
) -> None:
    """The user's own messages, recorded through guardrail's event API (the last one
    ``hours_ago``), so the user is engaged and no reply of the bot is pending."""
    now = NOW
    for text, offset in zip(USER_CHAT, (72, 48, 24, 20, 5), strict=True):  # as engage() does
        ts = now - timedelta(hours=offset - 5 + hours_ago)
        event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": text}
        event |= {"ts": ts.isoformat(), "event_id": uuid.uuid4().hex}
        if channel is not None:
            event["channel"] = channel
        response = httpx.post(f"{base}/v1/events", json=event, headers=AUTH, timeout=30)
        assert response.status_code == 200, response.text


def warm_up(base: str, bot: str, channel: str) -> None:
    """Decide one allowed message, so the PII pipeline (loaded on first use, seconds) is
    ready before a client library with its short default timeouts talks to the gateway."""
    user = f"warm-{uuid.uuid4().hex[:8]}"
    user_wrote(base, bot, user)
    body = {"bot_id": bot, "user_id": user, "channel": channel, "text": "Warming up, hello!"}
    response = httpx.post(f"{base}/v1/outreach/check", json=body, headers=AUTH, timeout=FIRST_USE_S)
    assert response.status_code == 200, response.text
