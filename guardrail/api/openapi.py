"""Who must present what, per operation, in the published OpenAPI spec.

Most routes need a guardrail API key (``Authorization: Bearer``) and accept the
``X-Guardrail-Tenant`` header (an operator key acting in another tenant). The others are
listed here with the credential they take instead: none for the probes, a signature for
Meta's webhooks, the bot's own proxy token for the proxy routes its platform client
calls. A route missing from this table is published as needing a key, the safe reading;
``tests/test_openapi.py`` checks the table against the routes and against what each
route really answers without a key.
"""

from __future__ import annotations

from typing import Any

from guardrail.api.deps import TENANT_HEADER

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "a guardrail API key (keys: in the configuration; GUARDRAIL_API_KEY "
        "is the operator's)",
    },
    "proxyToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "the bot's proxy token (bots.<id>.proxy_token_sha256), as its Graph "
        "client sends it; never a guardrail API key",
    },
    "proxyAccessToken": {
        "type": "apiKey",
        "in": "query",
        "name": "access_token",
        "description": "the bot's proxy token as Graph's access_token parameter",
    },
}

KEYLESS: dict[str, tuple[list[dict[str, list[str]]], str]] = {
    "/healthz": ([], "No key: a probe."),
    "/readyz": ([], "No key: a probe."),
    "/v1/webhooks/whatsapp": ([], "No key: Meta signs each event (X-Hub-Signature-256)."),
    "/v1/webhooks/meta": ([], "No key: Meta signs each event (X-Hub-Signature-256)."),
    "/v1/proxy/telegram/bot{token}/{method}": (
        [],
        "No API key: the bot's proxy token is the path's <TOKEN>, as its Telegram client sends it.",
    ),
    "/v1/proxy/telegram/file/bot{token}/{path}": (
        [],
        "No API key: the bot's proxy token is the path's <TOKEN>.",
    ),
    "/v1/proxy/graph/{path}": (
        [{"proxyToken": []}, {"proxyAccessToken": []}],
        "No API key: the bot's proxy token, as its Graph client sends it (Bearer or access_token).",
    ),
}
"""Path templates that take no guardrail API key: (security requirement, why)."""


TENANT_PARAMETER: dict[str, Any] = {
    "name": TENANT_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 100},
    "description": "an operator key: the tenant to act in (default: its own; each request "
    "in another tenant is recorded in that tenant's audit log). Another key may name only "
    "its own tenant.",
}


def declare_security(spec: dict[str, Any]) -> None:
    """Set ``security`` on every operation (there is no global requirement), the schemes,
    and the tenant header on the operations that take a key."""
    spec.pop("security", None)
    spec.setdefault("components", {})["securitySchemes"] = SCHEMES
    for path, operations in spec.get("paths", {}).items():
        keyless = KEYLESS.get(path)
        for operation in operations.values():
            if keyless is not None:
                operation["security"], why = keyless
                described = operation.get("description", "")
                operation["description"] = f"{described}\n\n{why}".strip()
                continue
            operation["security"] = BEARER
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == TENANT_HEADER for p in parameters):
                parameters.append(TENANT_PARAMETER)
