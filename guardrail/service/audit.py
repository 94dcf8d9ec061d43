"""Appending to the audit log before anyone sees the answer.

A decision or a consent change that the log cannot take is not answered as done: the
caller gets :class:`~guardrail.service.errors.Unavailable` and retries (the cause, with
hosts and paths, stays in the gateway log).
"""

from __future__ import annotations

import logging

from guardrail.audit import AuditUnavailable
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.models import Decision, Event, EventResult, OutreachRequest
from guardrail.service.errors import Unavailable

log = logging.getLogger("guardrail.audit")


async def append_decision(
    gateway: Gateway,
    tenant: str,
    req: OutreachRequest,
    decision: Decision,
    audit_text: str | None = None,
) -> None:
    """Record ``decision``; ``audit_text`` is its delivered text already redacted by the
    pipeline (None: the audit trail redacts it itself)."""
    try:
        await gateway.audit.record_decision(tenant, req, decision, redacted=audit_text)
    except AuditUnavailable as exc:
        log.error("decision %s not recorded: %s", decision.decision_id, exc)
        raise Unavailable(
            "audit log unavailable, the decision was not recorded; retry (cause logged)"
        ) from exc


async def append_consent(
    gateway: Gateway, tenant: str, event: Event, result: EventResult, *, via: str | None = None
) -> None:
    """Record an applied (or refused) consent change; nothing for other events."""
    if result.consent is None or result.duplicate:
        return
    try:
        await gateway.audit.record_consent(tenant, event, result, via=via)
    except AuditUnavailable as exc:
        log.error("consent change of bot %s not recorded: %s", event.bot_id, exc)
        raise Unavailable("audit log unavailable, retry (cause logged)") from exc


async def append_access(
    gateway: Gateway, principal: Principal, method: str, route: str, status: int
) -> None:
    """Record a request ``principal`` made outside its key's tenant, in the tenant it
    acted in; Unavailable when the log cannot take it (the answer is then withheld)."""
    try:
        await gateway.audit.record_access(
            principal.tenant, actor=principal.name, role=principal.role,
            home_tenant=principal.home, method=method, route=route, status=status,
        )  # fmt: skip
    except AuditUnavailable as exc:
        log.error("access by %s to tenant %s not recorded: %s", principal.name,
                  principal.tenant, exc)  # fmt: skip
        raise Unavailable(
            "audit log unavailable: a request in another tenant is answered only once "
            "recorded; retry (cause logged)"
        ) from exc
