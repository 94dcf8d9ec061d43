"""Recording the requests a key makes outside its own tenant (an operator's).

:func:`guardrail.api.deps.get_principal` marks such a request; this middleware appends an
``access`` record to the tenant it acted in before the answer leaves (who, from which
tenant, the route template, the status), so that tenant's auditors see every visit. When
the log cannot take it the answer is withheld: a ``503`` goes out instead, as for a
decision that cannot be recorded.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guardrail.api.deps import ELSEWHERE
from guardrail.api.errors import error_response
from guardrail.auth import Principal
from guardrail.service.audit import append_access
from guardrail.service.errors import Unavailable


class RecordElsewhere:
    """ASGI middleware: an ``access`` audit record for each request marked by the edge."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        withheld = False

        async def sending(message: Message) -> None:
            nonlocal withheld
            if withheld:
                return  # the route's answer, replaced by the 503 below
            acting = state.get(ELSEWHERE)
            if message["type"] == "http.response.start" and isinstance(acting, Principal):
                route = getattr(scope.get("route"), "path", None) or "?"
                try:
                    await append_access(
                        scope["app"].state.gateway, acting, scope["method"], route,
                        int(message["status"]),
                    )  # fmt: skip
                except Unavailable as exc:
                    withheld = True
                    response: JSONResponse = error_response(exc)
                    await response(scope, receive, send)
                    return
            await send(message)

        await self.app(scope, receive, sending)
