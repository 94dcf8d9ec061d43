"""A platform call's parameters from any body the platform accepts.

Telegram takes parameters in the query string, form-encoded, multipart or JSON; the
Graph API takes JSON, form-encoded or query parameters. Everything becomes one mapping,
plus the multipart file parts kept aside (their bytes are never read by guardrail), and
the encoding, so the call can be forwarded as the client made it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.datastructures import UploadFile
from starlette.requests import Request

Encoding = Literal["json", "form", "multipart", "query"]


class BodyError(ValueError):
    """The body is not in any form the platform accepts (the caller answers 400)."""


@dataclass
class FilePart:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One platform call: its parameters, file parts and how they were encoded."""

    encoding: Encoding
    params: dict[str, Any]
    files: list[FilePart] = field(default_factory=list)
    dropped: dict[str, Any] = field(default_factory=dict)
    """Parameters for guardrail, taken out (the Graph API's ``access_token``)."""
    query_only: frozenset[str] = frozenset()
    """Parameters that came in the query string and not in the body."""

    def body_params(self) -> dict[str, Any]:
        """The parameters the body carried (to forward a call with its query kept apart)."""
        return {k: v for k, v in self.params.items() if k not in self.query_only}

    def as_form(self) -> dict[str, str]:
        return form_values(self.params)

    def decoded(self, key: str) -> Any:
        """A parameter that may hold JSON (form clients send objects as JSON strings)."""
        value = self.params.get(key)
        if isinstance(value, str) and self.encoding != "json":
            stripped = value.strip()
            if stripped[:1] in ("{", "["):
                try:
                    return json.loads(stripped)
                except ValueError:
                    return value
        return value


def form_values(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as form values: objects JSON-encoded, as Telegram clients send them."""
    return {
        k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in params.items()
    }


async def read_call(request: Request, *, drop: tuple[str, ...] = ()) -> Call:
    """The call's parameters (query string first, the body's override them).

    ``drop``: parameters that are guardrail's business, not the platform's (the Graph
    API's ``access_token``), removed wherever they came from.
    """
    params: dict[str, Any] = dict(request.query_params)
    query = set(params)
    files: list[FilePart] = []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    encoding: Encoding = "query"
    if not raw.strip():
        pass
    elif content_type == "application/json" or (not content_type and raw.lstrip()[:1] == b"{"):
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BodyError(f"body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BodyError("JSON body must be an object")
        params.update(body)
        query -= set(body)
        encoding = "json"
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except Exception as exc:  # the multipart parser raises several types
            raise BodyError(f"body is not valid {content_type}: {exc}") from None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                files.append(
                    FilePart(
                        key,
                        value.filename or key,
                        value.content_type or "application/octet-stream",
                        data,
                    )
                )
            else:
                params[key] = value
                query.discard(key)
        encoding = "multipart" if content_type == "multipart/form-data" else "form"
    else:
        raise BodyError(f"unsupported content type {content_type or '(none)'}")
    dropped = {key: params.pop(key) for key in drop if key in params}
    return Call(encoding, params, files, dropped, frozenset(query - set(dropped)))
