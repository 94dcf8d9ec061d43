"""Proxy mode: the bot's own platform client points at guardrail instead of the platform.

Two ways in. The client-unchanged routes find the bot by the token its client already
sends (``bots.<id>.proxy_token_sha256``): Telegram's in the path
(``/v1/proxy/telegram/bot<TOKEN>/<method>``), the Graph API's in ``Authorization: Bearer``
or ``access_token`` (``/v1/proxy/graph/<version>/<id>/messages``, for WhatsApp, Messenger
and Instagram). The older routes (``/v1/proxy/whatsapp/{bot}/messages``,
``/v1/proxy/telegram/{bot}/sendMessage``) take a guardrail API key and JSON only.

The request arrives in the platform's shape; an allowed message is delivered upstream and
the platform's answer is passed back; a refused one never leaves, and the bot gets an
error in the shape it already handles. Optional headers carry what the platform shape
cannot: ``X-Guardrail-Kind``, ``X-Guardrail-Timezone``, ``Idempotency-Key``, and, for
policy selection, ``X-Guardrail-Jurisdiction`` and ``X-Guardrail-Minor`` (true/false).
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from guardrail.adapters import (
    InstagramAdapter,
    MessengerAdapter,
    TelegramAdapter,
    WhatsAppAdapter,
)
from guardrail.adapters.base import Adapter, Outbound
from guardrail.api.deps import GatewayDep, PrincipalDep, authorise_bot, get_gateway
from guardrail.api.events import record_event
from guardrail.api.outreach import deliver, run_decision
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.models import Channel, OutreachRequest, Verdict
from guardrail.proxy import graph
from guardrail.proxy import telegram as tg
from guardrail.proxy.body import BodyError, form_values, read_call
from guardrail.proxy.identity import bearer, bot_for_token, principal_for
from guardrail.proxy.message import Guarded
from guardrail.proxy.updates import user_events
from guardrail.state.base import StoreUnavailable

log = logging.getLogger("guardrail")
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
    try:
        req = _outreach(request, bot_id=bot_id, user_id=user_id, channel=channel, text=text)
    except ValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _first_error(exc)) from exc
    decision = await run_decision(gateway, tenant, req)
    trace = {TRACE: decision.decision_id, "X-Guardrail-Verdict": decision.verdict.value}
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


TRACE = "X-Guardrail-Decision-Id"


def _outreach(
    request: Request,
    *,
    bot_id: str,
    user_id: str,
    channel: Channel,
    text: str,
    message_tag: str | None = None,
) -> OutreachRequest:
    """The outreach request of a proxied message, with what the optional headers add.
    Raises ValidationError."""
    headers = request.headers
    return OutreachRequest.model_validate(
        {
            "bot_id": bot_id,
            "user_id": user_id,
            "channel": channel,
            "text": text,
            "message_tag": message_tag,
            "kind": headers.get("x-guardrail-kind"),
            "user": {
                "timezone": headers.get("x-guardrail-timezone"),
                "jurisdiction": headers.get("x-guardrail-jurisdiction"),
                "is_minor": headers.get("x-guardrail-minor"),
            },
            "idempotency_key": headers.get("idempotency-key"),
        }
    )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


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


# --------------------------------------------------------------------------- client-unchanged


PlatformError = Callable[[int, str], tuple[int, dict[str, Any]]]
"""(HTTP status, guardrail's words) → the status and body the platform would answer."""


def _telegram_error(code: int, text: str) -> tuple[int, dict[str, Any]]:
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


def _graph_error(code: int, text: str) -> tuple[int, dict[str, Any]]:
    trace = uuid.uuid4().hex
    if code == 401:
        return 401, graph.unauthorized(trace)
    if code >= 500:
        return code, graph.bad_request(text, trace, code=2)  # 2: "service temporarily down"
    return 400, graph.bad_request(text, trace, code=100 if code != 403 else 403)


def _platform_response(error: PlatformError, code: int, text: str) -> JSONResponse:
    status_code, body = error(code, text)
    return JSONResponse(body, status_code=status_code)


async def _decide_and_send(
    gateway: Gateway,
    request: Request,
    *,
    bot_id: str,
    channel: Channel,
    adapter: Adapter,
    message: Guarded,
    params: dict[str, Any],
    outbound: Callable[[dict[str, Any]], Outbound],
    error: PlatformError,
) -> JSONResponse:
    """Decide one proxied message and deliver it, answering in the platform's shape."""
    bot = gateway.settings.bots[bot_id]
    tenant = authorise_bot(gateway, principal_for(gateway.settings, bot_id), bot_id)
    if message.media is not None and bot.proxy_media != "pass":
        return _platform_response(
            error,
            403,
            f"refused by guardrail: {message.media} cannot be inspected "
            f"(bot {bot_id} has proxy_media: refuse)",
        )
    try:
        req = _outreach(
            request,
            bot_id=bot_id,
            user_id=message.user_id,
            channel=channel,
            text=message.text,
            message_tag=message.message_tag,
        )
    except ValidationError as exc:
        return _platform_response(error, 400, _first_error(exc))
    decision = await run_decision(gateway, tenant, req)
    trace = {TRACE: decision.decision_id, "X-Guardrail-Verdict": decision.verdict.value}
    if decision.verdict in (Verdict.BLOCK, Verdict.DEFER):
        code, body = adapter.refusal(decision)
        return JSONResponse(body, status_code=code, headers=trace)
    assert decision.text is not None
    placed = message.rewritten(params, decision.text)
    if placed is None:
        # The policy changed a text this call has no single place for: send nothing, and
        # release what the allowed decision counted.
        await _release(gateway, tenant, req, decision.decision_id)
        code, body = error(
            403,
            "refused by guardrail: the policy rewrites this message and it has no single "
            "text to rewrite; send the text as its own message",
        )
        return JSONResponse(body, status_code=code, headers=trace)
    delivery = await deliver(gateway, tenant, req, decision, outbound(placed))
    if delivery.status == "skipped":
        return JSONResponse(decision.model_dump(mode="json"), status_code=200, headers=trace)
    if delivery.response is not None and delivery.upstream_status is not None:
        return JSONResponse(delivery.response, status_code=delivery.upstream_status, headers=trace)
    code, body = error(502, f"upstream failed: {delivery.error}")
    return JSONResponse(body, status_code=code, headers=trace)


async def _release(gateway: Gateway, tenant: str, req: OutreachRequest, decision_id: str) -> None:
    try:
        await gateway.store.release(
            tenant, req.bot_id, req.user_id, decision_id, req.idempotency_key
        )
    except StoreUnavailable as exc:
        log.warning("could not release unsent proxy message %s: %s", decision_id, exc)


async def _pass_through(
    adapter: Adapter,
    method: str,
    url: str,
    *,
    error: PlatformError,
    timeout_s: float | None = None,
    seen: Callable[[httpx.Response], Awaitable[None]] | None = None,
    **kwargs: Any,
) -> Response:
    """Forward a call guardrail does not judge and hand back the platform's answer as is;
    ``seen`` reads the answer first (the user messages in ``getUpdates``)."""
    try:
        upstream = await adapter.passthrough(method, url, timeout_s=timeout_s, **kwargs)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _platform_response(error, 502, f"upstream unreachable ({type(exc).__name__})")
    if seen is not None and upstream.is_success:
        await seen(upstream)
    keep = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type",)}
    return Response(upstream.content, status_code=upstream.status_code, headers=keep)


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
        await record_event(gateway, tenant, event)


def _guarded_route(
    handler: Callable[..., Awaitable[Response]], error: PlatformError
) -> Callable[..., Awaitable[Response]]:
    """Answer guardrail's own errors (422, 409, 413, 503...) in the platform's shape."""

    @functools.wraps(handler)
    async def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return await handler(*args, **kwargs)
        except HTTPException as exc:
            return _platform_response(error, exc.status_code, str(exc.detail))
        except BodyError as exc:
            return _platform_response(error, 400, str(exc))

    return wrapped


# ---- Telegram: base_url=".../v1/proxy/telegram/bot"

_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_SEGMENT = re.compile(r"[A-Za-z0-9_.,@:=+-]+")


def _safe_path(path: str) -> bool:
    """A path of plain segments: none empty, none a dot segment that would climb out of the
    token's part of the upstream URL."""
    segments = path.split("/")
    return all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments)


