"""Outreach routes: decide only (``check``) or decide and deliver (``send``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from guardrail.api.deps import caller, json_body, parse_body
from guardrail.models import Decision, OutreachRequest, Verdict
from guardrail.service.access import authorise_bot
from guardrail.service.outreach import decide_outreach, deliver, upstream_for

router = APIRouter(prefix="/v1/outreach", tags=["outreach"])


@router.post(
    "/check",
    response_model=Decision,
    summary="Decide only; the engine delivers itself",
    openapi_extra=json_body(OutreachRequest),
)
async def check(request: Request) -> Response:
    gateway, principal = caller(request)
    req = await parse_body(request, OutreachRequest)
    tenant = authorise_bot(gateway, principal, req.bot_id)
    decision = await decide_outreach(gateway, tenant, req)
    return Response(decision.model_dump_json(), media_type="application/json")


@router.post(
    "/send",
    response_model=Decision,
    summary="Decide, then deliver through the bot's upstream adapter",
    responses={
        502: {
            "description": "allowed, but the upstream refused or failed: not counted, unless "
            "delivery.uncertain (a timeout or 5xx: it may have gone out, so it counts)"
        }
    },
    openapi_extra=json_body(OutreachRequest),
)
async def send(request: Request) -> Response:
    gateway, principal = caller(request)
    req = await parse_body(request, OutreachRequest)
    tenant = authorise_bot(gateway, principal, req.bot_id)
    upstream_for(gateway, req.bot_id)
    decision = await decide_outreach(gateway, tenant, req)
    code = status.HTTP_200_OK
    if decision.verdict in (Verdict.ALLOW, Verdict.REWRITE):
        delivery = await deliver(gateway, tenant, req, decision)
        decision = decision.model_copy(update={"delivery": delivery})
        if delivery.status == "failed":
            code = status.HTTP_502_BAD_GATEWAY
    return Response(decision.model_dump_json(), status_code=code, media_type="application/json")
