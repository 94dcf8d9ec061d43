"""Meta's routes: the Graph API proxy (WhatsApp Cloud API, Messenger, Instagram) and the
signed inbound webhooks.

Proxy: ``base URL ".../v1/proxy/graph"``; the bot is found by the token its Graph client
already sends (``Authorization: Bearer`` or ``access_token``). A ``POST .../messages``
that sends a user something is decided over every text a person sees in it; a profile
call (greeting, menu, ice breakers, business profile) gets the content checks; reads and
the POSTs known to show no text pass through to the configured host; other POSTs are
refused unless the bot's ``proxy_unknown`` is ``pass``
(:mod:`guardrail.platforms.meta.proxy`). The older ``/whatsapp/{bot_id}/messages``
route takes a guardrail API key and JSON only.

Webhooks: ``/v1/webhooks/whatsapp`` and ``/v1/webhooks/meta`` (Messenger and Instagram),
Meta's subscription handshake and events signed with ``X-Hub-Signature-256``, recorded as
platform evidence.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict

from guardrail.api.deps import GatewayDep, PrincipalDep, get_gateway
from guardrail.api.schemas import WebhookReceipt
from guardrail.config import MetaWebhookConfig, WhatsAppConfig
from guardrail.gateway import Gateway
from guardrail.models import Channel
from guardrail.platforms.adapter import Adapter, Outbound
from guardrail.platforms.meta import graph, webhook_messenger, webhook_whatsapp
from guardrail.platforms.meta import proxy as meta_proxy
from guardrail.platforms.meta.adapters import InstagramAdapter, MessengerAdapter, WhatsAppAdapter
from guardrail.platforms.meta.signed import handshake, signed_payload
from guardrail.platforms.proxy.body import form_values, read_call
from guardrail.platforms.proxy.guard import (
    decide_and_send,
    decide_shown_and_forward,
    guarded_route,
    pass_through,
    platform_response,
    proxy_with_key,
    refuse_unknown_call,
    safe_path,
)
from guardrail.platforms.proxy.identity import bearer, bot_for_token
from guardrail.platforms.proxy.message import Guarded
from guardrail.service.events import record_all

proxy_router = APIRouter(prefix="/v1/proxy", tags=["proxy"])
whatsapp_webhook = APIRouter(prefix="/v1/webhooks/whatsapp", tags=["webhooks"])
meta_webhook = APIRouter(prefix="/v1/webhooks/meta", tags=["webhooks"])


# --------------------------------------------------------------------------- proxy

_GRAPH_CHANNELS: dict[type[Adapter], Channel] = {
    WhatsAppAdapter: Channel.WHATSAPP,
    MessengerAdapter: Channel.MESSENGER,
    InstagramAdapter: Channel.INSTAGRAM,
}


PLATFORM_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the Graph API's own answer, or a refusal in its error shape "
        "(error: message, type, code, error_data, fbtrace_id)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class WhatsAppText(BaseModel):
    body: str


class WhatsAppMessage(BaseModel):
    """The Cloud API ``/messages`` body (text messages; other fields are passed over)."""

    model_config = ConfigDict(extra="allow")
    messaging_product: str = "whatsapp"
    to: str
    type: str = "text"
    text: WhatsAppText


def graph_error(code: int, text: str) -> tuple[int, dict[str, Any]]:
    """guardrail's error as the Graph API shapes one (401 OAuth, else 400 with a code)."""
    trace = uuid.uuid4().hex
    if code == 401:
        return 401, graph.unauthorized(trace)
    if code >= 500:
        return code, graph.bad_request(text, trace, code=2)  # 2: "service temporarily down"
    return 400, graph.bad_request(text, trace, code=100 if code != 403 else 403)


async def graph_call(path: str, request: Request) -> Response:
    gateway = get_gateway(request)
    call = await read_call(request, drop=("access_token",))
    token = bearer(request.headers.get("authorization"))
    if token is None:
        given = call.dropped.get("access_token")
        token = given if isinstance(given, str) else None
    bot_id = bot_for_token(gateway.settings, token)
    if bot_id is None:
        return platform_response(graph_error, 401, "Unauthorized")
    adapter = gateway.adapter_for(bot_id)
    channel = _GRAPH_CHANNELS.get(type(adapter)) if adapter is not None else None
    if adapter is None or channel is None:
        return platform_response(
            graph_error, 400, f"bot {bot_id} has no WhatsApp, Messenger or Instagram upstream"
        )
    path = path.strip("/")
    if not safe_path(path):
        return platform_response(graph_error, 400, f"unsupported path /{path}")
    for override in ("batch", "method"):
        # A batch, or a GET that says method=post, would send messages past the guard.
        if override in call.params:
            return platform_response(
                graph_error, 400, f"the {override} parameter is not supported by the proxy"
            )
    auth = {"Authorization": f"Bearer {adapter.token}"}
    is_send = request.method == "POST" and ("/" + path.lower()).endswith("/messages")
    message: Guarded | str | None = None
    if is_send:
        parse = (
            meta_proxy.whatsapp_message
            if channel is Channel.WHATSAPP
            else meta_proxy.messenger_message
        )
        message = parse(call)
    if isinstance(message, str):
        return platform_response(graph_error, 400, message)
    bot = gateway.settings.bots[bot_id]
    segments = path.lower().split("/")
    edge, account = segments[-1], segments[-2] if len(segments) > 1 else "me"
    shown = (
        meta_proxy.profile_message(edge, call, account)
        if request.method == "POST" and not is_send
        else None
    )
    known = (
        request.method != "POST" or is_send or shown is not None or edge in meta_proxy.KNOWN_EDGES
    )
    if not known and bot.proxy_unknown != "pass":
        return refuse_unknown_call(graph_error, f"POST /{path}", bot_id)
    if shown is not None:

        async def forward(placed: dict[str, Any]) -> Response:
            target = httpx.URL(adapter.config.url).copy_with(path=f"/{path}", query=None)
            return await pass_through(
                adapter, "POST", str(target), error=graph_error, json=placed, headers=auth
            )

        params = {k: call.decoded(k) for k in call.params}
        return await decide_shown_and_forward(
            gateway,
            request,
            bot_id=bot_id,
            channel=channel,
            adapter=adapter,
            message=shown,
            params=params,
            forward=forward,
            error=graph_error,
        )
    if message is None:
        if known and bot.proxy_unguarded != "pass":
            return platform_response(
                graph_error,
                403,
                f"refused by guardrail: {request.method} /{path} is not allowed through the "
                f"proxy (bot {bot_id} has proxy_unguarded: refuse)",
            )
        # The path replaces the configured one on the configured host, never another host.
        target = httpx.URL(adapter.config.url).copy_with(path=f"/{path}", query=None)
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "access_token"]
        body: dict[str, Any] = {}
        if call.encoding == "json":
            body["json"] = call.body_params()
        elif call.encoding in ("form", "multipart"):
            body["data"] = form_values(call.body_params())
            body["files"] = [(f.field, (f.filename, f.data, f.content_type)) for f in call.files]
        return await pass_through(
            adapter,
            request.method,
            str(target),
            error=graph_error,
            params=query,
            headers=auth,
            **body,
        )
    params = {k: call.decoded(k) for k in call.params}
    url = adapter.config.url
    return await decide_and_send(
        gateway,
        request,
        bot_id=bot_id,
        channel=channel,
        adapter=adapter,
        message=message,
        params=params,
        outbound=lambda placed: Outbound(url, placed, dict(auth)),
        error=graph_error,
    )


