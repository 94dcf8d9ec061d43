"""The Graph API calls (WhatsApp Cloud API, Messenger, Instagram) as the proxy sees them:
what a ``POST /{id}/messages`` body sends to whom and every text a person sees in it, the
profile calls whose texts every user sees, and the calls known to show none.

Form clients (Meta's curl samples) send objects as JSON strings (``message={"text":..}``);
:meth:`Call.decoded` reads both. A body that sends nothing to a user (WhatsApp's
``status: read``, Messenger's ``sender_action``) is not a message and passes through.

Visible texts: a message's text and caption; interactive headers, bodies, footers, button
and list labels, list rows, ``cta_url`` display texts and URLs, flow call-to-action labels;
what a template fills in (parameters, currency and date fallbacks); a location's name and
address and a shared contact's names; Messenger templates' titles, subtitles and buttons,
quick replies. Profile calls (:data:`PROFILE_EDGES`): Messenger's greeting, persistent menu
and ice breakers, WhatsApp's business profile and conversational automation.
"""

from __future__ import annotations

from guardrail.platforms.proxy.body import Call
from guardrail.platforms.proxy.message import Guarded, collect

WA_MEDIA = ("image", "video", "document", "audio", "sticker")
WA_UNINSPECTED = ("reaction",)
INTERACTIVE_TEXT = (
    "text",
    "title",
    "description",
    "button",
    "display_text",
    "flow_cta",
    "url",
    "caption",
    "footer_text",
)
TEMPLATE_TEXT = ("text", "fallback_value", "coupon_code", "caption")
CONTACT_TEXT = ("formatted_name", "first_name", "last_name", "middle_name", "company", "title")
MESSENGER_TEXT = ("text", "title", "subtitle", "recipient_name", "question")
PROFILE_EDGES = {
    "messenger_profile": ("text", "title", "question"),
    "whatsapp_business_profile": ("about", "description", "address", "vertical"),
    "conversational_automation": ("prompts", "description", "command_description"),
}
"""Graph edges (the last path segment) that set texts every user of the account sees, and
the keys of those texts."""
KNOWN_EDGES = frozenset(
    {
        "media",
        "message_attachments",
        "subscribed_apps",
        "register",
        "deregister",
        "request_code",
        "verify_code",
        "message_templates",
        "phone_numbers",
        "flows",
        "assets",
        "publish",
    }
)
"""POST edges known to show no one text of their own (uploads, set-up, templates Meta
reviews): passed through as calls that send nothing."""


def whatsapp_message(call: Call) -> Guarded | str | None:
    """The message of a Cloud API ``/messages`` body; None when it sends none (a read
    receipt), a string when it is malformed."""
    params = {k: call.decoded(k) for k in call.params}
    if "status" in params and "to" not in params:
        return None  # mark as read / typing indicator
    to = params.get("to")
    if not isinstance(to, str) or not to.strip():
        return "to is required (guardrail decides per recipient)"
    kind = params.get("type", "text")
    message = Guarded(user_id=to.strip())
    if kind == "text":
        text = params.get("text")
        body = text.get("body") if isinstance(text, dict) else None
        if not isinstance(body, str) or not body:
            return "text.body is required for a text message"
        message.texts.append((("text", "body"), body))
    elif kind == "template":
        template = params.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            return "template.name is required for a template message"
        # The approved template's own words are Meta's; what the bot fills in is guarded.
        collect(
            template.get("components"), ("template", "components"), TEMPLATE_TEXT, message.texts
        )
        message.label = f"template {template['name']}"
        message.message_tag = "template"
    elif kind == "interactive":
        interactive = params.get("interactive")
        if not isinstance(interactive, dict):
            return "interactive is required for an interactive message"
        collect(interactive, ("interactive",), INTERACTIVE_TEXT, message.texts)
        header = interactive.get("header")
        if isinstance(header, dict) and header.get("type", "text") != "text":
            message.media = str(header.get("type"))
    elif kind == "location":
        location = params.get("location")
        collect(location, ("location",), ("name", "address"), message.texts)
        if not message.texts:
            message.label = "location"
    elif kind == "contacts":
        collect(params.get("contacts"), ("contacts",), CONTACT_TEXT, message.texts)
        if not message.texts:
            message.label = "contacts"
    elif kind in WA_MEDIA:
        media = params.get(kind)
        caption = media.get("caption") if isinstance(media, dict) else None
        if isinstance(caption, str) and caption:
            message.texts.append(((kind, "caption"), caption))
        message.media = kind
    elif isinstance(kind, str) and kind:
        message.media = kind
    else:
        return "type must be a string"
    return message


def messenger_message(call: Call) -> Guarded | str | None:
    """The message of a Send API body (Messenger, Instagram); None for sender actions."""
    params = {k: call.decoded(k) for k in call.params}
    if "sender_action" in params and "message" not in params:
        return None
    recipient = params.get("recipient")
    user = recipient.get("id") if isinstance(recipient, dict) else None
    if isinstance(user, int) and not isinstance(user, bool):
        user = str(user)
    if not isinstance(user, str) or not user.strip():
        return "recipient.id is required (guardrail decides per recipient)"
    body = params.get("message")
    if not isinstance(body, dict):
        return "message is required"
    message = Guarded(user_id=user.strip())
    messaging_type = params.get("messaging_type", "RESPONSE")
    if messaging_type == "MESSAGE_TAG":
        tag = params.get("tag")
        if not isinstance(tag, str) or not tag:
            return "tag is required when messaging_type is MESSAGE_TAG"
        message.message_tag = tag
    elif messaging_type not in ("RESPONSE", "UPDATE"):
        return f"messaging_type {messaging_type!r} is not RESPONSE, UPDATE or MESSAGE_TAG"
    text = body.get("text")
    if isinstance(text, str) and text:
        message.texts.append((("message", "text"), text))
    attachment = body.get("attachment")
    if attachment is not None:
        collect(attachment, ("message", "attachment"), MESSENGER_TEXT, message.texts)
        kind = attachment.get("type") if isinstance(attachment, dict) else None
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        is_text_template = (
            kind == "template"
            and isinstance(payload, dict)
            and payload.get("template_type") == "button"
        )
        if not is_text_template:
            message.media = str(kind or "attachment")
    collect(body.get("quick_replies"), ("message", "quick_replies"), ("title",), message.texts)
    if not message.texts and message.media is None:
        return "message has neither text nor attachment"
    return message


def profile_message(edge: str, call: Call, account: str) -> Guarded | None:
    """The texts a profile call sets (Messenger greeting, persistent menu and ice breakers;
    WhatsApp business profile and conversational automation); None when ``edge`` is not
    a profile edge. ``user_id`` names the edge for the audit record."""
    keys = PROFILE_EDGES.get(edge)
    if keys is None:
        return None
    message = Guarded(user_id=f"{edge}:{account}", label=edge)
    for key in call.params:
        value = call.decoded(key)
        if key in keys and isinstance(value, str):
            if value:
                message.texts.append(((key,), value))
        elif key in keys and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str) and item:
                    message.texts.append(((key, i), item))
                else:
                    collect(item, (key, i), keys, message.texts)
        else:
            collect(value, (key,), keys, message.texts)
    return message
