"""WhatsApp Cloud API webhook: Meta's subscription handshake and signed inbound events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from guardrail.api.deps import GatewayDep
from guardrail.api.meta_signed import handshake, record_all, signed_payload
from guardrail.config import WhatsAppConfig
from guardrail.gateway import Gateway
from guardrail.webhooks.whatsapp import parse_events

router = APIRouter(prefix="/v1/webhooks/whatsapp", tags=["webhooks"])


def _config(gateway: Gateway) -> WhatsAppConfig:
    if gateway.settings.whatsapp is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the WhatsApp webhook is not configured")
    return gateway.settings.whatsapp


@router.get("", response_class=PlainTextResponse, summary="Meta's verification handshake")
async def verify(request: Request, gateway: GatewayDep) -> str:
    return handshake(request, _config(gateway).verify_token)


@router.post("", summary="Inbound messages and statuses, signed with X-Hub-Signature-256")
async def receive(request: Request, gateway: GatewayDep) -> dict[str, Any]:
    config = _config(gateway)
    payload = await signed_payload(request, config.app_secret)
    try:
        parsed = parse_events(payload, lambda pid: _bot(config, pid))
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed webhook: {exc}") from exc
    warnings = list(parsed.warnings)
    events = ((config.phone_numbers[i.phone_number_id].tenant, i.event) for i in parsed.events)
    recorded = await record_all(gateway, events, "whatsapp webhook", warnings)
    return {"recorded": recorded, "warnings": warnings}


def _bot(config: WhatsAppConfig, phone_number_id: str) -> str | None:
    number = config.phone_numbers.get(phone_number_id)
    return number.bot if number else None
