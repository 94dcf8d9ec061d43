"""Request plumbing: the gateway, the caller's principal, the body, the OpenAPI body doc.

The hot routes (outreach, events) call :func:`caller` and :func:`parse_body` directly
instead of going through FastAPI's dependency and body machinery: on a small machine
that machinery costs more CPU than the whole decision. Errors keep the same shape.
Authorisation itself (roles, bots, tenants) is the service layer's
(:mod:`guardrail.service.access`); the tenant a request names is read here, from the
``X-Guardrail-Tenant`` header, and a request acting outside its key's tenant is marked
for :class:`guardrail.api.tenancy.RecordElsewhere` to record.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.service.access import in_tenant

TENANT_HEADER = "X-Guardrail-Tenant"
ELSEWHERE = "guardrail.elsewhere"
"""``request.state`` key of a principal acting outside its key's tenant (to be recorded)."""


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def get_principal(request: Request, gateway: GatewayDep) -> Principal:
    """The key's principal, in the tenant the request names (Forbidden, Invalid: see
    :func:`~guardrail.service.access.in_tenant`)."""
    principal = gateway.auth.authenticate(request.headers.get("authorization"))
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown API key; send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    named = request.headers.get(TENANT_HEADER)
    if not named:
        return principal
    acting = in_tenant(gateway, principal, named.strip() or None)
    if acting.elsewhere:
        setattr(request.state, ELSEWHERE, acting)
    return acting


PrincipalDep = Annotated[Principal, Depends(get_principal)]

M = TypeVar("M", bound=BaseModel)


def caller(request: Request) -> tuple[Gateway, Principal]:
    """The gateway and the authenticated principal, without dependency injection."""
    gateway = get_gateway(request)
    return gateway, get_principal(request, gateway)


async def parse_body(request: Request, model: type[M]) -> M:
    """Validate the raw JSON body in one pass (pydantic-core parses it); 422 as FastAPI does.

    The gateway's clock goes along as validation context, so a timestamp it says is
    impossible (too far ahead, too old) is a 422 here and never reaches the store."""
    settings = get_gateway(request).settings
    context = {
        "now": get_gateway(request).clock(),
        "skew": settings.client_time_skew,
        "max_age": settings.event_max_age,
    }
    try:
        return model.model_validate_json(await request.body(), context=context)
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body read by :func:`parse_body` (see app.openapi)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
