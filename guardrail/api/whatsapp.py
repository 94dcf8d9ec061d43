"""WhatsApp Cloud API webhook: Meta's subscription handshake and signed inbound events."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from guardrail.api.deps import GatewayDep
from guardrail.api.events import record_event
from guardrail.config import WhatsAppConfig
from guardrail.gateway import Gateway
from guardrail.state.common import TimestampOutOfRange, to_epoch
from guardrail.webhooks.whatsapp import SIGNATURE_HEADER, parse_events, verify_signature

router = APIRouter(prefix="/v1/webhooks/whatsapp", tags=["webhooks"])


def _config(gateway: Gateway) -> WhatsAppConfig:
    if gateway.settings.whatsapp is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the WhatsApp webhook is not configured")
    return gateway.settings.whatsapp


@router.get("", response_class=PlainTextResponse, summary="Meta's verification handshake")
async def verify(request: Request, gateway: GatewayDep) -> str:
    config = _config(gateway)
    params = request.query_params
    expected = config.verify_token.get_secret_value() if config.verify_token else ""
    given = params.get("hub.verify_token", "")
    if (
        params.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given, expected)
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "verification failed")
    return params.get("hub.challenge", "")


@router.post("", summary="Inbound messages and statuses, signed with X-Hub-Signature-256")
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
        parsed = parse_events(payload, lambda pid: _bot(config, pid))
    except RecursionError as exc:  # json.loads on a body nested thousands deep
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "malformed webhook: nested too deep"
        ) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed webhook: {exc}") from exc
    recorded, warnings = 0, list(parsed.warnings)
    for item in parsed.events:
        number = config.phone_numbers[item.phone_number_id]
        try:
            to_epoch(item.event.ts)
        except TimestampOutOfRange as exc:  # Meta's retry would carry the same time
            warnings.append(f"skipped event {item.event.event_id}: {exc}")
            continue
        # Applied one by one, each marked seen only once applied: a 503 makes Meta retry the
        # whole payload, and the retry skips what was applied and applies the rest.
        result = await record_event(
            gateway, number.tenant, item.event, source="webhook", via="whatsapp webhook"
        )
        recorded += not result.duplicate
    return {"recorded": recorded, "warnings": warnings}


def _bot(config: WhatsAppConfig, phone_number_id: str) -> str | None:
    number = config.phone_numbers.get(phone_number_id)
    return number.bot if number else None
