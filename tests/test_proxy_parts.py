"""The proxy's parts on their own: token lookup, placing a decided text, reading updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from guardrail.config import Settings
from guardrail.models import Channel, EventType
from guardrail.platforms.proxy.identity import bearer, bot_for_token, principal_for
from guardrail.platforms.proxy.message import Guarded
from guardrail.platforms.telegram.updates import user_events
from tests.proxy_support import sha256

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_bot_for_token_compares_digests_only() -> None:
    settings = Settings(
        bots={
            "a": {"tenant": "acme", "proxy_token_sha256": sha256("token-a")},
            "b": {"proxy_token_sha256": sha256("token-b")},
            "c": {},
        }
    )
    assert bot_for_token(settings, "token-a") == "a"
    assert bot_for_token(settings, "token-b") == "b"
    assert bot_for_token(settings, "token-c") is None
    assert bot_for_token(settings, "") is None and bot_for_token(settings, None) is None
    assert bot_for_token(settings, sha256("token-a")) is None  # the digest is not the token
    assert bot_for_token(settings, "\udcff") is None  # unpaired surrogates do not crash
    principal = principal_for(settings, "a")
    assert (principal.tenant, principal.role, principal.bots) == ("acme", "bot", frozenset({"a"}))
    assert not principal.may_speak_for("b")
    assert bearer("Bearer  tok ") == "tok" and bearer("OAuth tok") == "tok"
    assert bearer("Basic dG9r") is None and bearer("Bearer ") is None and bearer(None) is None


def test_rewritten_places_the_text_or_says_it_cannot() -> None:
    one = Guarded("u", texts=[(("message", "text"), "call 0612345678")])
    params = {"recipient": {"id": "u"}, "message": {"text": "call 0612345678"}}
    assert one.rewritten(params, "call 0612345678") is params
    placed = one.rewritten(params, "call [PHONE_NUMBER]")
    assert placed == {"recipient": {"id": "u"}, "message": {"text": "call [PHONE_NUMBER]"}}
    assert params["message"]["text"] == "call 0612345678"  # the original is left alone

    # A form client's JSON string is edited inside and encoded back.
    group = Guarded("u", texts=[(("media", 0, "caption"), "hi 0612345678")])
    form = {"media": json.dumps([{"type": "photo", "media": "x", "caption": "hi 0612345678"}])}
    out = group.rewritten(form, "hi [PHONE_NUMBER]")
    assert out is not None and json.loads(out["media"])[0]["caption"] == "hi [PHONE_NUMBER]"

    two = Guarded("u", texts=[(("question",), "a"), (("options", 0), "b")])
    assert two.text == "a\nb" and two.rewritten({}, "a\nB") is None
    template = Guarded("u", label="template reminder")
    assert template.text == "[template reminder]" and template.rewritten({}, "x") is None
    sticker = Guarded("u", media="sticker")
    assert sticker.text == "[sticker]"


def test_user_events_from_get_updates_skip_what_is_not_a_person() -> None:
    person = {"id": 42, "is_bot": False, "first_name": "Ana", "language_code": "fr"}
    chat = {"id": 42, "type": "private"}
    updates = [
        {
            "update_id": 1,
            "message": {"from": person, "chat": chat, "date": 1764633600, "text": "hi"},
        },
        {
            "update_id": 2,
            "callback_query": {"from": person, "message": {"chat": chat}, "data": "y"},
        },
        {"update_id": 3, "message": {"from": {"id": 9, "is_bot": True}, "chat": chat, "date": 1}},
        {"update_id": 4, "channel_post": {"chat": {"id": -100}, "date": 1, "text": "news"}},
        {"update_id": 5, "message": {"from": person, "chat": {"id": "x"}, "date": 1}},
        {"update_id": "6"},
        "junk",
    ]
    events = user_events({"ok": True, "result": updates}, "maestro", NOW)
    assert [(e.event_id, e.text, e.ts) for e in events] == [
        ("tg-update:1", "hi", datetime.fromtimestamp(1764633600, tz=UTC)),
        ("tg-update:2", "y", NOW),
    ]
    assert {(e.type, e.channel, e.user_id, e.locale) for e in events} == {
        (EventType.USER_MESSAGE, Channel.TELEGRAM, "42", "fr")
    }
    assert user_events({"ok": False}, "maestro", NOW) == []
    assert user_events([1], "maestro", NOW) == []
