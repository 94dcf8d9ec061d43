"""python-telegram-bot, configured as its users do (``Bot(token, base_url=...)``), against
a running gateway whose upstream is a local fake Bot API that records what it receives.

The bot's client holds only its proxy token; guardrail finds the bot by it and delivers
with the real token. Refused messages raise the library's own exceptions and never reach
the fake Bot API; form, multipart, JSON and query-string calls are all guarded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import telegram
from telegram.error import BadRequest, Forbidden, InvalidToken

from tests.proxy_support import NOW, serve_gateway, sha256, user_wrote, warm_up
from tests.test_api import PROACTIVE_TEXT
from tests.upstream import Reply, Upstream, serve_upstream

REAL = "7012345678:AAE-real-SECRET-kq8Zr"
PROXY = "7012345678:proxy-token-for-maestro-Qm2"
MEDIA_PROXY = "7012345679:proxy-token-for-gallery-Xp4"
LOCKED_PROXY = "7012345670:proxy-token-for-locked-Vb9"
RESULT = {
    # One body every call can parse: getMe reads a User, send*/edit* a Message.
    "id": 7012345678,
    "is_bot": True,
    "first_name": "Maestro",
    "username": "maestro_bot",
    "message_id": 4711,
    "date": 1764633600,
    "chat": {"id": 1, "type": "private"},
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with serve_upstream() as up:
        up.default = Reply(200, {"ok": True, "result": RESULT})
        yield up


@pytest.fixture(scope="module")
def gateway(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("tg-proxy")

    def bot(token: str, **extra: Any) -> dict[str, Any]:
        up = {"type": "telegram", "url": f"{upstream.base}/bot{REAL}", "retries": 0}
        return {"upstream": up, "proxy_token_sha256": sha256(token), **extra}

    bots = {
        "maestro": bot(PROXY),
        "gallery": bot(MEDIA_PROXY, proxy_media="pass"),
        "locked": bot(LOCKED_PROXY, proxy_unguarded="refuse"),
    }
    with serve_gateway(
        db=str(folder / "state.db"), audit_db=str(folder / "a.db"), bots=bots
    ) as url:
        warm_up(url, "maestro", "telegram")
        yield url


@pytest.fixture(autouse=True)
def _fresh(upstream: Upstream) -> None:
    upstream.requests.clear()


def client(gateway: str, token: str = PROXY) -> telegram.Bot:
    """The one line a python-telegram-bot user changes: ``base_url``."""
    return telegram.Bot(
        token,
        base_url=f"{gateway}/v1/proxy/telegram/bot",
        base_file_url=f"{gateway}/v1/proxy/telegram/file/bot",
    )


def chat() -> int:
    return 10**9 + uuid.uuid4().int % 10**9


def sent(upstream: Upstream, method: str) -> list[Any]:
    return [r for r in upstream.requests if r.path.split("?")[0].endswith(f"/{method}")]


async def test_refused_message_raises_forbidden_and_never_leaves(
    gateway: str, upstream: Upstream
) -> None:
    async with client(gateway) as bot:  # initialize() calls getMe: passed through
        with pytest.raises(Forbidden, match="blocked by guardrail: user_first"):
            await bot.send_message(chat(), PROACTIVE_TEXT)
        with pytest.raises(Forbidden, match="blocked by guardrail: user_first"):
            await bot.edit_message_text(PROACTIVE_TEXT, chat_id=chat(), message_id=12)
    assert sent(upstream, "sendMessage") == [] and sent(upstream, "editMessageText") == []
    [get_me] = sent(upstream, "getMe")
    assert get_me.path == f"/bot{REAL}/getMe"


async def test_allowed_message_arrives_once_with_the_real_token(
    gateway: str, upstream: Upstream
) -> None:
    user = chat()
    user_wrote(gateway, "maestro", str(user))
    async with client(gateway) as bot:
        message = await bot.send_message(user, PROACTIVE_TEXT, parse_mode="HTML")
    assert message.message_id == 4711
    [req] = sent(upstream, "sendMessage")
    assert req.path == f"/bot{REAL}/sendMessage"
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
    assert form == {"chat_id": str(user), "text": PROACTIVE_TEXT, "parse_mode": "HTML"}
    assert all(PROXY not in r.path and PROXY not in r.body.decode() for r in upstream.requests)

    # The delivered message counts: a second nudge before the user answers is refused.
    async with client(gateway) as bot:
        with pytest.raises(Forbidden, match="blocked by guardrail: unanswered"):
            await bot.send_message(user, "Still there?")
    assert len(sent(upstream, "sendMessage")) == 1


async def test_multipart_media_refused_unless_the_bot_allows_it(
    gateway: str, upstream: Upstream
) -> None:
    user = chat()
    user_wrote(gateway, "maestro", str(user))
    user_wrote(gateway, "gallery", str(user))
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    async with client(gateway) as bot:
        with pytest.raises(Forbidden, match="refused by guardrail: photo cannot be inspected"):
            await bot.send_photo(user, photo, caption="look at this")
    assert sent(upstream, "sendPhoto") == []

    async with client(gateway, MEDIA_PROXY) as bot:
        # The caption is guarded like text: a stranger is refused...
        with pytest.raises(Forbidden, match="blocked by guardrail: user_first"):
            await bot.send_photo(chat(), photo, caption="look at this")
        # ...an engaged user gets the photo, uninspected and byte for byte.
        await bot.send_photo(user, photo, caption=PROACTIVE_TEXT)
    [req] = sent(upstream, "sendPhoto")
    assert req.path == f"/bot{REAL}/sendPhoto"
    assert req.headers["content-type"].startswith("multipart/form-data")
    assert photo in req.body and PROACTIVE_TEXT.encode() in req.body


async def test_json_and_query_string_bodies_are_guarded(gateway: str, upstream: Upstream) -> None:
    url = f"{gateway}/v1/proxy/telegram/bot{PROXY}/sendMessage"
    async with httpx.AsyncClient(timeout=60) as http:
        refused = await http.post(url, json={"chat_id": chat(), "text": PROACTIVE_TEXT})
        assert refused.status_code == 403
        assert refused.json()["description"] == "Forbidden: blocked by guardrail: user_first"
        query = await http.get(url, params={"chat_id": chat(), "text": PROACTIVE_TEXT})
        assert query.status_code == 403
        assert query.json()["guardrail"]["rules"] == ["user_first"]
        assert sent(upstream, "sendMessage") == []

        user = chat()
        user_wrote(gateway, "maestro", str(user))
        body = {"chat_id": user, "text": PROACTIVE_TEXT, "reply_markup": {"inline_keyboard": []}}
        allowed = await http.post(url, json=body)
        assert allowed.status_code == 200, allowed.text
        assert allowed.json()["ok"] is True
        assert allowed.headers["x-guardrail-verdict"] == "allow"
    [req] = sent(upstream, "sendMessage")
    assert req.path == f"/bot{REAL}/sendMessage"
    assert req.json == body


async def test_pass_through_methods_and_their_refusal(gateway: str, upstream: Upstream) -> None:
    upstream.script(
        Reply(200, {"ok": True, "result": RESULT}), Reply(200, {"ok": True, "result": []})
    )
    async with client(gateway) as bot:
        assert await bot.get_updates(timeout=0) == ()
    [updates] = sent(upstream, "getUpdates")
    assert updates.path == f"/bot{REAL}/getUpdates"

    # A bot configured to refuse unguarded methods cannot even start its client.
    with pytest.raises(Forbidden, match="getMe is not allowed through the proxy"):
        async with client(gateway, LOCKED_PROXY):
            pass
    assert sent(upstream, "getMe") == [sent(upstream, "getMe")[0]]  # only maestro's


async def test_unknown_token_and_bad_calls(gateway: str, upstream: Upstream) -> None:
    with pytest.raises(InvalidToken):
        async with client(gateway, "7012345678:not-a-known-token"):
            pass
    async with client(gateway) as bot:
        with pytest.raises(BadRequest, match=r"(?i)chat_id is required"):
            await bot.edit_message_text("hi", inline_message_id="AgAAA")
    async with httpx.AsyncClient(timeout=60) as http:
        url = f"{gateway}/v1/proxy/telegram/bot{PROXY}/sendMessage"
        broken = await http.post(
            url, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and broken.json()["ok"] is False
        odd = await http.post(url, content=b"\x00\x01", headers={"content-type": "image/png"})
        assert odd.status_code == 400
    assert sent(upstream, "sendMessage") == [] and sent(upstream, "editMessageText") == []


async def test_user_messages_polled_through_the_proxy_are_recorded(
    gateway: str, upstream: Upstream
) -> None:
    """What a user wrote reaches guardrail from Telegram itself, in the getUpdates answer
    the bot polls through the proxy; the bot's reply is then a reply, and goes out."""
    user = chat()
    person = {"id": user, "is_bot": False, "first_name": "Ana", "language_code": "fr"}
    update = {
        "update_id": uuid.uuid4().int % 10**9,
        "message": {
            "message_id": 17,
            "from": person,
            "chat": {"id": user, "type": "private", "first_name": "Ana"},
            "date": int(NOW.timestamp()) - 60,
            "text": "any concerts this week?",
        },
    }
    upstream.script(
        Reply(200, {"ok": True, "result": RESULT}),  # getMe
        Reply(200, {"ok": True, "result": [update]}),  # getUpdates
    )
    async with client(gateway) as bot:
        [got] = await bot.get_updates(timeout=0)
        assert got.message is not None and got.message.text == "any concerts this week?"
        await bot.send_message(user, "Two jazz nights, Thursday and Saturday!")
    assert len(sent(upstream, "sendMessage")) == 1


