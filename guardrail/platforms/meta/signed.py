"""What Meta's webhooks (WhatsApp Cloud API, Messenger, Instagram) share over HTTP: the
subscription handshake and the signed JSON body.

One place, so a fix to either (constant-time token check on bytes, deep JSON refused as
400) holds for every Meta channel. Recording the parsed events is the service layer's
(:func:`guardrail.service.events.record_all`).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import HTTPException, Request, status
from pydantic import SecretStr

from guardrail.platforms.meta.webhook_whatsapp import SIGNATURE_HEADER, verify_signature


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
