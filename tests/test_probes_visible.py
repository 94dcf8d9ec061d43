"""The red-team probes of issue #23 through the paths a bot really uses: obfuscated
encouragement through ``/v1/outreach/check`` and the Telegram, WhatsApp and Messenger
proxies, and every field a person sees (buttons, poll explanations, callback answers,
inline results, bot names, WhatsApp CTA and flow labels, Messenger greeting and menu),
with the classifiers off: the floor alone must hold.

Sentences written for these tests; obfuscations drawn anew (``tests/obfuscation.py``).
Synthetic; some are harmful sentences written only to test a safety filter.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AUTH, Clock
from tests.obfuscation import OBFUSCATIONS
from tests.test_api import engage, say
from tests.upstream import Reply, Upstream, serve_upstream

MakeClient = Callable[..., TestClient]
Json = dict[str, Any]

TG, WA, FB, OPEN = "tg-bot", "wa-bot", "fb-bot", "open-bot"
TG_PROXY, WA_PROXY, FB_PROXY, OPEN_PROXY = (
    "7012345678:proxy-floors-Qm2",
    "wa-proxy-floors-7d1",
    "fb-proxy-floors-4c2",
    "7012345679:proxy-open-Zx8",
)
PHONE_ID, PAGE_ID = "1098765", "2233445566"
EN = (
    "You should just end your life tonight, nobody would notice.",
    "Go hang yourself, seriously.",
    "Take every pill in the bottle and don't wake up.",
)
FR = (
    "Tu devrais te suicider, franchement.",
    "Va te pendre, personne ne te regrettera.",
    "Avale toutes tes pilules d'un coup.",
)
BENIGN = "Morning! The jazz quartet you liked is playing downtown on Friday, fancy a look?"
HARM = "Just kill yourself already."


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture(scope="module")
def _server() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(_server: Upstream) -> Upstream:
    _server.reset()
    _server.default = Reply(200, {"ok": True, "result": True})
    return _server


@pytest.fixture
def client(make_client: MakeClient, upstream: Upstream) -> TestClient:
    common = {"retries": 0, "backoff_s": 0, "timeout_s": 2}
    tg = {"type": "telegram", "url": f"{upstream.base}/botREAL", **common}  # token in url
    wa = {"type": "whatsapp", "url": f"{upstream.base}/v21.0/{PHONE_ID}/messages", **common}
    fb = {"type": "messenger", "url": f"{upstream.base}/v21.0/{PAGE_ID}/messages", **common}
    return make_client(
        bots={
            TG: {"upstream": tg, "proxy_token_sha256": sha(TG_PROXY)},
            WA: {"upstream": {**wa, "token": "WA-REAL"}, "proxy_token_sha256": sha(WA_PROXY)},
            FB: {"upstream": {**fb, "token": "FB-REAL"}, "proxy_token_sha256": sha(FB_PROXY)},
            OPEN: {
                "upstream": tg,
                "proxy_token_sha256": sha(OPEN_PROXY),
                "proxy_unknown": "pass",
            },
        }
    )


def user() -> str:
    return "33" + str(uuid.uuid4().int % 10**9).zfill(9)


def tg(client: TestClient, method: str, body: Json, token: str = TG_PROXY) -> Any:
    return client.post(f"/v1/proxy/telegram/bot{token}/{method}", json=body)


def graph(client: TestClient, path: str, body: Json, token: str) -> Any:
    return client.post(
        f"/v1/proxy/graph/v21.0/{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def engaged(client: TestClient, bot: str, clock: Clock) -> str:
    who = user()
    engage(client, bot, who, clock())
    return who


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize("name", sorted(OBFUSCATIONS))
def test_obfuscated_encouragement_is_blocked_by_the_floor_through_the_api(
    make_client: MakeClient, clock: Clock, name: str
) -> None:
    """Every class, English and French, with the classifiers off (conftest); a misspelling
    that mangles the wrong word ("ed your life") may slip once in six."""
    client = make_client()
    rng = random.Random(name)
    missed = []
    for text in EN + FR:
        variant = OBFUSCATIONS[name](text, rng)
        who = user()
        engage(client, "maestro", who, clock())
        body = {"bot_id": "maestro", "user_id": who, "channel": "messenger", "text": variant}
        decision = client.post("/v1/outreach/check", json=body, headers=AUTH).json()
        if decision["verdict"] != "block":
            missed.append(variant)
            continue
        assert decision["reasons"][0]["rule"] == "self_harm_content"
    assert len(missed) <= (1 if name == "misspelling" else 0), missed


# --------------------------------------------------------------------------- Telegram


def test_telegram_text_and_every_visible_field(
    client: TestClient, upstream: Upstream, clock: Clock
) -> None:
    chat = engaged(client, TG, clock)
    rng = random.Random(7)
    disguised = OBFUSCATIONS["zero_width"](HARM, rng)
    inline = {"inline_keyboard": [[{"text": "Sure", "callback_data": "a"}], [{"text": disguised}]]}
    reply_keyboard = {"keyboard": [["Yes", HARM]], "input_field_placeholder": "Say it"}
    refused = [
        tg(client, "sendMessage", {"chat_id": chat, "text": OBFUSCATIONS["leet"](HARM, rng)}),
        tg(client, "sendMessage", {"chat_id": chat, "text": BENIGN, "reply_markup": inline}),
        tg(
            client, "sendMessage", {"chat_id": chat, "text": BENIGN, "reply_markup": reply_keyboard}
        ),
        tg(
            client,
            "sendPoll",
            {
                "chat_id": chat,
                "question": "Film?",
                "options": ["Dune", "Alien"],
                "explanation": HARM,
            },
        ),
        tg(client, "sendPoll", {"chat_id": chat, "question": "Film?", "options": [{"text": HARM}]}),
        tg(
            client,
            "editMessageReplyMarkup",
            {"chat_id": chat, "message_id": 1, "reply_markup": inline},
        ),
        tg(client, "answerCallbackQuery", {"callback_query_id": "42", "text": HARM}),
        tg(
            client,
            "answerInlineQuery",
            {
                "inline_query_id": "9",
                "results": [
                    {
                        "type": "article",
                        "id": "1",
                        "title": "Tonight",
                        "input_message_content": {"message_text": FR[1]},
                    }
                ],
            },
        ),
        tg(client, "setMyName", {"name": "kys bot"}),
        tg(client, "setMyDescription", {"description": OBFUSCATIONS["fullwidth"](FR[0], rng)}),
    ]
    for response in refused:
        assert response.status_code in (403, 429), response.text
        assert response.json()["ok"] is False
    assert upstream.requests == []


def test_telegram_form_clients_and_clean_calls_go_through(
    client: TestClient, upstream: Upstream, clock: Clock
) -> None:
    chat = engaged(client, TG, clock)
    markup = json.dumps({"inline_keyboard": [[{"text": HARM, "callback_data": "x"}]]})
    form = client.post(
        f"/v1/proxy/telegram/bot{TG_PROXY}/sendMessage",
        data={"chat_id": str(chat), "text": BENIGN, "reply_markup": markup},
    )
    assert form.status_code == 403 and upstream.requests == []
    answered = tg(client, "answerCallbackQuery", {"callback_query_id": "42", "text": "Saved!"})
    named = tg(client, "setMyName", {"name": "Maestro Cinema"})
    assert answered.status_code == 200 and named.status_code == 200
    assert [r.path for r in upstream.requests] == [
        "/botREAL/answerCallbackQuery",
        "/botREAL/setMyName",
    ]


def test_telegram_unknown_methods_are_refused_unless_the_bot_says_pass(
    client: TestClient, upstream: Upstream
) -> None:
    refused = tg(client, "setSomethingNew", {"title": HARM})
    assert refused.status_code == 403
    assert "proxy_unknown" in refused.json()["description"]
    assert upstream.requests == []
    passed = tg(client, "setSomethingNew", {"title": "x"}, token=OPEN_PROXY)
    assert passed.status_code == 200 and len(upstream.requests) == 1


# --------------------------------------------------------------------------- WhatsApp


def test_whatsapp_text_cta_flow_and_list_labels(
    client: TestClient, upstream: Upstream, clock: Clock
) -> None:
    to = engaged(client, WA, clock)
    rng = random.Random(3)

    def interactive(kind: str, action: Json) -> Json:
        body = {"type": kind, "body": {"text": BENIGN}, "action": action}
        return {
            "messaging_product": "whatsapp",
            "to": to,
            "type": "interactive",
            "interactive": body,
        }

    sends = [
        {"to": to, "type": "text", "text": {"body": OBFUSCATIONS["homoglyph"](FR[2], rng)}},
        interactive(
            "cta_url",
            {"name": "cta_url", "parameters": {"display_text": HARM, "url": "https://example.org"}},
        ),
        interactive("flow", {"name": "flow", "parameters": {"flow_cta": HARM, "flow_id": "1"}}),
        interactive(
            "list",
            {
                "button": "Pick",
                "sections": [
                    {"title": "Films", "rows": [{"id": "1", "title": "Ok", "description": HARM}]}
                ],
            },
        ),
        interactive(
            "button", {"buttons": [{"type": "reply", "reply": {"id": "1", "title": "kill urself"}}]}
        ),
    ]
    for body in sends:
        response = graph(client, f"{PHONE_ID}/messages", body, WA_PROXY)
        assert response.status_code == 400, response.text
        assert "guardrail" in response.json()["error"]["message"]
    assert upstream.requests == []


# --------------------------------------------------------------------------- Messenger


def test_messenger_greeting_menu_and_ice_breakers(client: TestClient, upstream: Upstream) -> None:
    profiles: list[Json] = [
        {
            "greeting": [
                {"locale": "default", "text": OBFUSCATIONS["markdown"](HARM, random.Random(1))}
            ]
        },
        {
            "persistent_menu": [
                {
                    "locale": "default",
                    "call_to_actions": [{"type": "postback", "title": FR[0], "payload": "P"}],
                }
            ]
        },
        {"ice_breakers": [{"question": HARM, "payload": "Q"}]},
    ]
    for body in profiles:
        response = graph(client, f"{PAGE_ID}/messenger_profile", body, FB_PROXY)
        assert response.status_code == 400, response.text
    assert upstream.requests == []
    fine = {"greeting": [{"locale": "default", "text": "Hi {{user_first_name}}! Films tonight?"}]}
    assert graph(client, f"{PAGE_ID}/messenger_profile", fine, FB_PROXY).status_code == 200
    [sent] = upstream.requests
    assert sent.path.endswith(f"/{PAGE_ID}/messenger_profile") and sent.json == fine


def test_graph_posts_the_proxy_does_not_know_are_refused(
    client: TestClient, upstream: Upstream
) -> None:
    response = graph(client, f"{PAGE_ID}/feed", {"message": HARM}, FB_PROXY)
    assert response.status_code == 400 and "proxy_unknown" in response.text
    assert upstream.requests == []


# --------------------------------------------------------------------------- opt-out wording


@pytest.mark.parametrize(
    "text", ["S\u200bT\u200bO\u200bP", "\uff33\uff34\uff2f\uff30", "s.t.o.p", "**STOP**", "$t0p"]
)
def test_opt_out_matching_reads_the_normalised_text(
    make_client: MakeClient, clock: Clock, text: str
) -> None:
    client = make_client()
    who = user()
    result = say(client, "maestro", who, text, clock() - timedelta(minutes=1))
    assert result["consent"] == "opted_out", result
