"""Inbound events forwarded by the bot platform or the operator's engine."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from guardrail.api.deps import authorise_bot, caller, check_text, json_body, parse_body
from guardrail.events import ingest
from guardrail.gateway import Gateway
from guardrail.models import Event, EventResult
from guardrail.state.base import StoreUnavailable

router = APIRouter(prefix="/v1", tags=["events"])


async def record_event(gateway: Gateway, tenant: str, event: Event) -> EventResult:
    """Ingest one event; 503 (so the sender retries) when the store is down."""
    try:
        result = await ingest(gateway.store, gateway.detector, tenant, event)
    except StoreUnavailable as exc:
        gateway.metrics.events.labels(event.type.value, "store_unavailable").inc()
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"state store unavailable, retry: {exc}"
        ) from exc
    outcome = "duplicate" if result.duplicate else (result.consent or "recorded")
    gateway.metrics.events.labels(event.type.value, outcome).inc()
    return result


@router.post("/events", response_model=EventResult, openapi_extra=json_body(Event))
async def post_event(request: Request) -> Response:
    gateway, principal = caller(request)
    event = await parse_body(request, Event)
    tenant = authorise_bot(gateway, principal, event.bot_id)
    if event.text is not None:
        check_text(gateway, event.text)
    result = await record_event(gateway, tenant, event)
    return Response(result.model_dump_json(), media_type="application/json")
