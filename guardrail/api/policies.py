"""The active policies, and their reload without a restart (admin keys only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from guardrail.api import schemas
from guardrail.api.deps import GatewayDep, PrincipalDep
from guardrail.service.access import require_role
from guardrail.service.policy_view import HIDDEN_NOTE, describe, reload_view

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.get("", response_model=schemas.PoliciesView, response_model_exclude_unset=True)
async def policies(gateway: GatewayDep, principal: PrincipalDep) -> dict[str, Any]:
    """Every policy of the active set that can apply to the key's tenant, and how the last
    reload went (its problems in those policies only: another tenant's are its business).

    The top-level ``name``/``version``/``source``/``policy`` describe the fallback policy
    (the one a request gets when no ``match`` selects another)."""
    return describe(gateway, principal)


@router.post(
    "/reload",
    response_model=schemas.PoliciesView,
    responses={
        200: {"description": "reloaded; the new set is active"},
        403: {"description": "not an admin key"},
        422: {
            "description": "the policies on disk are invalid; the running ones stay",
            "model": schemas.InvalidPolicyBody,
        },
    },
)
async def reload(gateway: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    """Load the policy file or folder again; swap it in only when all of it is valid."""
    require_role(principal, "admin")
    status = await gateway.policies.areload(
        "api", actor=principal.name, actor_tenant=principal.tenant
    )
    if not status.ok:
        view = reload_view(gateway, principal, status)
        body = {"error": "invalid_policy", "detail": view["errors"] or [HIDDEN_NOTE]}
        return JSONResponse({**body, "last_reload": view}, status_code=422)
    return JSONResponse(describe(gateway, principal))
