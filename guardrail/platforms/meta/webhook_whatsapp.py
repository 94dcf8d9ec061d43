"""WhatsApp Cloud API inbound webhooks: signature check and payload to guardrail events.

Meta POSTs ``{"object": "whatsapp_business_account", "entry": [...]}``; each entry's
``changes[].value`` carries the receiving number (``metadata.phone_number_id``), user
``messages`` and ``statuses`` of messages the business sent. Guardrail needs three things
from it: that the user wrote (resets unanswered counters, opens reply windows), and that
an outbound message was delivered or read.

Parsing is strict about structure and lenient about content: a payload that does not have
the documented shape raises :class:`ValueError` (and nothing else) with the JSON path of
the problem, so the caller answers 400; things that are well-formed but not ours (a phone
number no bot owns, a system notice) are skipped with a warning, because Meta retries a
rejected webhook for days and a retry would not change the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from guardrail.models import TIME_CEILING, TIME_FLOOR, Channel, Event, EventType

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_TIMESTAMP = re.compile(r"\d{1,12}")

_STATUS_EVENTS = {"delivered": EventType.DELIVERED, "read": EventType.READ}
CHOICE_TYPES = frozenset({"button", "interactive"})
"""Message types that carry a template quick-reply button, a reply button or a list item
the business wrote: the user chose, never worded, them (no opt-in from them)."""
"""Other statuses (sent, failed, deleted, warning) say nothing about the user's attention."""


