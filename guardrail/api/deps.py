"""Request dependencies: the gateway, the caller's principal and bot authorisation."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from guardrail.auth import Principal
from guardrail.gateway import Gateway


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def get_principal(request: Request, gateway: GatewayDep) -> Principal:
    principal = gateway.auth.authenticate(request.headers.get("authorization"))
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown API key; send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def authorise_bot(gateway: Gateway, principal: Principal, bot: str) -> str:
    """The tenant the decision belongs to, or 403 when the key may not speak for ``bot``."""
    owner = gateway.tenant_of_bot(bot)
    if not principal.may_speak_for(bot) or (owner is not None and owner != principal.tenant):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this API key may not speak for bot {bot!r}"
        )
    return principal.tenant


def check_text(gateway: Gateway, text: str) -> None:
    limit = gateway.settings.max_text_chars
    if len(text) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"text is {len(text)} characters; the limit is {limit}",
        )
