"""The Telegram Bot API as guardrail's proxy sees it: which methods send to a user,
where their text is, and the Bot API's error shape.

Methods are case-insensitive, as the Bot API treats them. A method is one of:

* guarded: it sends or changes what a user reads (``sendMessage``, ``editMessageText``,
  ``sendPhoto`` with its caption, ``sendPoll``...); decided like any outreach;
* uninspected: it sends content guardrail cannot read (stickers, locations, forwarded or
  copied messages, and any ``send``/``edit``/``copy``/``forward`` method this table does
  not know yet); decided like media, and refused unless the bot's ``proxy_media`` is
  ``pass``;
* unguarded: everything else (``getMe``, ``getUpdates``, ``setWebhook``,
  ``sendChatAction``...), forwarded untouched unless ``proxy_unguarded`` is ``refuse``.
"""

from __future__ import annotations

from typing import Any

from guardrail.platforms.proxy.body import Call
from guardrail.platforms.proxy.message import Guarded, collect

TEXT_METHODS = {"sendmessage": "text", "editmessagetext": "text"}
CAPTION_METHODS = {
    "sendphoto": "photo",
    "sendvideo": "video",
    "sendanimation": "animation",
    "sendaudio": "audio",
    "senddocument": "document",
    "sendvoice": "voice",
    "sendpaidmedia": "paid media",
    "editmessagecaption": "",
    "editmessagemedia": "media",
    "sendmediagroup": "media group",
    "copymessage": "copied message",
}
"""Methods whose ``caption`` (top level, or inside ``media``) is guarded; the value names
the uninspected content they carry ('' for none)."""
UNGUARDED = frozenset({"sendchataction"})
"""``send*`` methods that show the user nothing guardrail should judge."""
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")


def classify(method: str) -> str:
    """``guarded``, ``uninspected`` or ``unguarded``."""
    name = method.lower()
    if name in TEXT_METHODS or name in CAPTION_METHODS or name == "sendpoll":
        return "guarded"
    if name in UNGUARDED or not name.startswith(_SENDING_PREFIXES):
        return "unguarded"
    return "uninspected"


def guarded(method: str, call: Call) -> Guarded | str:
    """The message a sending call carries, or an error description (400)."""
    name = method.lower()
    chat = call.params.get("chat_id")
    if isinstance(chat, bool) or not isinstance(chat, int | str) or not str(chat).strip():
        return "Bad Request: chat_id is required (guardrail decides per chat)"
    message = Guarded(user_id=str(chat).strip())
    if name in TEXT_METHODS:
        text = call.params.get("text")
        if not isinstance(text, str) or not text:
            return "Bad Request: message text is empty"
        message.texts.append((("text",), text))
    elif name == "sendpoll":
        question = call.params.get("question")
        if isinstance(question, str):
            message.texts.append((("question",), question))
        options = call.decoded("options")
        collect(options, ("options",), ("text",), message.texts)
        if isinstance(options, list):
            for i, option in enumerate(options):
                if isinstance(option, str):
                    message.texts.append((("options", i), option))
    elif name in CAPTION_METHODS:
        caption = call.params.get("caption")
        if isinstance(caption, str) and caption:
            message.texts.append((("caption",), caption))
        collect(call.decoded("media"), ("media",), ("caption",), message.texts)
        message.media = CAPTION_METHODS[name] or None
    else:
        message.media = name.removeprefix("send") or name
    if call.files and message.media is None:
        message.media = "file"
    return message


def error(code: int, description: str, **extra: Any) -> dict[str, Any]:
    """The Bot API's error body: client libraries raise from ``error_code`` and
    ``description`` (403 → Forbidden, 401 → InvalidToken, 400 → BadRequest)."""
    return {"ok": False, "error_code": code, "description": description, **extra}
