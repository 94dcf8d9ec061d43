"""WhatsApp Cloud API (Meta Graph API) text messages.

Request: ``POST {url}`` where url is the phone number's messages edge, e.g.
``https://graph.facebook.com/v21.0/<PHONE_NUMBER_ID>/messages``, with ``Authorization:
Bearer <token>`` (a system-user access token) and a ``type: text`` message body.

Refusal: HTTP 400 in the Graph API error shape, so a bot using any Cloud API client gets
an ordinary API error it already logs and handles. ``code`` mirrors the HTTP meaning (403
block, 429 defer) and does not collide with Meta's own codes; guardrail's verdict, rule ids
and retry time travel in ``error_data`` and the decision id in ``fbtrace_id``, the field
operators already quote when reporting a failed send.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from guardrail.adapters.base import Adapter, AdapterConfig, Outbound
from guardrail.adapters.graph import graph_refusal
from guardrail.models import Decision


class WhatsAppAdapter(Adapter):
    """Sends ``type: text`` messages through the Cloud API's ``/messages`` edge."""

    name: ClassVar[str] = "whatsapp"

    @classmethod
    def check_config(cls, config: AdapterConfig) -> None:
        if not config.has_token:
            raise ValueError("whatsapp adapter needs token or token_env (a Graph API token)")
        if not httpx.URL(config.url).path.rstrip("/").endswith("/messages"):
            raise ValueError("whatsapp url must end with /<PHONE_NUMBER_ID>/messages")

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
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            return super()._error_detail(payload)
        message = error.get("message")
        code = error.get("code")
        details = error.get("error_data", {})
        extra = details.get("details") if isinstance(details, dict) else None
        parts = [f"({code})" if code is not None else "", str(message or ""), str(extra or "")]
        return " ".join(p for p in parts if p) or None

    def refusal(self, decision: Decision) -> tuple[int, dict[str, Any]]:
        return graph_refusal(decision, "whatsapp")
