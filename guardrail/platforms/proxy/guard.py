"""Proxy mode's shared flow: a platform call in, a decision, the platform's answer out.

The platform routes (:mod:`guardrail.platforms.telegram.routes`,
:mod:`guardrail.platforms.meta.routes`) parse a call into a :class:`Guarded` message;
:func:`decide_and_send` decides it through the same use cases as ``/v1/outreach/send``
and answers in the platform's shape: the platform's own answer when delivered, a refusal
the bot's client already handles when not, and guardrail's own errors (a domain error,
a malformed body) as the platform's error (:func:`guarded_route`). Calls that show
people text without one recipient (a bot's name, a menu) get the content checks and are
forwarded only if they pass (:func:`decide_shown_and_forward`); calls known to show no
text go through :func:`pass_through`; calls the proxy does not know are refused unless the
bot's ``proxy_unknown`` is ``pass`` (:func:`refuse_unknown_call`).

Optional headers carry what the platform shape cannot: ``X-Guardrail-Kind``,
``X-Guardrail-Timezone``, ``Idempotency-Key``, and, for policy selection,
``X-Guardrail-Jurisdiction`` and ``X-Guardrail-Minor`` (true/false).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from guardrail.api.errors import status_of
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.models import Channel, OutreachRequest, Verdict
from guardrail.platforms.adapter import Adapter, Outbound
from guardrail.platforms.proxy.body import BodyError
from guardrail.platforms.proxy.identity import principal_for
from guardrail.platforms.proxy.message import Guarded
from guardrail.service.access import authorise_bot
from guardrail.service.errors import Conflict, Invalid, ServiceError
from guardrail.service.outreach import decide_outreach, decide_shown, deliver, release

TRACE = "X-Guardrail-Decision-Id"

PlatformError = Callable[[int, str], tuple[int, dict[str, Any]]]
"""(HTTP status, guardrail's words) → the status and body the platform would answer."""


def platform_response(error: PlatformError, code: int, text: str) -> JSONResponse:
    status_code, body = error(code, text)
    return JSONResponse(body, status_code=status_code)


def guarded_route(
    handler: Callable[..., Awaitable[Response]], error: PlatformError
) -> Callable[..., Awaitable[Response]]:
    """Answer guardrail's own errors (422, 409, 413, 503...) in the platform's shape."""

    @functools.wraps(handler)
    async def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return await handler(*args, **kwargs)
        except ServiceError as exc:
            return platform_response(error, status_of(exc), exc.detail)
        except BodyError as exc:
            return platform_response(error, 400, str(exc))

    return wrapped


def outreach_request(
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


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


_SEGMENT = re.compile(r"[A-Za-z0-9_.,@:=+-]+")


def safe_path(path: str) -> bool:
    """A path of plain segments: none empty, none a dot segment that would climb out of the
    token's part of the upstream URL."""
    segments = path.split("/")
    return all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments)


async def proxy_with_key(
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
    """The older API-key routes: a JSON message of one text, guardrail's own errors."""
    tenant = authorise_bot(gateway, principal, bot_id)
    adapter = gateway.adapter_for(bot_id)
    if not isinstance(adapter, adapter_type):
        raise Conflict(f"bot {bot_id!r} has no {adapter_type.name} upstream configured")
    try:
        req = outreach_request(request, bot_id=bot_id, user_id=user_id, channel=channel, text=text)
    except ValidationError as exc:
        raise Invalid(first_error(exc)) from exc
    decision = await decide_outreach(gateway, tenant, req)
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


async def decide_and_send(
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
        return platform_response(
            error,
            403,
            f"refused by guardrail: {message.media} cannot be inspected "
            f"(bot {bot_id} has proxy_media: refuse)",
        )
    try:
        req = outreach_request(
            request,
            bot_id=bot_id,
            user_id=message.user_id,
            channel=channel,
            text=message.text,
            message_tag=message.message_tag,
        )
    except ValidationError as exc:
        return platform_response(error, 400, first_error(exc))
    decision = await decide_outreach(gateway, tenant, req)
    trace = {TRACE: decision.decision_id, "X-Guardrail-Verdict": decision.verdict.value}
    if decision.verdict in (Verdict.BLOCK, Verdict.DEFER):
        code, body = adapter.refusal(decision)
        return JSONResponse(body, status_code=code, headers=trace)
    assert decision.text is not None
    placed = message.rewritten(params, decision.text)
    if placed is None:
        # The policy changed a text this call has no single place for: send nothing, and
        # release what the allowed decision counted.
        await release(gateway, tenant, req, decision.decision_id, "unsent proxy message")
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


async def decide_shown_and_forward(
    gateway: Gateway,
    request: Request,
    *,
    bot_id: str,
    channel: Channel,
    adapter: Adapter,
    message: Guarded,
    params: dict[str, Any],
    forward: Callable[[dict[str, Any]], Awaitable[Response]],
    error: PlatformError,
) -> Response:
    """A call that shows people text without one recipient (a bot's name, the answer to a
    button press, inline results, a menu): its texts together get the content checks, and
    the call is forwarded (``forward``, with the decided text in place) only if they pass."""
    tenant = authorise_bot(gateway, principal_for(gateway.settings, bot_id), bot_id)
    if not message.texts:
        return await forward(params)
    try:
        req = outreach_request(
            request, bot_id=bot_id, user_id=message.user_id, channel=channel, text=message.text
        )
    except ValidationError as exc:
        return platform_response(error, 400, first_error(exc))
    decision = await decide_shown(gateway, tenant, req)
    trace = {TRACE: decision.decision_id, "X-Guardrail-Verdict": decision.verdict.value}
    if decision.verdict in (Verdict.BLOCK, Verdict.DEFER):
        code, body = adapter.refusal(decision)
        return JSONResponse(body, status_code=code, headers=trace)
    assert decision.text is not None
    placed = message.rewritten(params, decision.text)
    if placed is None:
        code, body = error(
            403,
            "refused by guardrail: the policy rewrites this call's text and it has no single "
            "text to rewrite",
        )
        return JSONResponse(body, status_code=code, headers=trace)
    response = await forward(placed)
    response.headers.update(trace)
    return response


def refuse_unknown_call(error: PlatformError, what: str, bot_id: str) -> JSONResponse:
    """A call the proxy does not know: it may show a user text nobody checked."""
    return platform_response(
        error,
        403,
        f"refused by guardrail: {what} is not known to the proxy, and may show a user text "
        f"nobody checked (bot {bot_id} has proxy_unknown: refuse)",
    )


async def pass_through(
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
        return platform_response(error, 502, f"upstream unreachable ({type(exc).__name__})")
    if seen is not None and upstream.is_success:
        await seen(upstream)
    keep = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type",)}
    return Response(upstream.content, status_code=upstream.status_code, headers=keep)
