"""What Meta's webhooks (WhatsApp Cloud API, Messenger, Instagram) share: the subscription
handshake, the signed JSON body, and recording the parsed events one by one.

One place, so a fix to either (constant-time token check on bytes, deep JSON refused as
400) holds for every Meta channel.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request, status
from pydantic import SecretStr

from guardrail.api.events import record_event
from guardrail.gateway import Gateway
from guardrail.models import Event
from guardrail.state.common import TimestampOutOfRange, to_epoch
from guardrail.webhooks.whatsapp import SIGNATURE_HEADER, verify_signature


def handshake(request: Request, verify_token: SecretStr | None) -> str:
    """Meta's ``hub.challenge`` echo, only for the configured verify token (403 otherwise)."""
    params = request.query_params
    expected = verify_token.get_secret_value() if verify_token else ""
    given = params.get("hub.verify_token", "")
    if (
        params.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "verification failed")
    return params.get("hub.challenge", "")


async def signed_payload(request: Request, app_secret: SecretStr) -> dict[str, Any]:
    """The body as a JSON object, once its ``X-Hub-Signature-256`` is checked (401); a body
    that is not a JSON object, or is nested too deep to parse, is 400."""
    raw = await request.body()
    if not verify_signature(
        raw, request.headers.get(SIGNATURE_HEADER), app_secret.get_secret_value()
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad or missing X-Hub-Signature-256")
    try:
        payload = json.loads(raw)
    except RecursionError as exc:  # json.loads on a body nested thousands deep
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "malformed webhook: nested too deep"
        ) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed webhook: {exc}") from exc
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "malformed webhook: not a JSON object")
    return payload


async def record_all(
    gateway: Gateway, events: Iterable[tuple[str, Event]], via: str, warnings: list[str]
) -> int:
    """Record each (tenant, event) as platform evidence; returns how many were new.

    Applied one by one, each marked seen only once applied: a 503 makes Meta retry the whole
    payload, and the retry skips what was applied and applies the rest. An event whose time
    the store cannot keep is skipped with a warning (Meta's retry would carry the same time).
    """
    recorded = 0
    for tenant, event in events:
        try:
            to_epoch(event.ts)
        except TimestampOutOfRange as exc:
            warnings.append(f"skipped event {event.event_id}: {exc}")
            continue
        result = await record_event(gateway, tenant, event, source="webhook", via=via)
        recorded += not result.duplicate
    return recorded
