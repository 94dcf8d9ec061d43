"""The YES trap (issue #24, point 1), through every channel and on both stores.

After STOP the bot may send one confirmation. If it asks "Reply YES to confirm you want to
unsubscribe", or offers a button it labelled, the user's "yes" must not re-subscribe them:
a re-subscription needs the user's own explicit words (START, UNSTOP, their French
equivalents), typed, never a generic affirmative and never a choice the bot wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.channel_support import (
    FB_PROXY,
    INGEST,
    PAGE_ID,
    PHONE_ID,
    TG_PROXY,
    WA_PROXY,
    Json,
    MakeClient,
    channels,
    fb_item,
    graph_send,
    make_channels,
    messenger,
    opted_out,
    post_event,
    telegram,
    tg_update,
    wa_message,
    whatsapp,
)
from tests.conftest import AUTH, Clock
from tests.test_api import Uid, enforcing
from tests.upstream import Reply, Upstream, serve_upstream

CHANNELS = [
    "ingest",
    "bot-forwarded",
    "whatsapp",
    "whatsapp-template-button",
    "messenger",
    "messenger-postback",
    "telegram",
]


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with serve_upstream() as up:
        up.default = Reply(200, {"ok": True, "result": []})
        yield up


@pytest.fixture
def client(make_client: MakeClient, upstream: Upstream) -> TestClient:
    return make_channels(make_client, upstream)


@pytest.mark.parametrize("name", CHANNELS)
def test_only_the_users_own_start_re_subscribes(
    client: TestClient, upstream: Upstream, clock: Clock, uid: Uid, name: str
) -> None:
    ch = next(c for c in channels(client, upstream, uid("u")) if c.name == name)
    start = clock() - timedelta(minutes=20)
    ch.say("STOP", start)
    assert opted_out(client, ch, clock), name
    # What a "Reply YES to confirm" confirmation solicits: typed affirmatives...
    for minute, text in enumerate(["yes", "YES!", "Yes please", "oui", "OUI je confirme", "ok"]):
        ch.say(text, start + timedelta(minutes=1 + minute))
        assert opted_out(client, ch, clock), (name, text)
    # ...and the bot's own buttons or quick replies, even one labelled START.
    if ch.tap is not None:
        for minute, label in enumerate(["Yes", "Oui", "START", "Resubscribe"]):
            ch.tap(label, start + timedelta(minutes=8 + minute))
            assert opted_out(client, ch, clock), (name, label)
    # The user's own word does it.
    ch.say("START", start + timedelta(minutes=15))
    assert not opted_out(client, ch, clock), name


@pytest.mark.parametrize("name", [c for c in CHANNELS if c != "bot-forwarded"])
def test_a_tap_may_still_opt_out(
    client: TestClient, upstream: Upstream, clock: Clock, uid: Uid, name: str
) -> None:
    """The asymmetry is deliberate: the bot's "Stop promotions" button is the user's STOP."""
    ch = next(c for c in channels(client, upstream, uid("u")) if c.name == name)
    assert ch.tap is not None
    ch.tap("Stop", clock() - timedelta(minutes=3))
    assert opted_out(client, ch, clock), name


def test_the_event_result_says_why_a_yes_is_no_opt_in(
    client: TestClient, clock: Clock, uid: Uid
) -> None:
    bot, user = "api-bot", uid("ana")
    ts = clock() - timedelta(minutes=10)
    post_event(client, INGEST, bot_id=bot, user_id=user, text="STOP", ts=ts)
    yes = post_event(
        client, INGEST, bot_id=bot, user_id=user, text="Yes!", ts=ts + timedelta(minutes=1)
    )
    assert (yes["consent"], yes["consent_applied"], yes["consent_source"]) == (
        "opted_out",
        False,
        "ingest",
    )
    assert "generic affirmative" in yes["detail"] and "still opted out" in yes["detail"]
    tapped = post_event(
        client,
        INGEST,
        bot_id=bot,
        user_id=user,
        text="START",
        ts=ts + timedelta(minutes=2),
        choice=True,
    )
    assert tapped["consent_applied"] is False and "choice the bot offered" in tapped["detail"]
    # A platform-level opt-in (an opt_in event on the platform's word) still works.
    back = post_event(client, INGEST, type="opt_in", bot_id=bot, user_id=user, ts=clock())
    assert (back["consent"], back["consent_applied"]) == ("opted_in", True)


# --------------------------------------------------------------------------- the confirmation

ASKS = "Sorry to see you go! Reply YES to confirm you want to unsubscribe."
EN_TEMPLATE = "You're unsubscribed: you won't get any more messages from us."
FR_TEMPLATE = "C'est noté : vous ne recevrez plus de messages de notre part."


def reply(client: TestClient, bot: str, to: str, text: str, **extra: object) -> Json:
    body = {"bot_id": bot, "user_id": to, "channel": "messenger", "kind": "reply", "text": text}
    response = client.post("/v1/outreach/check", json=body | extra, headers=AUTH)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def stopped(client: TestClient, clock: Clock, user: str, bot: str = "api-bot") -> None:
    post_event(client, INGEST, bot_id=bot, user_id=user, text="STOP", ts=clock())
    clock.advance(seconds=30)


def test_a_confirmation_that_asks_yes_goes_out_as_the_policys_own(
    client: TestClient, clock: Clock, uid: Uid
) -> None:
    user = uid("ana")
    stopped(client, clock, user)
    decision = reply(client, "api-bot", user, ASKS)
    assert (decision["verdict"], decision["text"]) == ("rewrite", EN_TEMPLATE)
    (reason,) = [r for r in decision["reasons"] if r["rule"] == "opt_out"]
    assert reason["effect"] == "rewrite" and "'reply yes'" in reason["detail"]
    # It was the one reply: the next one is refused until the user writes again.
    again = reply(client, "api-bot", user, "Are you sure though?")
    assert enforcing(again) == ["opt_out"]


@pytest.mark.parametrize(
    "text",
    [
        "You're unsubscribed. Reply START to resubscribe.",
        "Are you sure? We'll miss you 😢",
        "Voulez-vous vraiment vous désabonner ? Répondez OUI pour confirmer.",
        "C'est noté. Si vous changez d'avis, écrivez START.",
        "Done.\nKeep my messages\nUnsubscribe",  # a list of buttons, as the proxy sees them
        "Got it.\nYes\nNo",
    ],
)
def test_every_kind_of_solicitation_is_replaced(
    client: TestClient, clock: Clock, uid: Uid, text: str
) -> None:
    user = uid("bo")
    stopped(client, clock, user)
    decision = reply(client, "api-bot", user, text, user={"locale": "fr-FR"})
    assert (decision["verdict"], decision["text"]) == ("rewrite", FR_TEMPLATE), text


def test_a_plain_confirmation_goes_out_as_written(
    client: TestClient, clock: Clock, uid: Uid
) -> None:
    user = uid("cy")
    stopped(client, clock, user)
    text = "Done, no more messages from me. Take care!"
    decision = reply(client, "api-bot", user, text)
    assert (decision["verdict"], decision["text"]) == ("allow", text)


def test_the_policy_may_block_it_or_always_send_its_own(
    make_client: MakeClient, upstream: Upstream, clock: Clock, uid: Uid, tmp_path: Path
) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text("name: strict\nrules:\n  opt_out: {solicitation: block}\n")
    client = make_channels(make_client, upstream, policy=strict)
    user = uid("dee")
    stopped(client, clock, user)
    blocked = reply(client, "api-bot", user, ASKS)
    assert blocked["verdict"] == "block" and enforcing(blocked) == ["opt_out"]
    assert "solicitation: block" in blocked["reasons"][-1]["detail"]

    own = tmp_path / "own.yaml"
    own.write_text(
        "name: own\nrules:\n  opt_out:\n    confirmation: template\n"
        "    confirmation_text: {en: 'Unsubscribed. Bye!'}\n"
    )
    client = make_channels(make_client, upstream, policy=own)
    user = uid("eve")
    stopped(client, clock, user)
    decision = reply(
        client, "api-bot", user, "Okay, you won't hear from me.", user={"locale": "fr"}
    )
    assert (decision["verdict"], decision["text"]) == ("rewrite", "Unsubscribed. Bye!")


def test_whatsapp_buttons_in_the_confirmation_are_refused_by_the_proxy(
    client: TestClient, upstream: Upstream, clock: Clock, uid: Uid
) -> None:
    """A rewritten message with several texts cannot be placed: the call is refused and
    never reaches WhatsApp."""
    user = "3361" + str(uuid.uuid4().int % 10**7).zfill(7)
    whatsapp(client, wa_message(user, clock() - timedelta(seconds=30), "text", "STOP"))
    buttons = [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in
               (("y", "Yes"), ("n", "No"))]  # fmt: skip
    body = {"messaging_product": "whatsapp", "to": user, "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "Confirm you want to leave?"},
                            "action": {"buttons": buttons}}}  # fmt: skip
    upstream.requests.clear()
    refused = graph_send(client, WA_PROXY, PHONE_ID, body)
    assert refused.status_code == 400, refused.text
    assert "refused by guardrail: the policy rewrites this message" in refused.text
    assert upstream.requests == []


def test_a_messenger_quick_reply_confirmation_is_refused_by_the_proxy(
    client: TestClient, upstream: Upstream, clock: Clock, uid: Uid
) -> None:
    psid = uid("psid")
    messenger(client, fb_item(psid, clock() - timedelta(seconds=30), "text", "stop"))
    body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE",
            "message": {"text": "Unsubscribed. Want to stay?",
                        "quick_replies": [{"content_type": "text", "title": "Keep messages",
                                           "payload": "KEEP"}]}}  # fmt: skip
    upstream.requests.clear()
    refused = graph_send(client, FB_PROXY, PAGE_ID, body)
    assert refused.status_code == 400, refused.text
    assert upstream.requests == []


def test_a_telegram_confirmation_is_delivered_as_the_policys_own(
    client: TestClient, upstream: Upstream, clock: Clock
) -> None:
    chat = 10**9 + uuid.uuid4().int % 10**9
    telegram(client, upstream, tg_update(chat, clock() - timedelta(seconds=30), "text", "STOP"))
    upstream.requests.clear()
    upstream.script(Reply(200, {"ok": True, "result": {"message_id": 1}}))
    url = f"/v1/proxy/telegram/bot{TG_PROXY}/sendMessage"
    sent = client.post(url, json={"chat_id": chat, "text": "Reply YES to confirm 🙏"})
    assert sent.status_code == 200, sent.text
    [delivered] = upstream.requests
    assert delivered.json["text"] == EN_TEMPLATE
