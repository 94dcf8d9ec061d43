"""Messenger and Instagram inbound webhooks: payload to guardrail events.

Meta POSTs ``{"object": "page" | "instagram", "entry": [...]}`` signed with
``X-Hub-Signature-256`` (the same HMAC as WhatsApp's, checked by
:func:`guardrail.platforms.meta.webhook_whatsapp.verify_signature`). Each entry is one page or
Instagram account (``entry[].id``); its ``messaging[]`` items (or, as Instagram's
``messages`` field also sends them, ``changes[]`` with ``field: messages``) carry what the
user did: a message or a button tap (the user wrote), ``delivery`` and ``read`` receipts
of what the bot sent. Echoes of the bot's own messages are skipped.

Parsing follows the WhatsApp webhook's contract: malformed structure raises ValueError
(and nothing else) naming the JSON path, so the caller answers 400; well-formed things
that are not ours (an unknown page, a reaction) are skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from guardrail.models import Channel, Event, EventType
from guardrail.platforms.meta.webhook_whatsapp import (
    _event,
    _list,
    _mapping,
    _optional_mapping,
    _optional_string,
    _out_of_range,
    _string,
)

CHANNELS = {"page": Channel.MESSENGER, "instagram": Channel.INSTAGRAM}
_MS_THRESHOLD = 10**11
"""Meta's timestamps are milliseconds, but the ``messages`` field's test payloads send
seconds; a value below this is read as seconds."""


@dataclass(frozen=True)
class AccountEvent:
    """An event plus the page or Instagram account it arrived on (which bot, which tenant)."""

    account_id: str
    event: Event


class ParseResult(NamedTuple):
    events: list[AccountEvent]
    warnings: list[str]


def parse_events(
    payload: dict[str, Any], bot_for_account: Callable[[str], str | None]
) -> ParseResult:
    """Turn a Messenger or Instagram webhook payload into guardrail events."""
    root = _mapping(payload, "payload")
    obj = root.get("object")
    channel = CHANNELS.get(obj) if isinstance(obj, str) else None
    if channel is None:
        raise ValueError(f"payload.object must be 'page' or 'instagram', got {obj!r:.40}")
    events: list[AccountEvent] = []
    warnings: list[str] = []
    for i, entry_value in enumerate(_list(root, "entry", "payload", required=True)):
        path = f"entry[{i}]"
        entry = _mapping(entry_value, path)
        account = _id(entry, "id", path)
        items = [
            (f"{path}.messaging[{j}]", m) for j, m in enumerate(_list(entry, "messaging", path))
        ]
        for j, change_value in enumerate(_list(entry, "changes", path)):
            change = _mapping(change_value, f"{path}.changes[{j}]")
            if change.get("field") == "messages":
                items.append((f"{path}.changes[{j}].value", change.get("value")))
        if not items:
            continue
        bot_id = bot_for_account(account)
        if bot_id is None:
            warnings.append(f"{path}: unknown page or account {account}; skipped {len(items)}")
            continue
        for item_path, raw in items:
            item = _mapping(raw, item_path)
            for event in _item_events(item, item_path, bot_id, channel, warnings):
                events.append(AccountEvent(account, event))
    return ParseResult(events, warnings)


def _item_events(
    item: dict[str, Any], path: str, bot_id: str, channel: Channel, warnings: list[str]
) -> list[Event]:
    user = _id(_mapping(item.get("sender"), f"{path}.sender"), "id", f"{path}.sender")
    common: dict[str, Any] = {"bot_id": bot_id, "user_id": user, "channel": channel}
    if "message" in item:
        message = _mapping(item["message"], f"{path}.message")
        if message.get("is_echo") is True:
            return []  # the bot's own message, echoed back
        mid = _string(message, "mid", f"{path}.message")
        text = _optional_string(message, "text", f"{path}.message")
        ts = _time(item, "timestamp", path)
        if _out_of_range(ts, f"{path} ({mid})", warnings):
            return []
        # A quick reply's text is its title, which the bot wrote: a choice, not the user's words.
        choice = message.get("quick_reply") is not None
        event = _event(
            path,
            type=EventType.USER_MESSAGE,
            ts=ts,
            text=text,
            choice=choice,
            event_id=mid,
            **common,
        )
        return [event]
    if "postback" in item:
        postback = _optional_mapping(item["postback"], f"{path}.postback")
        title = _optional_string(postback, "title", f"{path}.postback")
        ts = _time(item, "timestamp", path)
        if _out_of_range(ts, f"{path} (postback)", warnings):
            return []
        tapped = _optional_string(postback, "mid", f"{path}.postback")
        event_id = tapped or f"postback:{user}:{int(ts.timestamp() * 1000)}"
        return [
            _event(
                path,
                type=EventType.USER_MESSAGE,
                ts=ts,
                text=title,
                choice=True,  # a button the bot wrote
                event_id=event_id,
                **common,
            )
        ]
    if "delivery" in item:
        delivery = _mapping(item["delivery"], f"{path}.delivery")
        ts = _time(delivery, "watermark", f"{path}.delivery")
        mids = _list(delivery, "mids", f"{path}.delivery")
        if _out_of_range(ts, f"{path}.delivery", warnings):
            return []
        return [
            _event(
                f"{path}.delivery.mids[{k}]",
                type=EventType.DELIVERED,
                ts=ts,
                event_id=f"{_string({'mid': mid}, 'mid', f'{path}.delivery.mids[{k}]')}:delivered",
                **common,
            )
            for k, mid in enumerate(mids)
        ]
    if "read" in item:
        read = _mapping(item["read"], f"{path}.read")
        ts = _time(read, "watermark", f"{path}.read")
        if _out_of_range(ts, f"{path}.read", warnings):
            return []
        event_id = f"read:{user}:{int(ts.timestamp() * 1000)}"
        return [_event(path, type=EventType.READ, ts=ts, event_id=event_id, **common)]
    kinds = sorted(k for k in item if k not in ("sender", "recipient", "timestamp"))
    warnings.append(f"{path}: skipped {', '.join(kinds) or 'empty item'} (nothing the user wrote)")
    return []


def _id(container: dict[str, Any], key: str, path: str) -> str:
    """Meta ids are strings; an integer id is tolerated."""
    value = container.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _string(container, key, path)


def _time(container: dict[str, Any], key: str, path: str) -> datetime:
    value = container.get(key)
    if isinstance(value, str) and value.isdigit() and len(value) <= 15:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{path}.{key} must be a unix time, got {value!r:.40}")
    seconds = value / 1000 if value >= _MS_THRESHOLD else float(value)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"{path}.{key} {value} is out of range") from exc