async def telegram_call(token: str, method: str, request: Request) -> Response:
    gateway = get_gateway(request)
    bot_id = bot_for_token(gateway.settings, token)
    if bot_id is None:
        return _platform_response(_telegram_error, 401, "Unauthorized")
    adapter = gateway.adapter_for(bot_id)
    if not isinstance(adapter, TelegramAdapter):
        return _platform_response(
            _telegram_error, 400, f"bot {bot_id} has no telegram upstream configured"
        )
    if not _METHOD.fullmatch(method):
        return _platform_response(_telegram_error, 404, "Not Found: method not found")
    call = await read_call(request)
    upstream_url = f"{adapter.config.url.rstrip('/')}/bot{adapter.token}/{method}"
    kind = tg.classify(method)
    if kind == "unguarded":
        if gateway.settings.bots[bot_id].proxy_unguarded != "pass":
            return _platform_response(
                _telegram_error,
                403,
                f"refused by guardrail: {method} is not allowed through the proxy "
                f"(bot {bot_id} has proxy_unguarded: refuse)",
            )
        wait = call.params.get("timeout")  # getUpdates long polling holds the request
        extra = float(wait) if isinstance(wait, int | str) and str(wait).isdigit() else 0.0
        content_type = request.headers.get("content-type")

        async def seen(upstream: httpx.Response) -> None:
            await _record_updates(gateway, bot_id, upstream)

        return await _pass_through(
            adapter,
            request.method,
            upstream_url,
            error=_telegram_error,
            timeout_s=min(adapter.config.timeout_s + extra, 600.0),
            seen=seen if method.lower() == "getupdates" else None,
            params=request.query_params.multi_items(),
            content=await request.body(),
            headers={"Content-Type": content_type} if content_type else {},
        )
    message = tg.guarded(method, call)
    if isinstance(message, str):
        return _platform_response(_telegram_error, 400, message)

    def outbound(params: dict[str, Any]) -> Outbound:
        if call.encoding in ("form", "multipart"):
            files = [(f.field, (f.filename, f.data, f.content_type)) for f in call.files]
            return Outbound(upstream_url, {}, {}, form=form_values(params), files=files or None)
        return Outbound(upstream_url, params, {})

    return await _decide_and_send(
        gateway,
        request,
        bot_id=bot_id,
        channel=Channel.TELEGRAM,
        adapter=adapter,
        message=message,
        params=call.params,
        outbound=outbound,
        error=_telegram_error,
    )


