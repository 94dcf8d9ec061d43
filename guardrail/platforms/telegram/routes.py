"""Telegram's proxy routes: the bot's own Bot API client points at guardrail.

``base_url=".../v1/proxy/telegram/bot"``: the bot is found by the token its client already
sends in the path (``bots.<id>.proxy_token_sha256``). Methods that send a message to a
user are decided, over every text a person sees in them; methods that show text without
one recipient (``answerCallbackQuery``, ``setMyName``...) get the content checks; methods
that show no text are passed through, ``getUpdates`` with the user messages in its answer
recorded as events; methods the table does not know are refused unless the bot's
``proxy_unknown`` is ``pass`` (:mod:`guardrail.platforms.telegram.proxy`). The older
``/telegram/{bot_id}/sendMessage`` route takes a guardrail API key and JSON only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from guardrail.api.deps import GatewayDep, PrincipalDep, get_gateway
from guardrail.gateway import Gateway
from guardrail.models import Channel
from guardrail.platforms.adapter import Outbound
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
from guardrail.platforms.proxy.identity import bot_for_token
from guardrail.platforms.telegram import proxy as tg
from guardrail.platforms.telegram.adapter import TelegramAdapter
from guardrail.platforms.telegram.updates import user_events
from guardrail.service.events import record_event
from guardrail.service.limits import event_problem

log = logging.getLogger("guardrail")
router = APIRouter(prefix="/v1/proxy", tags=["proxy"])

_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
PLATFORM_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Telegram's own answer (Bot API JSON: ok, result), or a refusal in "
        "its error shape (ok: false, error_code, description)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class TelegramMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    chat_id: int | str
    text: str


def telegram_error(code: int, text: str) -> tuple[int, dict[str, Any]]:
    """guardrail's error as the Bot API shapes one (``Forbidden: ...``, its status)."""
    prefix = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        413: "Request Entity Too Large",
        429: "Too Many Requests",
    }
    name = prefix.get(code, "Bad Gateway" if code >= 500 else "Bad Request")
    status_code = code if code in prefix or code >= 500 else 400
    body_text = text if text.startswith(f"{name}:") else f"{name}: {text}"
    return status_code, tg.error(status_code, body_text)


async def _record_updates(gateway: Gateway, bot_id: str, upstream: httpx.Response) -> None:
    """Record what users wrote in a ``getUpdates`` answer. A store that is down answers
    503 instead of the updates: the client asks again from the same offset, so Telegram
    sends them again and none is lost (redeliveries are dropped by event id)."""
    try:
        payload = upstream.json()
    except ValueError:
        return
    tenant = gateway.settings.bots[bot_id].tenant
    for event in user_events(payload, bot_id, gateway.clock()):
        problem = event_problem(gateway, event)  # the limits of /v1/events: skipped, logged
        if problem is not None:
            log.warning("telegram update %s of bot %s skipped: %s", event.event_id, bot_id, problem)
            continue
        await record_event(gateway, tenant, event, source="proxy", via="telegram proxy")


