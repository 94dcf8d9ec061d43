"""The Telegram Bot API as guardrail's proxy sees it: which methods show a person text,
where every such text is, and the Bot API's error shape.

Methods are case-insensitive, as the Bot API treats them. A method is one of:

* guarded: it sends or changes what one chat reads (``sendMessage``, ``editMessageText``,
  ``sendPhoto`` with its caption, ``sendPoll``, ``editMessageReplyMarkup``...); decided like
  any outreach, over every text a person sees in it together: the text or caption, button
  labels (inline and reply keyboards, the input placeholder), poll question, options and
  explanation, venue and invoice titles;
* shown: it sets text people see without one recipient (``answerCallbackQuery``'s
  notification, ``answerInlineQuery``'s results, ``setMyName``, ``setMyDescription``,
  commands, the menu button, a chat's title); its texts get the content checks (floors,
  PII, classifiers) as a proactive message would, and it is forwarded only if they pass;
* uninspected: it sends content guardrail cannot read (stickers, locations, forwarded or
  copied messages, and any ``send``/``edit``/``copy``/``forward`` method this table does
  not know); decided like media, refused unless the bot's ``proxy_media`` is ``pass``;
* unguarded: it shows no one any text (``getMe``, ``getUpdates``, ``setWebhook``,
  ``sendChatAction``, ``deleteMessage``...); forwarded unless ``proxy_unguarded`` is
  ``refuse``;
* unknown: anything else (a method newer than this table): it may show text nobody
  checked, so it is refused unless ``proxy_unknown`` is ``pass``.
"""

from __future__ import annotations

from typing import Any, Final

from guardrail.platforms.proxy.body import Call
from guardrail.platforms.proxy.message import Guarded, Path, collect

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
FIELD_METHODS: Final[dict[str, tuple[str, ...]]] = {
    "sendpoll": ("question", "explanation"),
    "editmessagereplymarkup": (),
    "sendvenue": ("title", "address"),
    "sendcontact": ("first_name", "last_name"),
    "sendinvoice": ("title", "description"),
    "sendchecklist": (),
    "editmessagechecklist": (),
    "sendgift": ("text",),
    "giftpremiumsubscription": ("text",),
    "stoppoll": (),
}
"""Other methods to one chat, and the top-level fields of theirs a person reads (their
nested texts: :data:`NESTED_TEXT`)."""
SHOWN: Final[dict[str, tuple[str, ...]]] = {
    "answercallbackquery": ("text",),
    "answerinlinequery": ("results", "button"),
    "answerwebappquery": ("result",),
    "savepreparedinlinemessage": ("result",),
    "answershippingquery": ("error_message",),
    "answerprecheckoutquery": ("error_message",),
    "setmyname": ("name",),
    "setmydescription": ("description",),
    "setmyshortdescription": ("short_description",),
    "setmycommands": ("commands",),
    "setchatmenubutton": ("menu_button",),
    "setchattitle": ("title",),
    "setchatdescription": ("description",),
    "setbusinessaccountname": ("first_name", "last_name"),
    "setbusinessaccountbio": ("bio",),
    "poststory": ("caption",),
    "editstory": ("caption",),
    "setcustomemojistickersettitle": ("title",),
    "setstickersettitle": ("title",),
    "createnewstickerset": ("title",),
    "createinvoicelink": ("title", "description"),
}
"""Methods that set text people see without one recipient, and where it is."""
NESTED_TEXT: Final = (
    "text",
    "caption",
    "title",
    "description",
    "message_text",
    "question",
    "explanation",
    "input_field_placeholder",
    "first_name",
    "last_name",
    "address",
    "name",
    "short_description",
    "error_message",
    "bio",
)
"""Keys whose string values a person reads, wherever they sit in a call (buttons, inline
results, options, commands, tasks)."""
TEXT_LISTS: Final = ("keyboard", "options")
"""Lists whose bare strings are labels (``keyboard: [["Yes", "No"]]``, poll options)."""
UNGUARDED = frozenset(
    {
        "getme",
        "getupdates",
        "setwebhook",
        "deletewebhook",
        "getwebhookinfo",
        "logout",
        "close",
        "sendchataction",
        "getfile",
        "getchat",
        "getchatadministrators",
        "getchatmembercount",
        "getchatmember",
        "getuserprofilephotos",
        "getmycommands",
        "getmyname",
        "getmydescription",
        "getmyshortdescription",
        "getchatmenubutton",
        "getmydefaultadministratorrights",
        "deletemycommands",
        "deletemessage",
        "deletemessages",
        "pinchatmessage",
        "unpinchatmessage",
        "unpinallchatmessages",
        "leavechat",
        "banchatmember",
        "unbanchatmember",
        "restrictchatmember",
        "promotechatmember",
        "approvechatjoinrequest",
        "declinechatjoinrequest",
        "setmessagereaction",
        "getstickerset",
        "getcustomemojistickers",
        "getforumtopiciconstickers",
        "getstartransactions",
        "getbusinessconnection",
        "getuserchatboosts",
        "getavailablegifts",
        "readbusinessmessage",
        "getgamehighscores",
        "stopmessagelivelocation",
    }
)
"""Methods that show no one any text."""
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")