async def telegram_file(token: str, path: str, request: Request) -> Response:
    gateway = get_gateway(request)
    bot_id = bot_for_token(gateway.settings, token)
    adapter = gateway.adapter_for(bot_id) if bot_id else None
    if bot_id is None or not isinstance(adapter, TelegramAdapter):
        return _platform_response(_telegram_error, 401, "Unauthorized")
    if not _safe_path(path):
        return _platform_response(_telegram_error, 404, "Not Found")
    url = f"{adapter.config.url.rstrip('/')}/file/bot{adapter.token}/{path}"
    return await _pass_through(adapter, "GET", url, error=_telegram_error)


router.add_api_route(
    "/telegram/bot{token}/{method}",
    _guarded_route(telegram_call, _telegram_error),
    methods=["GET", "POST"],
    summary="Telegram Bot API, any method; the bot's own token in the path",
    tags=["proxy"],
)
router.add_api_route(
    "/telegram/file/bot{token}/{path:path}",
    _guarded_route(telegram_file, _telegram_error),
    methods=["GET"],
    summary="Telegram file downloads (base_file_url), passed through",
    tags=["proxy"],
)


# ---- Graph API (WhatsApp Cloud API, Messenger, Instagram): base URL ".../v1/proxy/graph"

_GRAPH_CHANNELS: dict[type[Adapter], Channel] = {
    WhatsAppAdapter: Channel.WHATSAPP,
    MessengerAdapter: Channel.MESSENGER,
    InstagramAdapter: Channel.INSTAGRAM,
}


async def graph_call(path: str, request: Request) -> Response:
    gateway = get_gateway(request)
    call = await read_call(request, drop=("access_token",))
    token = bearer(request.headers.get("authorization"))
    if token is None:
        given = call.dropped.get("access_token")
        token = given if isinstance(given, str) else None
    bot_id = bot_for_token(gateway.settings, token)
    if bot_id is None:
        return _platform_response(_graph_error, 401, "Unauthorized")
    adapter = gateway.adapter_for(bot_id)
    channel = _GRAPH_CHANNELS.get(type(adapter)) if adapter is not None else None
    if adapter is None or channel is None:
        return _platform_response(
            _graph_error, 400, f"bot {bot_id} has no WhatsApp, Messenger or Instagram upstream"
        )
    path = path.strip("/")
    if not _safe_path(path):
        return _platform_response(_graph_error, 400, f"unsupported path /{path}")
    for override in ("batch", "method"):
        # A batch, or a GET that says method=post, would send messages past the guard.
        if override in call.params:
            return _platform_response(
                _graph_error, 400, f"the {override} parameter is not supported by the proxy"
            )
    auth = {"Authorization": f"Bearer {adapter.token}"}
    is_send = request.method == "POST" and ("/" + path.lower()).endswith("/messages")
    message: Guarded | str | None = None
    if is_send:
        parse = graph.whatsapp_message if channel is Channel.WHATSAPP else graph.messenger_message
        message = parse(call)
    if isinstance(message, str):
        return _platform_response(_graph_error, 400, message)
    if message is None:
        if gateway.settings.bots[bot_id].proxy_unguarded != "pass":
            return _platform_response(
                _graph_error,
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
        return await _pass_through(
            adapter,
            request.method,
            str(target),
            error=_graph_error,
            params=query,
            headers=auth,
            **body,
        )
    params = {k: call.decoded(k) for k in call.params}
    url = adapter.config.url
    return await _decide_and_send(
        gateway,
        request,
        bot_id=bot_id,
        channel=channel,
        adapter=adapter,
        message=message,
        params=params,
        outbound=lambda placed: Outbound(url, placed, dict(auth)),
        error=_graph_error,
    )


router.add_api_route(
    "/graph/{path:path}",
    _guarded_route(graph_call, _graph_error),
    methods=["GET", "POST", "DELETE"],
    summary="Graph API (WhatsApp Cloud API, Messenger, Instagram); the bot's own token",
    tags=["proxy"],
)

# The API-key routes come last: ``/telegram/bot<TOKEN>/sendMessage`` is the token route's.
router.add_api_route(
    "/whatsapp/{bot_id}/messages",
    whatsapp_messages,
    methods=["POST"],
    summary="WhatsApp Cloud API /messages, guarded (guardrail API key)",
)
router.add_api_route(
    "/telegram/{bot_id}/sendMessage",
    telegram_send,
    methods=["POST"],
    summary="Telegram Bot API sendMessage, guarded (guardrail API key)",
)
