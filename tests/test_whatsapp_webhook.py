"""WhatsApp Cloud API inbound webhooks: X-Hub-Signature-256 and payload parsing."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from guardrail.models import Channel, EventType
from guardrail.platforms.meta.webhook_whatsapp import ParsedEvent, parse_events, verify_signature

APP_SECRET = "3f1c0e5b9a7d4e2f8c6b1a0d9e8f7c6b"
PHONE_ID = "106540352242922"
OTHER_PHONE_ID = "999000111222333"
BOTS = {PHONE_ID: "companion-bot"}


def _sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- signatures


BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_signature_valid() -> None:
    assert verify_signature(BODY, _sign(BODY), APP_SECRET)
    assert verify_signature(BODY, _sign(BODY).upper().replace("SHA256=", "sha256="), APP_SECRET)
    assert verify_signature(BODY, f"  {_sign(BODY)}\n", APP_SECRET)


def test_signature_invalid() -> None:
    assert not verify_signature(BODY, _sign(BODY, "another-secret"), APP_SECRET)
    assert not verify_signature(BODY + b" ", _sign(BODY), APP_SECRET)
    # Re-serialised JSON is not the raw body.
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert not verify_signature(reserialised, _sign(BODY), APP_SECRET)


@pytest.mark.parametrize("header", [None, ""])
def test_signature_missing(header: str | None) -> None:
    assert not verify_signature(BODY, header, APP_SECRET)


@pytest.mark.parametrize(
    "header",
    [
        "sha256=",
        "sha256",
        "sha1=" + hashlib.sha1(BODY).hexdigest(),
        _sign(BODY)[len("sha256=") :],  # hex without the prefix
        _sign(BODY)[:-2],  # too short
        _sign(BODY) + "00",  # too long
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "é" * 64,  # not ASCII
        "sha256=" + "0" * 64,
        "SHA256=" + _sign(BODY)[len("sha256=") :],
        _sign(BODY) + ",sha256=" + "0" * 64,
    ],
)
def test_signature_malformed(header: str) -> None:
    assert not verify_signature(BODY, header, APP_SECRET)


def test_signature_empty_secret_never_verifies() -> None:
    assert not verify_signature(BODY, _sign(BODY, ""), "")


# --------------------------------------------------------------------------- parsing


def _value(**extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        **extra,
    }


def _payload(*values: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [{"value": value, "field": "messages"} for value in values],
            }
        ],
    }


TEXT_MESSAGE = {
    "from": "16315551181",
    "id": "wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
    "timestamp": "1717000000",
    "text": {"body": "this is a text message"},
    "type": "text",
}
CONTACTS = [{"profile": {"name": "Kerry Fisher"}, "wa_id": "16315551181"}]


def _status(status: str, ts: str = "1717000100") -> dict[str, Any]:
    return {
        "id": "wamid.HBgLMTYzMTU1NTExODEVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA",
        "status": status,
        "timestamp": ts,
        "recipient_id": "16315551181",
        "conversation": {
            "id": "CONVERSATION_ID",
            "expiration_timestamp": "1717086400",
            "origin": {"type": "service"},
        },
        "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
    }


def _parse(payload: dict[str, Any]) -> tuple[list[ParsedEvent], list[str]]:
    return parse_events(payload, BOTS.get)


def test_parse_text_message() -> None:
    events, warnings = _parse(_payload(_value(contacts=CONTACTS, messages=[TEXT_MESSAGE])))
    assert warnings == []
    [parsed] = events
    assert parsed.phone_number_id == PHONE_ID
    event = parsed.event
    assert event.type is EventType.USER_MESSAGE
    assert event.bot_id == "companion-bot"
    assert event.user_id == "16315551181"
    assert event.text == "this is a text message"
    assert event.channel is Channel.WHATSAPP
    assert event.event_id == TEXT_MESSAGE["id"]
    assert event.ts == datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)


def test_parse_statuses_delivered_and_read() -> None:
    value = _value(
        statuses=[
            _status("sent", "1717000050"),
            _status("delivered"),
            _status("read", "1717000200"),
        ]
    )
    events, warnings = _parse(_payload(value))
    assert warnings == []
    assert [p.event.type for p in events] == [EventType.DELIVERED, EventType.READ]  # "sent" ignored
    delivered, read = (p.event for p in events)
    assert delivered.user_id == read.user_id == "16315551181"
    assert delivered.bot_id == "companion-bot"
    assert delivered.ts == datetime.fromtimestamp(1717000100, UTC)
    assert read.ts == datetime.fromtimestamp(1717000200, UTC)
    assert delivered.text is None
    # Distinct ids, or the read would be dropped as a redelivery of the delivered status.
    assert delivered.event_id != read.event_id
    assert delivered.event_id is not None
    assert delivered.event_id.startswith("wamid.")


@pytest.mark.parametrize("status", ["sent", "failed", "deleted", "warning"])
def test_other_statuses_ignored(status: str) -> None:
    events, warnings = _parse(_payload(_value(statuses=[_status(status)])))
    assert events == []
    assert warnings == []


def test_unknown_phone_number_id_is_skipped_with_warning() -> None:
    unknown = _value(messages=[TEXT_MESSAGE], statuses=[_status("read")])
    unknown["metadata"]["phone_number_id"] = OTHER_PHONE_ID
    known = _value(messages=[TEXT_MESSAGE])
    events, warnings = _parse(_payload(unknown, known))
    assert [p.phone_number_id for p in events] == [PHONE_ID]
    [warning] = warnings
    assert OTHER_PHONE_ID in warning
    assert "1 message(s) and 1 status(es)" in warning


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ({"type": "button", "button": {"text": "Yes please", "payload": "YES"}}, "Yes please"),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "b1", "title": "Stop"},
                },
            },
            "Stop",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "r2", "title": "Tomorrow", "description": "after 9"},
                },
            },
            "Tomorrow",
        ),
        ({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}}, None),
        ({"type": "image", "image": {"id": "m1", "caption": "look"}}, "look"),
        ({"type": "sticker", "sticker": {"id": "s1", "animated": False}}, None),
        ({"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}}, None),
        ({"type": "location", "location": {"latitude": 1.0, "longitude": 2.0}}, None),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, None),
    ],
)
def test_other_message_types_are_user_messages(message: dict[str, Any], text: str | None) -> None:
    raw = {"from": "16315551181", "id": "wamid.ABC", "timestamp": "1717000000", **message}
    events, warnings = _parse(_payload(_value(messages=[raw])))
    assert warnings == []
    [parsed] = events
    assert parsed.event.type is EventType.USER_MESSAGE
    assert parsed.event.text == text
    assert parsed.event.event_id == "wamid.ABC"


def test_system_message_is_not_user_activity() -> None:
    system = {
        "from": "16315551181",
        "id": "wamid.SYS",
        "timestamp": "1717000000",
        "type": "system",
        "system": {"body": "User changed number", "type": "user_changed_number"},
    }
    events, warnings = _parse(_payload(_value(messages=[system, TEXT_MESSAGE])))
    assert [p.event.event_id for p in events] == [TEXT_MESSAGE["id"]]
    assert len(warnings) == 1
    assert "system" in warnings[0]


def test_non_message_fields_and_empty_values_are_ignored() -> None:
    payload = _payload(_value(messages=[TEXT_MESSAGE]))
    payload["entry"][0]["changes"].insert(
        0, {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    )
    payload["entry"].append(
        {"id": "2", "changes": [{"field": "messages", "value": {"errors": []}}]}
    )
    events, warnings = _parse(payload)
    assert len(events) == 1
    assert warnings == []
    assert _parse({"object": "whatsapp_business_account", "entry": []}) == ([], [])


def test_several_entries_keep_order() -> None:
    second = dict(TEXT_MESSAGE, id="wamid.SECOND", timestamp="1717000300")
    events, _ = _parse(
        _payload(_value(messages=[TEXT_MESSAGE, second], statuses=[_status("read")]))
    )
    assert [p.event.type for p in events] == [
        EventType.USER_MESSAGE,
        EventType.USER_MESSAGE,
        EventType.READ,
    ]


def _with(path: list[str | int], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(_payload(_value(messages=[TEXT_MESSAGE], statuses=[_status("read")])))
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return payload


_DELETE = object()
_MSG: list[str | int] = ["entry", 0, "changes", 0, "value", "messages", 0]
_STATUS: list[str | int] = ["entry", 0, "changes", 0, "value", "statuses", 0]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "payload must be an object"),
        ({}, "payload.object"),
        ({"object": "page", "entry": []}, "whatsapp_business_account"),
        ({"object": "whatsapp_business_account"}, r"payload\.entry must be a list"),
        ({"object": "whatsapp_business_account", "entry": {}}, "entry must be a list"),
        ({"object": "whatsapp_business_account", "entry": ["x"]}, r"entry\[0\] must be an object"),
        (_with(["entry", 0, "changes"], "x"), r"entry\[0\]\.changes must be a list"),
        (
            _with(["entry", 0, "changes", 0, "value"], None),
            r"changes\[0\]\.value must be an object",
        ),
        (_with(["entry", 0, "changes", 0, "value", "metadata"], _DELETE), "metadata"),
        (
            _with(["entry", 0, "changes", 0, "value", "metadata", "phone_number_id"], 5),
            "phone_number_id",
        ),
        (_with(["entry", 0, "changes", 0, "value", "messages"], {}), "messages must be a list"),
        (_with([*_MSG[:-1], 0], "wamid"), r"messages\[0\] must be an object"),
        (_with([*_MSG, "from"], _DELETE), r"messages\[0\]\.from"),
        (_with([*_MSG, "id"], ""), r"messages\[0\]\.id"),
        (_with([*_MSG, "type"], None), r"messages\[0\]\.type"),
        (_with([*_MSG, "timestamp"], "yesterday"), "timestamp must be unix seconds"),
        (_with([*_MSG, "timestamp"], "-5"), "timestamp"),
        (_with([*_MSG, "timestamp"], "999999999999"), "out of range"),
        (_with([*_MSG, "text"], "hi"), r"messages\[0\]\.text must be an object"),
        (_with([*_MSG, "text", "body"], 7), r"text\.body"),
        (_with([*_MSG, "id"], "w" * 500), "not a valid event"),
        (_with([*_STATUS, "recipient_id"], _DELETE), r"statuses\[0\]\.recipient_id"),
        (_with([*_STATUS, "status"], ["read"]), r"statuses\[0\]\.status"),
        (_with([*_STATUS, "timestamp"], True), "timestamp"),
    ],
)
def test_malformed_payloads_raise_value_error(payload: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_events(payload, BOTS.get)


def test_int_timestamp_is_tolerated() -> None:
    events, _ = _parse(_with([*_MSG, "timestamp"], 1717000000))
    assert events[0].event.ts == datetime.fromtimestamp(1717000000, UTC)


_JUNK: list[Any] = [None, "", "x", 0, -1, 1.5, True, [], {}, ["x"], {"a": 1}, "9" * 40]


def _nodes(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _nodes(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _nodes(child, (*path, index))
    return found


def test_mutated_payloads_only_ever_raise_value_error() -> None:
    """Every node of a realistic payload replaced by junk: parse or ValueError, nothing else."""
    base = _payload(
        _value(contacts=CONTACTS, messages=[TEXT_MESSAGE], statuses=[_status("delivered")])
    )
    rng = random.Random(20250301)
    paths = [p for p in _nodes(base) if p]
    for path in paths:
        for junk in _JUNK + [rng.choice(_JUNK) for _ in range(3)]:
            payload = copy.deepcopy(base)
            node: Any = payload
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = copy.deepcopy(junk)
            with contextlib.suppress(ValueError):
                parse_events(payload, BOTS.get)
