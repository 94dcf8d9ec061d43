"""Appending to the audit log before anyone sees the answer.

A decision that the log cannot take is not answered as done: the caller gets
:class:`~guardrail.service.errors.Unavailable` and retries (the cause, with hosts and
paths, stays in the gateway log). Consent changes and crises take another road: their
records are written into the state store together with the change
(:class:`AuditNotes` builds them for :func:`~guardrail.service.ingest.ingest`), so the
event is answered once the store took it, and the copier moves them to the log, now or
once it is back (:mod:`guardrail.audit.outbox`).
"""

from __future__ import annotations

import fnmatch
import logging

import orjson

from guardrail.audit import AuditUnavailable, Verification
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.models import Decision, Event, OutreachRequest
from guardrail.policy import Policy
from guardrail.service.errors import Unavailable
from guardrail.state.common import ConsentChange

log = logging.getLogger("guardrail.audit")


def omitted_text(policy: Policy, decision: Decision) -> str | None:
    """Why the policy keeps no delivered text of ``decision`` (None: it keeps it redacted):
    ``audit.delivered_text: omit``, or a rule of ``audit.sensitive_rules`` reported on it."""
    settings = policy.audit
    if decision.text is None:
        return None
    if settings.delivered_text == "omit":
        return "policy: delivered_text omit"
    for reason in decision.reasons:
        if reason.effect == "shadow":
            continue
        for pattern in settings.sensitive_rules:
            if fnmatch.fnmatchcase(reason.rule, pattern):
                return f"sensitive: {reason.rule}"
    return None


async def append_decision(
    gateway: Gateway,
    tenant: str,
    req: OutreachRequest,
    decision: Decision,
    audit_text: str | None = None,
    *,
    omit_text: str | None = None,
) -> None:
    """Record ``decision``; ``audit_text`` is its delivered text already redacted by the
    pipeline (None: the audit trail redacts it itself), ``omit_text`` why none is kept."""
    try:
        await gateway.audit.record_decision(
            tenant, req, decision, redacted=audit_text, omit_text=omit_text
        )
    except AuditUnavailable as exc:
        log.error("decision %s not recorded: %s", decision.decision_id, exc)
        raise Unavailable(
            "audit log unavailable, the decision was not recorded; retry (cause logged)"
        ) from exc


class AuditNotes:
    """The audit records of one event (its consent change, a crisis), built for the state
    store to keep with the event's write (:class:`~guardrail.service.ingest.EventNotes`)."""

    def __init__(self, gateway: Gateway, tenant: str, event: Event, via: str | None) -> None:
        self.gateway, self.tenant, self.event, self.via = gateway, tenant, event, via

    def consent(self, change: ConsentChange, scope: str, applied: bool) -> tuple[str, str]:
        body = self.gateway.audit.consent_body(
            self.tenant,
            self.event,
            opted_out=change.opted_out,
            scope=scope,
            evidence=change.source,
            applied=applied,
            via=self.via,
        )
        return str(body["id"]), orjson.dumps(body).decode()

    def crisis(self, level: str, score: float, imminent: bool = False) -> tuple[str, str]:
        body = self.gateway.audit.crisis_body(
            self.tenant,
            self.event,
            level=level,
            score=score,
            notified=self.gateway.notifier is not None,
            imminent=imminent,
        )
        return str(body["id"]), orjson.dumps(body).decode()


async def copy_records(gateway: Gateway) -> None:
    """Move the records the store keeps to the log now (they wait there if it is down)."""
    if gateway.records is not None:
        await gateway.records.flush()


async def verify_log(gateway: Gateway) -> Verification:
    """Verify the whole log, against the published head when a witness file is kept."""
    published = None
    if gateway.witness is not None:
        try:
            published = gateway.witness.published()
        except ValueError as exc:
            log.error("witness file unreadable: %s", exc)
            raise Unavailable("the witness file cannot be read (cause logged)") from exc
    return await gateway.audit.verify(published=published)


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
