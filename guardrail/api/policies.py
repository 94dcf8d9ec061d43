"""The active policies, and their reload without a restart (admin keys only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from guardrail.api import schemas
from guardrail.api.deps import GatewayDep, PrincipalDep
from guardrail.policy import LoadedPolicy, PolicySet
from guardrail.policy.holder import PolicyHolder
from guardrail.service.access import require_role

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.get("", response_model=schemas.PoliciesView, response_model_exclude_unset=True)
async def policies(gateway: GatewayDep, principal: PrincipalDep) -> dict[str, Any]:
    """Every policy of the active set, and how the last reload went.

    The top-level ``name``/``version``/``source``/``policy`` describe the fallback policy
    (the one a request gets when no ``match`` selects another). A key sees only the
    policies that can apply to its own tenant: another tenant's rules are its business.
    """
    return describe(gateway.policies, principal.tenant)


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
    status = await gateway.policies.areload("api", actor=principal.name)
    if not status.ok:
        body = {"error": "invalid_policy", "detail": list(status.errors)}
        return JSONResponse({**body, "last_reload": status.as_json()}, status_code=422)
    return JSONResponse(describe(gateway.policies, principal.tenant))


def describe(holder: PolicyHolder, tenant: str) -> dict[str, Any]:
    current = holder.current
    fallback = current.fallback
    return {
        "name": fallback.policy.name,
        "version": fallback.version,
        "source": fallback.source,
        "policy": fallback.policy.model_dump(mode="json"),
        "set_source": current.source,
        "policies": [_entry(p, current.applies(p)) for p in _listed(current) if _for(p, tenant)],
        "last_reload": holder.last_reload.as_json(),
    }


def _listed(current: PolicySet) -> list[LoadedPolicy]:
    """Members, the fallback, then shadow candidates from outside the set; each once."""
    listed: dict[tuple[str, str], LoadedPolicy] = {}
    for loaded in (*current.members, current.fallback):
        listed.setdefault((loaded.source, loaded.policy.name), loaded)
        for candidate in loaded.shadows:
            listed.setdefault((candidate.source, candidate.policy.name), candidate)
    return list(listed.values())


def _for(loaded: LoadedPolicy, tenant: str) -> bool:
    """Whether the policy can apply to ``tenant`` (it names no tenant, or this one)."""
    tenants = loaded.policy.match.tenants
    return not tenants or tenant in tenants


def _entry(loaded: LoadedPolicy, applies: str) -> dict[str, Any]:
    policy = loaded.policy
    return {
        "name": policy.name,
        "version": loaded.version,
        "source": loaded.source,
        "applies": applies,
        "match": policy.match.model_dump(mode="json", exclude_defaults=True),
        "mode": policy.mode,
        "extends": policy.extends,
        "shadow": [s.policy.name for s in loaded.shadows],
        "policy": policy.model_dump(mode="json"),
    }
