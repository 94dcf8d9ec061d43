"""The gateway as deployed: the shipped classifier stack, driven over HTTP, on both stores.

The rest of the suite runs its gateways without classifiers (``tests/conftest.py`` sets
``GUARDRAIL_CLASSIFIERS=false``), which production never does. Here one gateway per store
is built once for this layer (package scope: built before its first test, dropped after its
last, so the rest of the suite does not carry it) with ``classifiers: true`` and the
production defaults
(self-harm assessor ``classifier``, the built-in default policy, real PII), loads the
shipped stack through its own start-up path (the background loader, ``/readyz``), and is
driven through TestClient: events, check, send, the proxies, classify. The encoder, the
expensive part, is loaded once per process and shared by both gateways
(``classifiers.encoders.shared_sentence_encoder``); each gateway loads its own heads
(under 0.1 s) behind its own micro-batcher.

Isolation: every test uses its own bot and user ids (``uid``); the Redis gateway writes
under a key prefix of its own, dropped at the end; review notices are matched by bot id.
The clock is fixed (a Friday, 10:00 UTC) and never moved, so no test depends on the time
of day it runs at, nor on another test's clock.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as redis_sync
from fastapi.testclient import TestClient

from classifiers.batcher import MicroBatcher
from classifiers.results import Role, TextScores
from guardrail.app import create_app
from guardrail.config import Settings
from guardrail.gateway import Gateway
from guardrail.notify import SIGNATURE_HEADER, verify
from tests.conftest import API_KEY, AUTH, REDIS_URL, Clock, redis_available
from tests.test_api import engage
from tests.upstream import Recorded, Reply, Upstream, serve_upstream

Json = dict[str, Any]

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
LOAD_HANG_S = 300.0
"""Only turns a stack that never finishes loading into a failure (it loads in seconds)."""
REVIEW_SECRET = "e2e-review-secret-5b1c"

# The bots of the deployment: one per delivery path, each with its platform's fake upstream.
HOOK_BOT, TELEGRAM_BOT, WHATSAPP_BOT, MESSENGER_BOT = (
    "e2e-hook",
    "e2e-telegram",
    "e2e-whatsapp",
    "e2e-messenger",
)
TG_REAL, TG_PROXY = "7012345678:AAE-e2e-real-SECRET-kq8Zr", "7012345678:e2e-proxy-token-Qm2"
WA_REAL, WA_PROXY = "EAAG-e2e-wa-real-SECRET-93be", "e2e-wa-proxy-token-7Hd"
FB_REAL, FB_PROXY = "EAAB-e2e-page-real-SECRET-0c1d", "e2e-fb-proxy-token-4Kq"
PHONE_ID, PAGE_ID = "1098765", "20531316728"
PLATFORM_OK = {
    # One body every fake platform answers with; each adapter reads the part it knows.
    "ok": True,
    "result": {"message_id": 4711, "date": 1764633600, "chat": {"id": 1, "type": "private"}},
    "messaging_product": "whatsapp",
    "messages": [{"id": "wamid.e2e"}],
    "recipient_id": "e2e",
    "message_id": "m_e2e",
}


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bots(platform: Upstream) -> dict[str, Any]:
    def upstream(kind: str, path: str, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "url": f"{platform.base}{path}", "retries": 0, **extra}

    return {
        HOOK_BOT: {"upstream": upstream("webhook", "/deliver", token="e2e-hook-SECRET-c81d")},
        TELEGRAM_BOT: {
            "upstream": upstream("telegram", f"/bot{TG_REAL}"),
            "proxy_token_sha256": sha256(TG_PROXY),
        },
        WHATSAPP_BOT: {
            "upstream": upstream("whatsapp", f"/v21.0/{PHONE_ID}/messages", token=WA_REAL),
            "proxy_token_sha256": sha256(WA_PROXY),
        },
        MESSENGER_BOT: {
            "upstream": upstream("messenger", f"/v21.0/{PAGE_ID}/messages", token=FB_REAL),
            "proxy_token_sha256": sha256(FB_PROXY),
        },
    }


@dataclass
class Driver:
    """Drives one gateway over HTTP as an engine and a platform would."""

    client: TestClient
    clock: Clock

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.client.app.state.gateway  # type: ignore[attr-defined]
        return gateway

    def post(self, path: str, body: Json, *, status: int = 200) -> Json:
        response = self.client.post(path, json=body, headers=AUTH)
        assert response.status_code == status, response.text
        data: Json = response.json()
        return data

    def say(self, bot: str, user: str, text: str, *, locale: str | None = None) -> Json:
        """The user writes ``text`` a minute ago (so the bot's next message is a reply)."""
        event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": text,
                 "ts": (self.clock() - timedelta(minutes=1)).isoformat()}  # fmt: skip
        if locale is not None:
            event["locale"] = locale
        return self.post("/v1/events", event)

    def engage(self, bot: str, user: str) -> None:
        """Five messages over three days, the last 5 h ago: engaged, no reply pending."""
        engage(self.client, bot, user, self.clock())

    def decide(
        self, bot: str, user: str, text: str, *, kind: str = "reply", context: Json | None = None
    ) -> Json:
        """``/v1/outreach/check`` for a Messenger message; ``context``: the request's
        ``user`` (time zone, locale, jurisdiction)."""
        body: Json = {"bot_id": bot, "user_id": user, "channel": "messenger", "kind": kind,
                "text": text}  # fmt: skip
        if context is not None:
            body["user"] = context
        return self.post("/v1/outreach/check", body)


