"""Proxy mode: the bot's own platform client points at guardrail instead of the platform.

The request arrives in the platform's shape; an allowed message is delivered upstream and
the platform's answer is passed back; a refused one never leaves, and the bot gets an
error in the shape it already handles. Optional headers carry what the platform shape
cannot: ``X-Guardrail-Kind``, ``X-Guardrail-Timezone``, ``Idempotency-Key``, and, for
policy selection, ``X-Guardrail-Jurisdiction`` and ``X-Guardrail-Minor`` (true/false).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from guardrail.adapters import TelegramAdapter, WhatsAppAdapter
from guardrail.adapters.base import Adapter
from guardrail.api.deps import GatewayDep, PrincipalDep, authorise_bot
from guardrail.api.outreach import deliver, run_decision
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.models import Channel, OutreachRequest, Verdict

router = APIRouter(prefix="/v1/proxy", tags=["proxy"])


class WhatsAppText(BaseModel):
    body: str


class WhatsAppMessage(BaseModel):
    """The Cloud API ``/messages`` body (text messages; other fields are passed over)."""

    model_config = ConfigDict(extra="allow")
    messaging_product: str = "whatsapp"
    to: str
    type: str = "text"
    text: WhatsAppText


class TelegramMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    chat_id: int | str
    text: str


async def _proxy(
    gateway: Gateway,
    principal: Principal,
    request: Request,
    *,
    bot_id: str,
    channel: Channel,
    adapter_type: type[Adapter],
    user_id: str,
    text: str,
) -> JSONResponse:
    tenant = authorise_bot(gateway, principal, bot_id)
    adapter = gateway.adapter_for(bot_id)
    if not isinstance(adapter, adapter_type):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"bot {bot_id!r} has no {adapter_type.name} upstream configured",
        )
    headers = request.headers
    try:
        req = OutreachRequest.model_validate(
            {
                "bot_id": bot_id,
                "user_id": user_id,
                "channel": channel,
                "text": text,
                "kind": headers.get("x-guardrail-kind"),
                "user": {
                    "timezone": headers.get("x-guardrail-timezone"),
                    "jurisdiction": headers.get("x-guardrail-jurisdiction"),
                    "is_minor": headers.get("x-guardrail-minor"),
                },
                "idempotency_key": headers.get("idempotency-key"),
            }
        )
    except ValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _first_error(exc)) from exc
    decision = await run_decision(gateway, tenant, req)
    trace = {
        "X-Guardrail-Decision-Id": decision.decision_id,
        "X-Guardrail-Verdict": decision.verdict.value,
    }
    if decision.verdict in (Verdict.BLOCK, Verdict.DEFER):
        code, body = adapter.refusal(decision)
        return JSONResponse(body, status_code=code, headers=trace)
    delivery = await deliver(gateway, tenant, req, decision)
    if delivery.status == "skipped":
        return JSONResponse(decision.model_dump(mode="json"), status_code=200, headers=trace)
    code = delivery.upstream_status or status.HTTP_502_BAD_GATEWAY
    response: Any = (
        delivery.response if delivery.response is not None else {"error": delivery.error}
    )
    return JSONResponse(response, status_code=code, headers=trace)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


@router.post("/whatsapp/{bot_id}/messages", summary="WhatsApp Cloud API /messages, guarded")
async def whatsapp_messages(
    bot_id: str,
    message: WhatsAppMessage,
    request: Request,
    gateway: GatewayDep,
    principal: PrincipalDep,
) -> JSONResponse:
    return await _proxy(
        gateway,
        principal,
        request,
        bot_id=bot_id,
        channel=Channel.WHATSAPP,
        adapter_type=WhatsAppAdapter,
        user_id=message.to,
        text=message.text.body,
    )


@router.post("/telegram/{bot_id}/sendMessage", summary="Telegram Bot API sendMessage, guarded")
async def telegram_send(
    bot_id: str,
    message: TelegramMessage,
    request: Request,
    gateway: GatewayDep,
    principal: PrincipalDep,
) -> JSONResponse:
    return await _proxy(
        gateway,
        principal,
        request,
        bot_id=bot_id,
        channel=Channel.TELEGRAM,
        adapter_type=TelegramAdapter,
        user_id=str(message.chat_id),
        text=message.text,
    )
