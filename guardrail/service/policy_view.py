"""The active policies as one caller may see them: its own tenant's, and nobody else's.

A policy set is shared by every tenant, but what a tenant's key reads of it is about its
own policies: those that can apply to it (they name no tenant or bot, or name it or its
bots), and the problems of a failed reload that are in such a policy's file. A problem in
a file whose tenants cannot be read, or in another tenant's, is shown to the operator
only (with its path, which may name the tenant); the reloading key is named to its own
tenant. The operator (:func:`~guardrail.service.access.is_operator`) sees every problem;
its listing is the default tenant's, as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from guardrail.auth import Principal
from guardrail.config import DEFAULT_TENANT
from guardrail.gateway import Gateway, policy_owners
from guardrail.policy import LoadedPolicy, PolicySet
from guardrail.policy.holder import ReloadStatus
from guardrail.service.access import is_operator

Owners = list[str | None]
"""Whose a policy is: ``[None]`` everyone's, else tenants (see :func:`policy_owners`)."""

HIDDEN_NOTE = (
    "the set was refused for problems in policies that are not this tenant's; the "
    "operator sees them"
)


def describe(gateway: Gateway, principal: Principal) -> dict[str, Any]:
    """``GET /v1/policies``: the fallback, the policies that can apply to the caller's
    tenant (with their shadow candidates) and how the last reload went, for this caller."""
    current = gateway.policies.current
    fallback = current.fallback
    listed = [(p, current.applies(p)) for p in _listed(gateway, current, principal)]
    return {
        "name": fallback.policy.name,
        "version": fallback.version,
        "source": fallback.source,
        "policy": fallback.policy.model_dump(mode="json"),
        "set_source": current.source,
        "policies": [_entry(p, applies) for p, applies in listed],
        "last_reload": reload_view(gateway, principal, gateway.policies.last_reload),
    }


def reload_view(gateway: Gateway, principal: Principal, status: ReloadStatus) -> dict[str, Any]:
    """How a reload went, with only the problems and the key name the caller may see."""
    view = status.as_json()
    if is_operator(principal):
        return view
    if status.actor_tenant not in (None, DEFAULT_TENANT, principal.tenant):
        view["actor"] = None
    shown = [str(p) for p in status.problems if _visible(gateway, principal, p.file)]
    view["errors"] = shown
    if len(shown) < len(status.problems):
        view["note"] = HIDDEN_NOTE
    return view


def _visible_policy(gateway: Gateway, principal: Principal, loaded: LoadedPolicy) -> bool:
    """Listed for its own tenant (the operator's key belongs to the default tenant too)."""
    owners = policy_owners(gateway.settings, loaded)
    return owners == [None] or principal.tenant in owners


def _listed(gateway: Gateway, current: PolicySet, principal: Principal) -> list[LoadedPolicy]:
    """Members and the fallback the caller may see, then their shadow candidates; once each."""
    listed: dict[tuple[str, str], LoadedPolicy] = {}
    for loaded in (*current.members, current.fallback):
        if not _visible_policy(gateway, principal, loaded) and loaded is not current.fallback:
            continue
        listed.setdefault((loaded.source, loaded.policy.name), loaded)
        for candidate in loaded.shadows:
            listed.setdefault((candidate.source, candidate.policy.name), candidate)
    return list(listed.values())


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


def _visible(gateway: Gateway, principal: Principal, file: str) -> bool:
    """Whether a problem in ``file`` is about a policy of the caller's tenant."""
    owners = _owners_of_file(gateway, file)
    return owners is not None and (owners == [None] or principal.tenant in owners)


def _owners_of_file(gateway: Gateway, file: str) -> Owners | None:
    """Whose the policy in ``file`` is: from the running set when it holds the file, else
    from the file as it is now (its ``match``); None when that cannot be read."""
    target = _resolved(file)
    current = gateway.policies.current
    for loaded in (*current.members, current.fallback):
        for each in (loaded, *loaded.shadows):
            if _resolved(each.source) == target:
                return policy_owners(gateway.settings, each)
    try:
        doc = yaml.safe_load(Path(file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    match = doc.get("match", {}) if isinstance(doc, dict) else None
    if not isinstance(match, dict):
        return None
    tenants, bots = match.get("tenants") or [], match.get("bots") or []
    if not isinstance(tenants, list) or not isinstance(bots, list):
        return None
    if not tenants and not bots:
        return [None]
    owners: set[str] = {str(t) for t in tenants}
    for bot in bots:
        cfg = gateway.settings.bots.get(str(bot))
        owners.add(cfg.tenant if cfg is not None else DEFAULT_TENANT)
    return [*sorted(owners)]


def _resolved(path: str) -> Path | None:
    try:
        return Path(path).resolve()
    except (OSError, ValueError):
        return None