@dataclass
class Deployed(Driver):
    """The gateway with the shipped stack, and what it talks to."""

    store: str
    review: Upstream
    """The operator's review webhook (a local receiver)."""
    platform: Upstream
    """The upstream platforms the bots deliver to (a local fake, shared by all)."""

    @property
    def batcher(self) -> MicroBatcher:
        batcher = self.gateway.classifiers
        assert batcher is not None, f"no classifier stack: {self.gateway.classifiers_state}"
        return batcher

    def stack_saw(self, text: str, role: Role) -> TextScores | None:
        """The scores the loaded stack gave ``text`` (None: the stack never classified it)."""
        return self.batcher.cached(text, role)

    def review_of(self, bot: str) -> Json:
        """The review notice about ``bot``, once delivered (signed with the review secret)."""
        notice = self.review.wait_for(lambda r: _json(r).get("bot_id") == bot)
        assert verify(REVIEW_SECRET, notice.body, notice.headers[SIGNATURE_HEADER.lower()])
        return _json(notice)

    def delivered_to(self, user: str) -> list[Recorded]:
        """Requests the fake platforms received that name ``user`` (in body or query)."""
        return [r for r in self.platform.requests if user in r.body.decode() + r.path]


def _json(recorded: Recorded) -> Json:
    try:
        data = json.loads(recorded.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@pytest.fixture(scope="package")
def review_hook() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture(scope="package")
def platform() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        upstream.default = Reply(200, PLATFORM_OK)
        yield upstream


def wait_until_loaded(client: TestClient, ready: bool = True) -> str:
    """Poll ``/readyz`` until the classifier stack is done loading (and the gateway is
    ready, unless ``ready=False``: a stack that failed leaves it unready); its state."""
    deadline = time.monotonic() + LOAD_HANG_S
    while True:
        answer = client.get("/readyz")
        state = str(answer.json().get("classifiers"))
        if (answer.status_code == 200 or not ready) and state != "loading":
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"the classifier stack is still {state!r} after {LOAD_HANG_S:g} s")
        time.sleep(0.05)


def _join_pii_warm_up() -> None:
    """Wait for the PII warm-up the gateway starts beside the loader, so the first decision
    that needs spaCy does not race its load against the analysis timeout."""
    for thread in threading.enumerate():
        if thread.name == "warm-pii":
            thread.join(LOAD_HANG_S)


def _drop_prefix(prefix: str) -> None:
    client = redis_sync.Redis.from_url(REDIS_URL)
    names = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if names:
        client.delete(*names)


@pytest.fixture(scope="package", params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def deployed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    review_hook: Upstream,
    platform: Upstream,
) -> Iterator[Deployed]:
    """The gateway with the shipped classifier stack, on each store in turn."""
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    prefix = f"e2e{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        store: dict[str, Any] = {"db": str(folder / "state.db")}
    else:
        if not redis_available():
            pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
        store = {"redis_url": REDIS_URL, "redis_prefix": prefix,
                 "audit_db": str(folder / "audit.db")}  # fmt: skip
    settings = Settings(
        api_key=API_KEY,
        classifiers=True,  # production's default; the suite's environment turns it off
        assessor="classifier",
        review_webhook={"url": f"{review_hook.base}/review", "secret": REVIEW_SECRET},
        bots=_bots(platform),
        **store,
    )
    clock = Clock(NOW)
    with TestClient(create_app(settings, clock=clock, policy_poll_s=None)) as client:
        deployed = Deployed(client, clock, request.param, review_hook, platform)
        state = wait_until_loaded(client)
        why = deployed.gateway.classifiers_state
        assert state == "ready", f"the shipped stack did not load: {why}"
        _join_pii_warm_up()
        yield deployed
    if request.param == "redis":
        _drop_prefix(prefix)
