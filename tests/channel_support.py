"""One gateway with every way a user's words reach guardrail, for consent tests that must
hold on each channel: the ingest key, the bot's own key (a forwarding engine), the signed
WhatsApp webhook (typed text, a tapped reply button, a template's quick-reply button), the
signed Messenger webhook (typed text, a quick reply, a postback) and Telegram updates read
by the proxy (typed text, an inline keyboard's callback). Real HTTP, real stores.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.proxy_support import sha256
from tests.test_api import check, enforcing
from tests.upstream import Reply, Upstream

Json = dict[str, Any]
MakeClient = Callable[..., TestClient]

APP_SECRET = "5d1e8a7c3b9f4e2a6c0b8d7e1f3a5c9b"
PHONE_ID = "106540352242922"
PAGE_ID = "20531316728"
INGEST_KEY = "ingest-key-Zr4Wq8Lm2Xk6"
BOT_KEY = "bot-key-Fh7Tn3Pd9Vc1"
INGEST = {"Authorization": f"Bearer {INGEST_KEY}"}
BOT = {"Authorization": f"Bearer {BOT_KEY}"}
TG_REAL = "7012345678:AAE-real-SECRET-cq3Wm"
TG_PROXY = "7012345678:proxy-token-of-tgbot-Lk7"
TG_PROXY_2 = "7012345679:proxy-token-of-tgbot2-Np3"
WA_PROXY = "wa-proxy-token-of-wabot-Rt5"
FB_PROXY = "fb-proxy-token-of-fbbot-Gy2"

WA_BOT, FB_BOT, TG_BOT, API_BOT = "wa-bot", "fb-bot", "tg-bot", "api-bot"
TG_BOT_2 = "tg-bot-2"


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def make_channels(
    make_client: MakeClient, upstream: Upstream, *forwarding: str, **settings: Any
) -> TestClient:
    """A gateway with an ingest key, a forwarding bot's key (for ``api-bot`` and the bots
    in ``forwarding``), the two Meta webhooks and two Telegram bots polling through the
    proxy (against ``upstream``)."""
    keys = [
        {"name": "platform", "tenant": "default", "role": "ingest", "key": INGEST_KEY},
        {"name": "engine", "tenant": "default", "role": "bot", "key": BOT_KEY},
    ]
    tg = {"type": "telegram", "url": upstream.base, "token": TG_REAL, "retries": 0}
    wa = {"type": "whatsapp", "url": f"{upstream.base}/v21.0/{PHONE_ID}/messages",
          "token": "EAAB-wa-real", "retries": 0}  # fmt: skip
    fb = {"type": "messenger", "url": f"{upstream.base}/v21.0/{PAGE_ID}/messages",
          "token": "EAAB-fb-real", "retries": 0}  # fmt: skip
    bots: dict[str, dict[str, Any]] = {
        API_BOT: {"forwards_user_events": True},
        WA_BOT: {"upstream": wa, "proxy_token_sha256": sha256(WA_PROXY)},
        FB_BOT: {"upstream": fb, "proxy_token_sha256": sha256(FB_PROXY)},
        TG_BOT: {"upstream": tg, "proxy_token_sha256": sha256(TG_PROXY)},
        TG_BOT_2: {"upstream": tg, "proxy_token_sha256": sha256(TG_PROXY_2)},
    }
    for bot in forwarding:
        bots[bot] = {**bots[bot], "forwards_user_events": True}
    return make_client(
        keys=keys,
        bots=bots,
        whatsapp={"app_secret": APP_SECRET, "phone_numbers": {PHONE_ID: {"bot": WA_BOT}}},
        meta={"app_secret": APP_SECRET, "pages": {PAGE_ID: {"bot": FB_BOT}}},
        **settings,
    )


def _signed(client: TestClient, path: str, payload: Json) -> Json:
    body = json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": _sign(body), "Content-Type": "application/json"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def wa_message(user: str, ts: datetime, kind: str, text: str, mid: str | None = None) -> Json:
    """A WhatsApp message: ``text`` typed, a tapped reply ``button`` (interactive), a
    template's quick-reply ``template_button`` or a ``list`` item."""
    message: Json = {"from": user, "id": mid or f"wamid.{uuid.uuid4().hex}",
                     "timestamp": str(int(ts.timestamp()))}  # fmt: skip
    if kind == "text":
        message |= {"type": "text", "text": {"body": text}}
    elif kind == "button":
        reply = {"id": "opt-" + text.lower(), "title": text}
        message |= {"type": "interactive",
                    "interactive": {"type": "button_reply", "button_reply": reply}}  # fmt: skip
    elif kind == "list":
        reply = {"id": "row-1", "title": text, "description": "choose"}
        message |= {"type": "interactive",
                    "interactive": {"type": "list_reply", "list_reply": reply}}  # fmt: skip
    else:
        message |= {"type": "button", "button": {"text": text, "payload": text.upper()}}
    return message


def whatsapp(client: TestClient, *messages: Json) -> Json:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
             "messages": list(messages)}  # fmt: skip
    change = {"field": "messages", "value": value}
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}
    return _signed(client, "/v1/webhooks/whatsapp", payload)