async def test_a_rewritten_text_is_what_arrives(gateway: str, upstream: Upstream) -> None:
    """The policy masks an IBAN: the delivered text is guardrail's, with the bot's other
    parameters kept; a poll (several texts, no single place to rewrite) is refused."""
    user = chat()
    user_wrote(gateway, "maestro", str(user))
    iban = "DE89 3704 0044 0532 0130 00"
    async with client(gateway) as bot:
        with pytest.raises(Forbidden, match="no single text to rewrite"):
            await bot.send_poll(user, f"Refund to {iban}?", ["yes", "no"])
        await bot.send_message(user, f"Your refund goes to {iban} today.", parse_mode="HTML")
    [req] = sent(upstream, "sendMessage")
    form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
    assert "3704 0044" not in form["text"] and form["text"].startswith("Your refund goes to ")
    assert form["parse_mode"] == "HTML" and form["chat_id"] == str(user)
    assert sent(upstream, "sendPoll") == []


async def test_paths_that_climb_out_are_refused(gateway: str, upstream: Upstream) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for path in (f"bot{PROXY}/%2E%2E", f"file/bot{PROXY}/%2E%2E/%2E%2E/getMe"):
            response = await http.get(f"{gateway}/v1/proxy/telegram/{path}")
            assert response.status_code == 404, response.text
            assert response.json()["ok"] is False
    assert upstream.requests == []
