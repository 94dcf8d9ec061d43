"""Generic JSON webhook: for bots whose delivery side is the operator's own HTTP service.

Request: ``POST {url}`` with ``{"bot_id", "user_id", "text"}``, ``Authorization: Bearer
<token>`` when a token is configured, and an ``Idempotency-Key`` that stays the same across
retries of one message, so the receiver can drop the duplicate a retried timeout may cause.

Refusal: 403 for block, 409 for defer, with guardrail's verdict, rule ids, decision id and
retry time at the top level and the whole decision under ``decision``.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from guardrail.models import Decision, Verdict
from guardrail.platforms.adapter import Adapter, Outbound, refusal_of


class WebhookAdapter(Adapter):
    """POSTs the message as JSON to one URL; any 2xx counts as delivered."""

    name: ClassVar[str] = "webhook"

    def _outbound(self, *, bot_id: str, user_id: str, text: str) -> Outbound:
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return Outbound(
            url=self.config.url,
            json={"bot_id": bot_id, "user_id": user_id, "text": text},
            headers=headers,
        )

    def refusal(self, decision: Decision) -> tuple[int, dict[str, Any]]:
        refused = refusal_of(decision)
        status = 403 if refused.verdict is Verdict.BLOCK else 409
        body: dict[str, Any] = {
            "error": "guardrail_blocked" if status == 403 else "guardrail_deferred",
            "detail": refused.summary,
            **refused.as_json(),
            "decision": decision.model_dump(mode="json"),
        }
        return status, body
