"""Messenger and Instagram webhook: Meta's subscription handshake and signed events."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from guardrail.api.deps import GatewayDep
from guardrail.api.events import record_event
from guardrail.config import MetaWebhookConfig
from guardrail.gateway import Gateway
from guardrail.webhooks.meta import parse_events
from guardrail.webhooks.whatsapp import SIGNATURE_HEADER, verify_signature

router = APIRouter(prefix="/v1/webhooks/meta", tags=["webhooks"])


def _config(gateway: Gateway) -> MetaWebhookConfig:
    if gateway.settings.meta is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Meta webhook is not configured")
    return gateway.settings.meta


@router.get("", response_class=PlainTextResponse, summary="Meta's verification handshake")
async def verify(request: Request, gateway: GatewayDep) -> str:
    config = _config(gateway)
    params = request.query_params
    expected = config.verify_token.get_secret_value() if config.verify_token else ""
    given = params.get("hub.verify_token", "")
    if (
        params.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "verification failed")
    return params.get("hub.challenge", "")


@router.post("", summary="Messenger and Instagram messages, signed with X-Hub-Signature-256")
async def receive(request: Request, gateway: GatewayDep) -> dict[str, Any]:
    config = _config(gateway)
    raw = await request.body()
    secret = config.app_secret.get_secret_value()
    if not verify_signature(raw, request.headers.get(SIGNATURE_HEADER), secret):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad or missing X-Hub-Signature-256")
    try:
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
        parsed = parse_events(payload, lambda account: _bot(config, account))
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed webhook: {exc}") from exc
    recorded = 0
    for item in parsed.events:
        page = config.pages[item.account_id]
        result = await record_event(gateway, page.tenant, item.event)  # 503 → Meta retries
        recorded += not result.duplicate
    return {"recorded": recorded, "warnings": parsed.warnings}


def _bot(config: MetaWebhookConfig, account_id: str) -> str | None:
    page = config.pages.get(account_id)
    return page.bot if page else None
