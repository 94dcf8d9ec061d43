"""Messenger and Instagram Send API (Meta Graph API ``POST /{id}/messages``).

Request: ``POST {url}`` where url is the page's (or Instagram account's) messages edge,
e.g. ``https://graph.facebook.com/v21.0/<PAGE_ID>/messages``, with ``Authorization:
Bearer <page access token>`` and ``{"recipient": {"id": <PSID/IGSID>}, "messaging_type":
"UPDATE", "message": {"text": ...}}``. Guardrail's own sends are ``UPDATE`` (within the
24-hour standard window, which the channel_window rule enforces); proxy mode forwards the
bot's own ``messaging_type`` and ``tag``.

Refusal: HTTP 400 in the Graph API error shape (see :mod:`guardrail.adapters.graph`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from guardrail.adapters.base import Adapter, AdapterConfig, Outbound
from guardrail.adapters.graph import graph_error_detail, graph_refusal
from guardrail.models import Decision


class MessengerAdapter(Adapter):
    """Sends text through a Facebook page's ``/messages`` edge; the user id is the PSID."""

    name: ClassVar[str] = "messenger"
    product: ClassVar[str] = "messenger"

    @classmethod
    def check_config(cls, config: AdapterConfig) -> None:
        if not config.has_token:
            raise ValueError(f"{cls.name} adapter needs token or token_env (a page access token)")
        if not httpx.URL(config.url).path.rstrip("/").endswith("/messages"):
            raise ValueError(f"{cls.name} url must end with /<ID>/messages")

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