def verify_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` (X-Hub-Signature-256) is Meta's HMAC of exactly these bytes.

    Must be given the raw request body: re-serialised JSON differs byte for byte. An empty
    app secret never verifies, since anyone can compute an HMAC with an empty key.
    """
    if not header or not app_secret or not header.isascii():
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(match.group(1)))


@dataclass(frozen=True)
class ParsedEvent:
    """An event plus the business phone number it arrived on (which bot, which tenant)."""

    phone_number_id: str
    event: Event


class ParseResult(NamedTuple):
    """Events to record, and why anything was skipped (for logs, never an error)."""

    events: list[ParsedEvent]
    warnings: list[str]


def parse_events(
    payload: dict[str, Any], bot_for_phone_number_id: Callable[[str], str | None]
) -> ParseResult:
    """Turn a Cloud API webhook payload into guardrail events.

    ``bot_for_phone_number_id`` maps the receiving number to a bot id, or None for a
    number no bot owns (skipped with a warning). Returns ``(events, warnings)``.
    Raises ValueError, and only ValueError, when the payload is malformed.
    """
    events: list[ParsedEvent] = []
    warnings: list[str] = []
    root = _mapping(payload, "payload")
    obj = root.get("object")
    if obj != "whatsapp_business_account":
        raise ValueError(f"payload.object must be 'whatsapp_business_account', got {obj!r}")
    for i, entry_value in enumerate(_list(root, "entry", "payload", required=True)):
        entry_path = f"entry[{i}]"
        entry = _mapping(entry_value, entry_path)
        for j, change_value in enumerate(_list(entry, "changes", entry_path)):
            path = f"{entry_path}.changes[{j}]"
            change = _mapping(change_value, path)
            if change.get("field") != "messages":
                continue  # account, template and quality updates: nothing about users
            value = _mapping(change.get("value"), f"{path}.value")
            _parse_value(value, f"{path}.value", bot_for_phone_number_id, events, warnings)
    return ParseResult(events, warnings)


def _parse_value(
    value: dict[str, Any],
    path: str,
    bot_for_phone_number_id: Callable[[str], str | None],
    events: list[ParsedEvent],
    warnings: list[str],
) -> None:
    messages = _list(value, "messages", path)
    statuses = _list(value, "statuses", path)
    if not messages and not statuses:
        return  # e.g. only "errors": nothing a user did
    metadata = _mapping(value.get("metadata"), f"{path}.metadata")
    phone_number_id = _string(metadata, "phone_number_id", f"{path}.metadata")
    bot_id = bot_for_phone_number_id(phone_number_id)
    if bot_id is None:
        warnings.append(
            f"{path}: unknown phone_number_id {phone_number_id}; skipped "
            f"{len(messages)} message(s) and {len(statuses)} status(es)"
        )
        return
    for k, raw in enumerate(messages):
        item_path = f"{path}.messages[{k}]"
        message = _mapping(raw, item_path)
        msg_type = _string(message, "type", item_path)
        user_id = _string(message, "from", item_path)
        event_id = _string(message, "id", item_path)
        ts = _timestamp(message, item_path)
        if msg_type == "system":
            # Sent by WhatsApp (e.g. "user changed number"), not written by the user.
            warnings.append(f"{item_path}: skipped system message {event_id}")
            continue
        if _out_of_range(ts, f"{item_path} ({event_id})", warnings):
            continue
        event = _event(
            item_path,
            type=EventType.USER_MESSAGE,
            bot_id=bot_id,
            user_id=user_id,
            ts=ts,
            text=_message_text(message, msg_type, item_path),
            # A tapped button or list item: its label is the business's words, not the user's.
            choice=msg_type in CHOICE_TYPES,
            channel=Channel.WHATSAPP,
            event_id=event_id,
        )
        events.append(ParsedEvent(phone_number_id, event))
    for k, raw in enumerate(statuses):
        item_path = f"{path}.statuses[{k}]"
        status = _mapping(raw, item_path)
        name = _string(status, "status", item_path)
        event_type = _STATUS_EVENTS.get(name)
        if event_type is None:
            continue
        message_id = _string(status, "id", item_path)
        status_ts = _timestamp(status, item_path)
        if _out_of_range(status_ts, f"{item_path} ({message_id})", warnings):
            continue
        event = _event(
            item_path,
            type=event_type,
            bot_id=bot_id,
            user_id=_string(status, "recipient_id", item_path),
            ts=status_ts,
            channel=Channel.WHATSAPP,
            # One outbound message gets one status per stage, all with the message's id;
            # the stage keeps "read" from being dropped as a redelivery of "delivered".
            event_id=f"{message_id}:{name}",
        )
        events.append(ParsedEvent(phone_number_id, event))


def _message_text(message: dict[str, Any], msg_type: str, path: str) -> str | None:
    """What the user wrote or chose; None for media without caption, reactions, etc."""
    if msg_type == "text":
        body = _mapping(message.get("text"), f"{path}.text")
        return _string(body, "body", f"{path}.text", allow_empty=True)
    if msg_type == "button":
        button = _optional_mapping(message.get("button"), f"{path}.button")
        return _optional_string(button, "text", f"{path}.button")
    if msg_type == "interactive":
        interactive = _optional_mapping(message.get("interactive"), f"{path}.interactive")
        for reply_kind in ("button_reply", "list_reply"):
            reply_path = f"{path}.interactive.{reply_kind}"
            reply = _optional_mapping(interactive.get(reply_kind), reply_path)
            title = _optional_string(reply, "title", reply_path)
            if title is not None:
                return title
        return None
    if msg_type in ("image", "video", "document"):
        media = _optional_mapping(message.get(msg_type), f"{path}.{msg_type}")
        return _optional_string(media, "caption", f"{path}.{msg_type}")
    return None


def _out_of_range(ts: datetime, what: str, warnings: list[str]) -> bool:
    """A time no event may carry (see models.Timestamp): skipped with a warning, so the
    rest of the payload still applies (Meta's retry would carry the same time)."""
    if TIME_FLOOR <= ts < TIME_CEILING:
        return False
    warnings.append(f"skipped {what}: timestamp {ts.isoformat()} is out of range")
    return True


def _event(path: str, **fields: Any) -> Event:
    try:
        return Event(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"{path}: not a valid event ({problems})") from None


# ---- structure checks: every failure is a ValueError naming the JSON path


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{path} must be an object, got {type(value).__name__}")
    return value


def _optional_mapping(value: Any, path: str) -> dict[str, Any]:
    return {} if value is None else _mapping(value, path)


def _list(container: dict[str, Any], key: str, path: str, *, required: bool = False) -> list[Any]:
    value = container.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{path}.{key} must be a list, got {type(value).__name__}")
    return value


def _string(container: dict[str, Any], key: str, path: str, *, allow_empty: bool = False) -> str:
    value = container.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        wanted = "a string" if allow_empty else "a non-empty string"
        raise ValueError(f"{path}.{key} must be {wanted}, got {value!r:.40}")
    return value


def _optional_string(container: dict[str, Any], key: str, path: str) -> str | None:
    value = container.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{path}.{key} must be a string, got {type(value).__name__}")


def _timestamp(container: dict[str, Any], path: str) -> datetime:
    """Unix seconds, sent by Meta as a string of digits (an int is tolerated)."""
    value = container.get("timestamp")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise ValueError(f"{path}.timestamp must be unix seconds as a string, got {value!r:.40}")
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"{path}.timestamp {value} is out of range") from exc