async def whatsapp_messages(
    bot_id: str,
    message: WhatsAppMessage,
    request: Request,
    gateway: GatewayDep,
    principal: PrincipalDep,
) -> JSONResponse:
    return await proxy_with_key(
        gateway,
        principal,
        request,
        bot_id=bot_id,
        channel=Channel.WHATSAPP,
        adapter_type=WhatsAppAdapter,
        user_id=message.to,
        text=message.text.body,
    )


for _method in ("GET", "POST", "DELETE"):  # one route per method: one operation id each
    proxy_router.add_api_route(
        "/graph/{path:path}",
        guarded_route(graph_call, graph_error),
        methods=[_method],
        name=f"graph_{_method.lower()}",
        responses=PLATFORM_ANSWER,
        summary="Graph API (WhatsApp Cloud API, Messenger, Instagram); the bot's own token",
        tags=["proxy"],
    )
proxy_router.add_api_route(
    "/whatsapp/{bot_id}/messages",
    whatsapp_messages,
    methods=["POST"],
    responses=PLATFORM_ANSWER,
    summary="WhatsApp Cloud API /messages, guarded (guardrail API key)",
)


# --------------------------------------------------------------------------- webhooks


def _whatsapp(gateway: Gateway) -> WhatsAppConfig:
    if gateway.settings.whatsapp is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the WhatsApp webhook is not configured")
    return gateway.settings.whatsapp


def _meta(gateway: Gateway) -> MetaWebhookConfig:
    if gateway.settings.meta is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Meta webhook is not configured")
    return gateway.settings.meta


def _malformed(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed webhook: {exc}")


@whatsapp_webhook.get(
    "", name="verify", response_class=PlainTextResponse, summary="Meta's verification handshake"
)
async def whatsapp_verify(request: Request, gateway: GatewayDep) -> str:
    return handshake(request, _whatsapp(gateway).verify_token)


@whatsapp_webhook.post(
    "",
    name="receive",
    response_model=WebhookReceipt,
    summary="Inbound messages and statuses, signed with X-Hub-Signature-256",
)
async def whatsapp_receive(request: Request, gateway: GatewayDep) -> dict[str, Any]:
    config = _whatsapp(gateway)
    payload = await signed_payload(request, config.app_secret)

    def bot_of(phone_number_id: str) -> str | None:
        number = config.phone_numbers.get(phone_number_id)
        return number.bot if number else None

    try:
        parsed = webhook_whatsapp.parse_events(payload, bot_of)
    except ValueError as exc:
        raise _malformed(exc) from exc
    warnings = list(parsed.warnings)
    events = ((config.phone_numbers[i.phone_number_id].tenant, i.event) for i in parsed.events)
    recorded = await record_all(gateway, events, "whatsapp webhook", warnings)
    return {"recorded": recorded, "warnings": warnings}


@meta_webhook.get(
    "", name="verify", response_class=PlainTextResponse, summary="Meta's verification handshake"
)
async def meta_verify(request: Request, gateway: GatewayDep) -> str:
    return handshake(request, _meta(gateway).verify_token)


@meta_webhook.post(
    "",
    name="receive",
    response_model=WebhookReceipt,
    summary="Messenger and Instagram messages, signed with X-Hub-Signature-256",
)
async def meta_receive(request: Request, gateway: GatewayDep) -> dict[str, Any]:
    config = _meta(gateway)
    payload = await signed_payload(request, config.app_secret)

    def bot_of(account_id: str) -> str | None:
        page = config.pages.get(account_id)
        return page.bot if page else None

    try:
        parsed = webhook_messenger.parse_events(payload, bot_of)
    except ValueError as exc:
        raise _malformed(exc) from exc
    warnings = list(parsed.warnings)
    events = ((config.pages[i.account_id].tenant, i.event) for i in parsed.events)
    recorded = await record_all(gateway, events, "meta webhook", warnings)
    return {"recorded": recorded, "warnings": warnings}
