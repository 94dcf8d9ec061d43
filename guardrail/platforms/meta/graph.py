"""What the Meta Graph API platforms (WhatsApp, Messenger, Instagram) share: error shapes,
for refusals (the adapters) and for guardrail's own errors (the proxy).

A refusal is HTTP 400 in the Graph API error shape, so a bot using any Graph client gets
an ordinary API error it already logs and handles. ``code`` mirrors the HTTP meaning (403
block, 429 defer) and does not collide with Meta's own codes; guardrail's verdict, rule
ids and retry time travel in ``error_data`` and the decision id in ``fbtrace_id``, the
field operators already quote when reporting a failed send.
"""

from __future__ import annotations

from typing import Any

from guardrail.models import Decision, Verdict
from guardrail.platforms.adapter import reason_line, refusal_of

BLOCK_CODE = 403
DEFER_CODE = 429


def graph_error(
    message: str, *, code: int, type_: str, trace: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Graph API's ``{"error": {...}}`` body."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if data is not None:
        error["error_data"] = data
    error["fbtrace_id"] = trace
    return {"error": error}


def graph_refusal(decision: Decision, product: str) -> tuple[int, dict[str, Any]]:
    """HTTP 400 and the Graph error body for a refused message of ``product``."""
    refused = refusal_of(decision)
    code = BLOCK_CODE if refused.verdict is Verdict.BLOCK else DEFER_CODE
    line = reason_line(refused)
    body = graph_error(
        f"(#{code}) {line}",
        code=code,
        type_="GuardrailPolicyError",
        trace=refused.decision_id,
        data={"messaging_product": product, "details": refused.summary, **refused.as_json()},
    )
    body["error"]["error_user_title"] = (
        "Message not sent" if code == BLOCK_CODE else ("Message deferred")
    )
    body["error"]["error_user_msg"] = refused.summary
    return 400, body


def graph_error_detail(payload: Any) -> str | None:
    """``(code) message details`` from a Graph error body, or None when it is not one."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None
    message = error.get("message")
    code = error.get("code")
    details = error.get("error_data", {})
    extra = details.get("details") if isinstance(details, dict) else None
    parts = [f"({code})" if code is not None else "", str(message or ""), str(extra or "")]
    return " ".join(p for p in parts if p) or None


def unauthorized(trace: str) -> dict[str, Any]:
    """The Graph API's answer to a bad token: an OAuthException, code 190."""
    return graph_error(
        "Invalid OAuth access token - Cannot parse access token",
        code=190,
        type_="OAuthException",
        trace=trace,
    )


def bad_request(message: str, trace: str, *, code: int = 100) -> dict[str, Any]:
    """Code 100 is the Graph API's 'invalid parameter'."""
    return graph_error(f"(#{code}) {message}", code=code, type_="OAuthException", trace=trace)