def classify(method: str) -> str:
    """``guarded``, ``shown``, ``uninspected``, ``unguarded`` or ``unknown``."""
    name = method.lower()
    if name in TEXT_METHODS or name in CAPTION_METHODS or name in FIELD_METHODS:
        return "guarded"
    if name in SHOWN:
        return "shown"
    if name in UNGUARDED:
        return "unguarded"
    if name.startswith(_SENDING_PREFIXES):
        return "uninspected"
    return "unknown"


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
    elif name in FIELD_METHODS:
        for key in FIELD_METHODS[name]:
            value = call.params.get(key)
            if isinstance(value, str) and value:
                message.texts.append(((key,), value))
        for key in ("options", "checklist"):
            _nested(call, key, message.texts)
    elif name in CAPTION_METHODS:
        caption = call.params.get("caption")
        if isinstance(caption, str) and caption:
            message.texts.append((("caption",), caption))
        collect(call.decoded("media"), ("media",), ("caption",), message.texts)
        message.media = CAPTION_METHODS[name] or None
    else:
        message.media = name.removeprefix("send") or name
    _nested(call, "reply_markup", message.texts)
    if call.files and message.media is None:
        message.media = "file"
    return message


def shown(method: str, call: Call) -> Guarded:
    """The texts a call without one recipient shows (``user_id`` names the method, so the
    audit record says what was checked)."""
    message = Guarded(user_id=f"telegram:{method}")
    for key in SHOWN[method.lower()]:
        value = call.params.get(key)
        if isinstance(value, str):
            if value:
                message.texts.append(((key,), value))
        else:
            _nested(call, key, message.texts)
    message.label = method
    return message


def _nested(call: Call, key: str, found: list[tuple[Path, str]]) -> None:
    """Every text a person reads inside parameter ``key`` (decoded from JSON when a form
    client sent it as a string)."""
    value = call.decoded(key)
    if isinstance(value, dict | list):
        _walk(value, (key,), found, key in TEXT_LISTS)


def _walk(value: Any, path: Path, found: list[tuple[Path, str]], labels: bool) -> None:
    if isinstance(value, dict):
        for k, item in value.items():
            if k in NESTED_TEXT and isinstance(item, str):
                if item:
                    found.append(((*path, k), item))
            else:
                _walk(item, (*path, k), found, k in TEXT_LISTS)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) and labels and item:
                found.append(((*path, i), item))
            else:
                _walk(item, (*path, i), found, labels)


def error(code: int, description: str, **extra: Any) -> dict[str, Any]:
    """The Bot API's error body: client libraries raise from ``error_code`` and
    ``description`` (403 → Forbidden, 401 → InvalidToken, 400 → BadRequest)."""
    return {"ok": False, "error_code": code, "description": description, **extra}
