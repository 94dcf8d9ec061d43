"""Delivery through the Meta Graph API's ``POST /{id}/messages`` edge: WhatsApp Cloud API,
Messenger and Instagram.

WhatsApp: ``url`` is the phone number's messages edge, e.g.
``https://graph.facebook.com/v21.0/<PHONE_NUMBER_ID>/messages``, with ``Authorization:
Bearer <token>`` (a system-user access token) and a ``type: text`` message body.

Messenger and Instagram: ``url`` is the page's (or Instagram account's) messages edge,
e.g. ``https://graph.facebook.com/v21.0/<PAGE_ID>/messages``, with ``Authorization:
Bearer <page access token>`` and ``{"recipient": {"id": <PSID/IGSID>}, "messaging_type":
"UPDATE", "message": {"text": ...}}``. Guardrail's own sends are ``UPDATE`` (within the
24-hour standard window, which the channel_window rule enforces); proxy mode forwards the
bot's own ``messaging_type`` and ``tag``.

Refusals: HTTP 400 in the Graph API error shape (:mod:`guardrail.platforms.meta.graph`),
so a bot using any Graph client gets an ordinary API error it already logs and handles.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from guardrail.models import Decision
from guardrail.platforms.adapter import Adapter, AdapterConfig, Outbound
from guardrail.platforms.meta.graph import graph_error_detail, graph_refusal


def _messages_edge(cls: type[Adapter], config: AdapterConfig, credential: str, edge: str) -> None:
    if not config.has_token:
        raise ValueError(f"{cls.name} adapter needs token or token_env ({credential})")
    if not httpx.URL(config.url).path.rstrip("/").endswith("/messages"):
        raise ValueError(f"{cls.name} url must end with /<{edge}>/messages")


class WhatsAppAdapter(Adapter):
    """Sends ``type: text`` messages through the Cloud API's ``/messages`` edge."""

    name: ClassVar[str] = "whatsapp"

    @classmethod
    def check_config(cls, config: AdapterConfig) -> None:
        _messages_edge(cls, config, "a Graph API token", "PHONE_NUMBER_ID")

    def _outbound(self, *, bot_id: str, user_id: str, text: str) -> Outbound:
        return Outbound(
            url=self.config.url,
            json={
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": user_id,
                "type": "text",
                "text": {"body": text},
            },
            headers={"Authorization": f"Bearer {self._token}"},
        )

    def _error_detail(self, payload: Any) -> str | None:
        return graph_error_detail(payload) or super()._error_detail(payload)

    def refusal(self, decision: Decision) -> tuple[int, dict[str, Any]]:
        return graph_refusal(decision, "whatsapp")


class MessengerAdapter(Adapter):
    """Sends text through a Facebook page's ``/messages`` edge; the user id is the PSID."""

    name: ClassVar[str] = "messenger"
    product: ClassVar[str] = "messenger"

    @classmethod
    def check_config(cls, config: AdapterConfig) -> None:
        _messages_edge(cls, config, "a page access token", "ID")

    def _outbound(self, *, bot_id: str, user_id: str, text: str) -> Outbound:
        return Outbound(
            url=self.config.url,
            json={
                "recipient": {"id": user_id},
                "messaging_type": "UPDATE",
                "message": {"text": text},
            },
            headers={"Authorization": f"Bearer {self._token}"},
        )

    def _error_detail(self, payload: Any) -> str | None:
        return graph_error_detail(payload) or super()._error_detail(payload)

    def refusal(self, decision: Decision) -> tuple[int, dict[str, Any]]:
        return graph_refusal(decision, self.product)


class InstagramAdapter(MessengerAdapter):
    """Instagram messaging: the same Send API shape; the user id is the IGSID."""

    name: ClassVar[str] = "instagram"
    product: ClassVar[str] = "instagram"
