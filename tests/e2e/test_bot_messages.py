"""What bots send, judged by the shipped stack on every path a deployment offers: the
decision API (check), decide-and-deliver (send) and the platform proxies (Telegram's Bot
API, the Graph API for WhatsApp and Messenger). Encouragement of self-harm and abuse are
refused and never reach the platform; supportive messages go through unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from classifiers.floor import default_floor
from tests.e2e.conftest import (
    FB_PROXY,
    FB_REAL,
    HOOK_BOT,
    MESSENGER_BOT,
    PAGE_ID,
    PHONE_ID,
    TELEGRAM_BOT,
    TG_PROXY,
    TG_REAL,
    WA_PROXY,
    WA_REAL,
    WHATSAPP_BOT,
    Deployed,
)
from tests.e2e.texts import ENCOURAGEMENT, EVERYDAY_USER, FRIENDLY, SUPPORTIVE, TOXIC

pytestmark = pytest.mark.e2e

Uid = Callable[[str], str]
Json = dict[str, Any]


def blocking_rule(text: str) -> str:
    """The rule that refuses an encouraging message: the floor when it sees it (it runs
    first), else the trained bot check."""
    seen = default_floor().scan(text).encouragement
    return "self_harm_content" if seen else "self_harm_classifier"


def test_some_encouragement_is_beyond_the_lexicon() -> None:
    """The cases below exercise the trained check, not only the floor: some of their
    wording is one the lexicon does not see (else pick new wording)."""
    assert {blocking_rule(t) for t in ENCOURAGEMENT.values()} == {
        "self_harm_content",
        "self_harm_classifier",
    }


def _chatting(deployed: Deployed, bot: str, user: str) -> None:
    """A user who is engaged and wrote a minute ago: the bot's next message is a reply."""
    deployed.engage(bot, user)
    deployed.say(bot, user, EVERYDAY_USER["en"])


# --------------------------------------------------------------------------- check


@pytest.mark.parametrize("case", sorted(ENCOURAGEMENT))
def test_check_blocks_encouragement(deployed: Deployed, uid: Uid, case: str) -> None:
    bot, user = uid("companion"), uid("ada")
    _chatting(deployed, bot, user)
    text = ENCOURAGEMENT[case]
    decision = deployed.decide(bot, user, text)
    assert decision["verdict"] == "block" and decision["text"] is None, decision
    rule = blocking_rule(text)
    assert rule in [r["rule"] for r in decision["reasons"]]
    if rule == "self_harm_classifier":  # the trained check decided: the stack saw it
        assert deployed.stack_saw(text, "bot") is not None


@pytest.mark.parametrize("lang", sorted(SUPPORTIVE))
def test_check_allows_supportive_replies(deployed: Deployed, uid: Uid, lang: str) -> None:
    bot, user = uid("companion"), uid("ben")
    _chatting(deployed, bot, user)
    decision = deployed.decide(bot, user, SUPPORTIVE[lang])
    assert decision["verdict"] == "allow" and decision["text"] == SUPPORTIVE[lang], decision
    assert [r for r in decision["reasons"] if r["effect"] != "info"] == [], decision
    assert deployed.stack_saw(SUPPORTIVE[lang], "bot") is not None


@pytest.mark.parametrize("lang", sorted(TOXIC))
def test_check_blocks_toxicity(deployed: Deployed, uid: Uid, lang: str) -> None:
    bot, user = uid("companion"), uid("cy")
    _chatting(deployed, bot, user)
    decision = deployed.decide(bot, user, TOXIC[lang])
    assert decision["verdict"] == "block", decision
    (reason,) = [r for r in decision["reasons"] if r["effect"] == "block"]
    assert reason["rule"] == "toxicity" and reason["labels"], reason


# --------------------------------------------------------------------------- send


def test_send_delivers_support_and_keeps_encouragement_from_the_platform(
    deployed: Deployed, uid: Uid
) -> None:
    refused, helped = uid("dee"), uid("eve")
    for user in (refused, helped):
        _chatting(deployed, HOOK_BOT, user)

    def send(user: str, text: str) -> Json:
        body = {"bot_id": HOOK_BOT, "user_id": user, "channel": "messenger", "kind": "reply",
                "text": text}  # fmt: skip
        return deployed.post("/v1/outreach/send", body)

    blocked = send(refused, ENCOURAGEMENT["en-worded"])
    assert blocked["verdict"] == "block" and blocked.get("delivery") is None, blocked
    assert deployed.delivered_to(refused) == []

    sent = send(helped, SUPPORTIVE["en"])
    assert sent["verdict"] == "allow" and sent["delivery"]["status"] == "delivered", sent
    (delivered,) = deployed.delivered_to(helped)
    assert delivered.path == "/deliver" and delivered.json["text"] == SUPPORTIVE["en"]


