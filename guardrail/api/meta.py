"""Messenger and Instagram webhook: Meta's subscription handshake and signed events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from guardrail.api.deps import GatewayDep
from guardrail.api.meta_signed import handshake, record_all, signed_payload
from guardrail.config import MetaWebhookConfig
from guardrail.gateway import Gateway
from guardrail.webhooks.meta import parse_events

router = APIRouter(prefix="/v1/webhooks/meta", tags=["webhooks"])


def _config(gateway: Gateway) -> MetaWebhookConfig:
    if gateway.settings.meta is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Meta webhook is not configured")
    return gateway.settings.meta


@router.get("", response_class=PlainTextResponse, summary="Meta's verification handshake")
async def verify(request: Request, gateway: GatewayDep) -> str:
    return handshake(request, _config(gateway).verify_token)


@router.post("", summary="Messenger and Instagram messages, signed with X-Hub-Signature-256")
async def receive(request: Request, gateway: GatewayDep) -> dict[str, Any]:
    config = _config(gateway)
    payload = await signed_payload(request, config.app_secret)
    try:
        parsed = parse_events(payload, lambda account: _bot(config, account))
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed webhook: {exc}") from exc
    warnings = list(parsed.warnings)
    events = ((config.pages[i.account_id].tenant, i.event) for i in parsed.events)
    recorded = await record_all(gateway, events, "meta webhook", warnings)
    return {"recorded": recorded, "warnings": warnings}


def _bot(config: MetaWebhookConfig, account_id: str) -> str | None:
    page = config.pages.get(account_id)
    return page.bot if page else None