def fb_item(psid: str, ts: datetime, kind: str, text: str, mid: str | None = None) -> Json:
    """A Messenger item: ``text`` typed, a ``quick_reply`` tapped, or a ``postback``."""
    base: Json = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID},
                  "timestamp": int(ts.timestamp() * 1000)}  # fmt: skip
    mid = mid or f"m_{uuid.uuid4().hex}"
    if kind == "text":
        return base | {"message": {"mid": mid, "text": text}}
    if kind == "quick_reply":
        return base | {"message": {"mid": mid, "text": text,
                                   "quick_reply": {"payload": text.upper()}}}  # fmt: skip
    return base | {"postback": {"mid": mid, "title": text, "payload": text.upper()}}


def messenger(client: TestClient, *items: Json) -> Json:
    payload = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": list(items)}]}
    return _signed(client, "/v1/webhooks/meta", payload)


def tg_update(chat: int, ts: datetime, kind: str, text: str, update_id: int | None = None) -> Json:
    """A Telegram update: ``text`` typed, or an inline keyboard ``callback`` (its data)."""
    person = {"id": chat, "is_bot": False, "first_name": "Ana"}
    number = update_id if update_id is not None else uuid.uuid4().int % 10**9
    if kind == "text":
        chat_of = {"id": chat, "type": "private"}
        message = {"message_id": number % 10**6, "from": person, "text": text,
                   "chat": chat_of, "date": int(ts.timestamp())}  # fmt: skip
        return {"update_id": number, "message": message}
    shown = {"message_id": 1, "chat": {"id": chat, "type": "private"}, "date": 1, "text": "?"}
    query = {"id": str(number), "from": person, "message": shown, "data": text,
             "chat_instance": "1"}  # fmt: skip
    return {"update_id": number, "callback_query": query}


def telegram(client: TestClient, upstream: Upstream, *updates: Json, token: str = TG_PROXY) -> Json:
    """The bot polls getUpdates through the proxy; Telegram (``upstream``) answers these."""
    upstream.script(Reply(200, {"ok": True, "result": list(updates)}))
    response = client.post(f"/v1/proxy/telegram/bot{token}/getUpdates", json={"timeout": 0})
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def graph_send(client: TestClient, token: str, page: str, body: Json) -> Any:
    """A Graph API ``/messages`` call through the proxy, as the bot's own client makes it."""
    url = f"/v1/proxy/graph/v21.0/{page}/messages"
    return client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


def post_event(client: TestClient, headers: dict[str, str], **body: Any) -> Json:
    if isinstance(body.get("ts"), datetime):
        body["ts"] = body["ts"].isoformat()
    body.setdefault("type", "user_message")
    response = client.post("/v1/events", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


@dataclass
class Channel:
    """A way the user's words reach guardrail: ``say`` typed text, ``tap`` a choice."""

    name: str
    bot: str
    user: str
    channel: str
    say: Callable[[str, datetime], object]
    tap: Callable[[str, datetime], object] | None


def channels(client: TestClient, upstream: Upstream, tag: str) -> list[Channel]:
    """Every channel, each with a user of its own (``tag`` keeps tests apart on Redis)."""
    digits = "3361" + str(uuid.uuid4().int % 10**7).zfill(7)  # a French mobile: awake at 11:00
    psid = f"psid-{tag}"
    chat = 10**9 + uuid.uuid4().int % 10**9
    api_user = f"user-{tag}"
    return [
        Channel("ingest", API_BOT, api_user, "messenger",
                lambda t, ts: post_event(client, INGEST, bot_id=API_BOT, user_id=api_user,
                                         text=t, ts=ts),
                lambda t, ts: post_event(client, INGEST, bot_id=API_BOT, user_id=api_user,
                                         text=t, ts=ts, choice=True)),
        Channel("bot-forwarded", API_BOT, api_user + "-fw", "messenger",
                lambda t, ts: post_event(client, BOT, bot_id=API_BOT, user_id=api_user + "-fw",
                                         text=t, ts=ts),
                None),
        Channel("whatsapp", WA_BOT, digits, "whatsapp",
                lambda t, ts: whatsapp(client, wa_message(digits, ts, "text", t)),
                lambda t, ts: whatsapp(client, wa_message(digits, ts, "button", t))),
        Channel("whatsapp-template-button", WA_BOT, digits + "9", "whatsapp",
                lambda t, ts: whatsapp(client, wa_message(digits + "9", ts, "text", t)),
                lambda t, ts: whatsapp(client, wa_message(digits + "9", ts, "template", t))),
        Channel("messenger", FB_BOT, psid, "messenger",
                lambda t, ts: messenger(client, fb_item(psid, ts, "text", t)),
                lambda t, ts: messenger(client, fb_item(psid, ts, "quick_reply", t))),
        Channel("messenger-postback", FB_BOT, psid + "-pb", "messenger",
                lambda t, ts: messenger(client, fb_item(psid + "-pb", ts, "text", t)),
                lambda t, ts: messenger(client, fb_item(psid + "-pb", ts, "postback", t))),
        Channel("telegram", TG_BOT, str(chat), "telegram",
                lambda t, ts: telegram(client, upstream, tg_update(chat, ts, "text", t)),
                lambda t, ts: telegram(client, upstream, tg_update(chat, ts, "callback", t))),
    ]  # fmt: skip


def opted_out(client: TestClient, ch: Channel, clock: Clock) -> bool:
    """Whether a proactive message of ``ch.bot`` to its user is blocked by ``opt_out``."""
    decision = check(client, ch.bot, ch.user, channel=ch.channel, kind="proactive")
    return "opt_out" in enforcing(decision)