# --------------------------------------------------------------------------- proxies


def _telegram(deployed: Deployed, chat: str, text: str) -> Any:
    """A Bot API ``sendMessage``, as a bot's own client sends it, to guardrail's proxy."""
    path = f"/v1/proxy/telegram/bot{TG_PROXY}/sendMessage"
    return deployed.client.post(path, json={"chat_id": int(chat), "text": text})


def _whatsapp(deployed: Deployed, phone: str, text: str) -> Any:
    """A Cloud API ``/messages`` call, with the bot's proxy token."""
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": phone,
            "type": "text", "text": {"preview_url": False, "body": text}}  # fmt: skip
    headers = {"Authorization": f"Bearer {WA_PROXY}"}
    return deployed.client.post(f"/v1/proxy/graph/v21.0/{PHONE_ID}/messages", json=body,
                                headers=headers)  # fmt: skip


def _messenger(deployed: Deployed, psid: str, text: str) -> Any:
    """A Send API call for a page, with the bot's proxy token."""
    body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
    headers = {"Authorization": f"Bearer {FB_PROXY}"}
    return deployed.client.post(f"/v1/proxy/graph/v21.0/{PAGE_ID}/messages", json=body,
                                headers=headers)  # fmt: skip


def _refused_rules(response: Any) -> list[str]:
    """The rules a platform-shaped refusal names (Telegram's ``guardrail``, Graph's
    ``error_data``)."""
    body = response.json()
    found = body["guardrail"] if "guardrail" in body else body["error"]["error_data"]
    rules: list[str] = found["rules"]
    return rules


PROXIES: dict[str, tuple[str, Callable[[Deployed, str, str], Any], int]] = {
    "telegram": (TELEGRAM_BOT, _telegram, 403),
    "whatsapp": (WHATSAPP_BOT, _whatsapp, 400),
    "messenger": (MESSENGER_BOT, _messenger, 400),
}
DELIVERED_TEXT: dict[str, Callable[[Json], str]] = {
    "telegram": lambda body: str(body["text"]),
    "whatsapp": lambda body: str(body["text"]["body"]),
    "messenger": lambda body: str(body["message"]["text"]),
}


def platform_user() -> str:
    """A numeric id (a Telegram chat, a phone number, a page-scoped id), unique per call."""
    return "336" + str(uuid.uuid4().int % 10**8).zfill(8)


@pytest.mark.parametrize("proxy", sorted(PROXIES))
def test_each_proxy_refuses_encouragement_and_abuse_and_passes_support(
    deployed: Deployed, proxy: str
) -> None:
    """Proactive messages to engaged users through the proxy a bot's unchanged client
    calls: the refused ones get the platform's own error shape and never leave; the
    supportive one arrives as written, sent with the real token."""
    bot, call, refused_status = PROXIES[proxy]
    refusals = {"encouragement": ENCOURAGEMENT["fr-worded"], "toxicity": TOXIC["en"]}
    for what, text in refusals.items():
        user = platform_user()
        deployed.engage(bot, user)
        response = call(deployed, user, text)
        assert response.status_code == refused_status, response.text
        assert response.headers["x-guardrail-verdict"] == "block"
        expected = "toxicity" if what == "toxicity" else blocking_rule(text)
        assert _refused_rules(response) == [expected]
        assert deployed.delivered_to(user) == []

    user = platform_user()
    deployed.engage(bot, user)
    passed = call(deployed, user, SUPPORTIVE["fr"])
    assert passed.status_code == 200, passed.text
    assert passed.headers["x-guardrail-verdict"] == "allow"
    (delivered,) = deployed.delivered_to(user)
    assert DELIVERED_TEXT[proxy](delivered.json) == SUPPORTIVE["fr"]
    sent_as = delivered.path + delivered.body.decode() + str(delivered.headers)
    assert not [token for token in (TG_PROXY, WA_PROXY, FB_PROXY) if token in sent_as]
    if proxy == "telegram":
        assert delivered.path == f"/bot{TG_REAL}/sendMessage"
    else:
        real = WA_REAL if proxy == "whatsapp" else FB_REAL
        assert delivered.headers["authorization"] == f"Bearer {real}"


def test_a_friendly_nudge_goes_through_every_proxy(deployed: Deployed) -> None:
    """The stack refuses nothing ordinary, whichever path a message takes."""
    for proxy, (bot, call, _) in sorted(PROXIES.items()):
        user = platform_user()
        deployed.engage(bot, user)
        response = call(deployed, user, FRIENDLY)
        assert response.status_code == 200, (proxy, response.text)
        (delivered,) = deployed.delivered_to(user)
        assert DELIVERED_TEXT[proxy](delivered.json) == FRIENDLY
