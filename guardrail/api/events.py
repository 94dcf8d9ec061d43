"""``POST /v1/events``: inbound events forwarded by the bot platform or the operator's engine.

Who may post what (the evidence model): events saying what the user did or wants
(``user_message``, ``opt_in``, ``opt_out``) come from the platform's side, through an
``ingest`` key or a signed webhook, or from an ``admin`` key. A ``bot`` key may post them
only when ``bots.<id>.forwards_user_events`` says its engine is where they come from; they
are then recorded as the bot's evidence. Delivered and read receipts are open to bot keys.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from guardrail.api.deps import caller, json_body, parse_body
from guardrail.models import Event, EventResult
from guardrail.service.access import authorise_bot, check_text, evidence_role, evidence_source
from guardrail.service.events import record_event
from guardrail.service.profile import remember_user

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", response_model=EventResult, openapi_extra=json_body(Event))
async def post_event(request: Request) -> Response:
    gateway, principal = caller(request)
    event = await parse_body(request, Event)
    tenant = authorise_bot(gateway, principal, event.bot_id, roles=("bot", "ingest", "admin"))
    source = evidence_source(gateway, principal, event)
    if event.text is not None:
        check_text(gateway, event.text)
    if (
        event.jurisdiction is not None
        or event.is_minor is not None
        or event.timezone
        or event.age_assurance is not None
    ):
        await remember_user(gateway, tenant, event, evidence_role(principal))
    result = await record_event(gateway, tenant, event, source=source, via=principal.name)
    return Response(result.model_dump_json(), media_type="application/json")
