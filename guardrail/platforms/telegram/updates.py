"""User messages seen in ``getUpdates`` answers, as guardrail events.

When a bot polls Telegram through the proxy, guardrail reads the answer on its way back:
what a user wrote there comes from Telegram itself, not from the bot's word, and it is
exactly what the rules need (the user wrote first, a reply is due, a crisis in a user's
message). Parsing is lenient, because the answer belongs to the bot: an update guardrail
cannot read is skipped, never an error, and the answer is passed on unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from guardrail.models import Channel, Event, EventType

MESSAGE_KINDS = ("message", "edited_message", "business_message")


def user_events(payload: Any, bot_id: str, now: datetime) -> list[Event]:
    """One ``user_message`` event per update in which a person wrote or tapped a button
    (``now`` dates a button tap, which Telegram sends undated)."""
    if not isinstance(payload, dict) or payload.get("ok") is not True:
        return []
    updates = payload.get("result")
    if not isinstance(updates, list):
        return []
    events: list[Event] = []
    for update in updates:
        event = _event(update, bot_id, now) if isinstance(update, dict) else None
        if event is not None:
            events.append(event)
    return events


def _event(update: dict[str, Any], bot_id: str, now: datetime) -> Event | None:
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        return None
    kind = next((k for k in MESSAGE_KINDS if isinstance(update.get(k), dict)), None)
    choice = False
    if kind is not None:
        message = update[kind]
        sender, chat, date = message.get("from"), message.get("chat"), message.get("date")
        text = message.get("text", message.get("caption"))
    elif isinstance(update.get("callback_query"), dict):
        query = update["callback_query"]
        sender, message = query.get("from"), query.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        date, text = None, query.get("data")
        choice = True  # an inline keyboard button's data: the bot wrote it
    else:
        return None
    if not isinstance(sender, dict) or sender.get("is_bot") is not False:
        return None  # a channel post, another bot, or no sender at all
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        return None
    ts = datetime.fromtimestamp(date, tz=UTC) if isinstance(date, int) else now
    try:
        return Event(
            type=EventType.USER_MESSAGE,
            bot_id=bot_id,
            user_id=str(chat["id"]),
            ts=ts,
            text=text if isinstance(text, str) and text else None,
            choice=choice,
            channel=Channel.TELEGRAM,
            event_id=f"tg-update:{update_id}",
            locale=_locale(sender),
        )
    except ValidationError:
        return None


def _locale(sender: dict[str, Any]) -> str | None:
    code = sender.get("language_code")
    return code if isinstance(code, str) and 0 < len(code) <= 35 else None