async def telegram_call(token: str, method: str, request: Request) -> Response:
    gateway = get_gateway(request)
    bot_id = bot_for_token(gateway.settings, token)
    if bot_id is None:
        return platform_response(telegram_error, 401, "Unauthorized")
    adapter = gateway.adapter_for(bot_id)
    if not isinstance(adapter, TelegramAdapter):
        return platform_response(
            telegram_error, 400, f"bot {bot_id} has no telegram upstream configured"
        )
    if not _METHOD.fullmatch(method):
        return platform_response(telegram_error, 404, "Not Found: method not found")
    call = await read_call(request)
    upstream_url = f"{adapter.config.url.rstrip('/')}/bot{adapter.token}/{method}"
    bot = gateway.settings.bots[bot_id]
    kind = tg.classify(method)
    content_type = request.headers.get("content-type")
    body = await request.body()

    async def untouched(timeout_s: float | None = None, recording: bool = False) -> Response:
        async def seen(upstream: httpx.Response) -> None:
            await _record_updates(gateway, bot_id, upstream)

        return await pass_through(
            adapter,
            request.method,
            upstream_url,
            error=telegram_error,
            timeout_s=timeout_s,
            seen=seen if recording else None,
            params=request.query_params.multi_items(),
            content=body,
            headers={"Content-Type": content_type} if content_type else {},
        )

    if kind == "unknown" and bot.proxy_unknown != "pass":
        return refuse_unknown_call(telegram_error, method, bot_id)
    if kind in ("unguarded", "unknown"):
        if kind == "unguarded" and bot.proxy_unguarded != "pass":
            return platform_response(
                telegram_error,
                403,
                f"refused by guardrail: {method} is not allowed through the proxy "
                f"(bot {bot_id} has proxy_unguarded: refuse)",
            )
        wait = call.params.get("timeout")  # getUpdates long polling holds the request
        extra = float(wait) if isinstance(wait, int | str) and str(wait).isdigit() else 0.0
        return await untouched(
            timeout_s=min(adapter.config.timeout_s + extra, 600.0),
            recording=method.lower() == "getupdates",
        )
    if kind == "shown":

        async def forward(placed: dict[str, Any]) -> Response:
            if placed is call.params:
                return await untouched()
            return await pass_through(
                adapter, "POST", upstream_url, error=telegram_error, json=placed
            )

        return await decide_shown_and_forward(
            gateway,
            request,
            bot_id=bot_id,
            channel=Channel.TELEGRAM,
            adapter=adapter,
            message=tg.shown(method, call),
            params=call.params,
            forward=forward,
            error=telegram_error,
        )
    message = tg.guarded(method, call)
    if isinstance(message, str):
        return platform_response(telegram_error, 400, message)

    def outbound(params: dict[str, Any]) -> Outbound:
        if call.encoding in ("form", "multipart"):
            files = [(f.field, (f.filename, f.data, f.content_type)) for f in call.files]
            return Outbound(upstream_url, {}, {}, form=form_values(params), files=files or None)
        return Outbound(upstream_url, params, {})

    return await decide_and_send(
        gateway,
        request,
        bot_id=bot_id,
        channel=Channel.TELEGRAM,
        adapter=adapter,
        message=message,
        params=call.params,
        outbound=outbound,
        error=telegram_error,
    )


async def telegram_file(token: str, path: str, request: Request) -> Response:
    gateway = get_gateway(request)
    bot_id = bot_for_token(gateway.settings, token)
    adapter = gateway.adapter_for(bot_id) if bot_id else None
    if bot_id is None or not isinstance(adapter, TelegramAdapter):
        return platform_response(telegram_error, 401, "Unauthorized")
    if not safe_path(path):
        return platform_response(telegram_error, 404, "Not Found")
    url = f"{adapter.config.url.rstrip('/')}/file/bot{adapter.token}/{path}"
    return await pass_through(adapter, "GET", url, error=telegram_error)


async def telegram_send(
    bot_id: str,
    message: TelegramMessage,
    request: Request,
    gateway: GatewayDep,
    principal: PrincipalDep,
) -> JSONResponse:
    return await proxy_with_key(
        gateway,
        principal,
        request,
        bot_id=bot_id,
        channel=Channel.TELEGRAM,
        adapter_type=TelegramAdapter,
        user_id=str(message.chat_id),
        text=message.text,
    )


for _method in ("GET", "POST"):  # one route per method: one operation id each
    router.add_api_route(
        "/telegram/bot{token}/{method}",
        guarded_route(telegram_call, telegram_error),
        methods=[_method],
        name=f"telegram_call_{_method.lower()}",
        responses=PLATFORM_ANSWER,
        summary="Telegram Bot API, any method; the bot's own token in the path",
        tags=["proxy"],
    )
router.add_api_route(
    "/telegram/file/bot{token}/{path:path}",
    guarded_route(telegram_file, telegram_error),
    methods=["GET"],
    response_class=Response,
    responses={200: {"description": "the file, as Telegram serves it", "content": {"*/*": {}}}},
    summary="Telegram file downloads (base_file_url), passed through",
    tags=["proxy"],
)
# The API-key route comes last: ``/telegram/bot<TOKEN>/sendMessage`` is the token route's.
router.add_api_route(
    "/telegram/{bot_id}/sendMessage",
    telegram_send,
    methods=["POST"],
    responses=PLATFORM_ANSWER,
    summary="Telegram Bot API sendMessage, guarded (guardrail API key)",
)
