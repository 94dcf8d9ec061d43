"""Event ingestion: what users did, from the ingest API, signed webhooks and proxies.

:func:`record_event` classifies and applies one event (:mod:`guardrail.service.ingest`),
answers HELP, counts it and runs the crisis protocol. The audit records of a consent change
or a crisis are written with the event (the store's audit outbox) and copied to the log
right after, or once the log is back: the event is answered as soon as the store took
it, whatever the state of the audit log. Who may post what is checked by the caller
(:func:`~guardrail.service.access.evidence_source`); the evidence class travels as
``source``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from classifiers.normalize import normalize
from guardrail.gateway import Gateway
from guardrail.models import Event, EventResult
from guardrail.rules.crisis_resources import CrisisResources, CrisisResourcesParams
from guardrail.service.audit import AuditNotes, copy_records
from guardrail.service.crisis import crisis_protocol
from guardrail.service.errors import STORE_UNAVAILABLE, Invalid, Unavailable
from guardrail.service.ingest import ingest
from guardrail.service.limits import event_problem
from guardrail.state.base import StoreUnavailable
from guardrail.state.common import EvidenceSource, TimestampOutOfRange, to_epoch

log = logging.getLogger("guardrail")


async def record_event(
    gateway: Gateway,
    tenant: str,
    event: Event,
    *,
    source: EvidenceSource = "webhook",
    via: str | None = None,
) -> EventResult:
    """Ingest one event. Unavailable (so the sender retries) when the store is down,
    Invalid on ``ts`` for a time the store cannot keep (nothing is written). ``source`` is
    the evidence class, ``via`` the key or webhook it came through (for the audit record)."""
    try:
        policy = gateway.policies.current.for_event(tenant, event.bot_id, event.channel)
        crisis = policy.policy.rule_params(CrisisResources.id)
        assert isinstance(crisis, CrisisResourcesParams)
        result = await ingest(
            gateway.store,
            gateway.detector_for(tenant, event.bot_id, event.channel),
            tenant,
            event,
            assessor=gateway.assessor,
            crisis_level=crisis.level,
            source=source,
            arrival=gateway.clock(),
            notes=AuditNotes(gateway, tenant, event, via),
        )
    except TimestampOutOfRange as exc:
        gateway.metrics.events.labels(event.type.value, "invalid").inc()
        raise Invalid(str(exc), field="ts") from exc
    except StoreUnavailable as exc:
        gateway.metrics.events.labels(event.type.value, "store_unavailable").inc()
        log.warning("event of bot %s not recorded: %s", event.bot_id, exc)
        raise Unavailable(STORE_UNAVAILABLE) from exc
    if not result.duplicate and result.consent is None and event.text:
        result = with_help_reply(gateway, tenant, event, result)
    outcome = "duplicate" if result.duplicate else (result.consent or "recorded")
    gateway.metrics.events.labels(event.type.value, outcome).inc()
    if not result.duplicate and (result.consent is not None or result.crisis):
        await copy_records(gateway)
    if result.crisis:
        await crisis_protocol(gateway, tenant, event, result)
    return result


def with_help_reply(
    gateway: Gateway, tenant: str, event: Event, result: EventResult
) -> EventResult:
    """HELP (CTIA Messaging Principles): hand back the policy's answer for the engine to send."""
    detector = gateway.detector_for(tenant, event.bot_id, event.channel)
    if not event.text or not detector.is_help(normalize(event.text).text):
        return result
    found = gateway.policies.current.help_reply(tenant, event.bot_id, event.channel)
    if found is None:
        return result.model_copy(update={"detail": "help keyword; no help_reply in the policy"})
    policy, text = found
    return result.model_copy(update={"help_reply": text, "detail": f"help keyword ({policy})"})


async def record_all(
    gateway: Gateway, events: Iterable[tuple[str, Event]], via: str, warnings: list[str]
) -> int:
    """Record each (tenant, event) of a platform webhook as platform evidence; returns how
    many were new.

    Applied one by one, each marked seen only once applied: an Unavailable makes the
    platform retry the whole payload, and the retry skips what was applied and applies the
    rest. An event over a limit of ``/v1/events`` (its time impossible by the gateway's
    clock, its text too long) is skipped with a warning: the platform's retry would carry
    the same content (:mod:`guardrail.service.limits`).
    """
    recorded = 0
    for tenant, event in events:
        problem = event_problem(gateway, event)
        if problem is None:
            try:
                to_epoch(event.ts)
            except TimestampOutOfRange as exc:
                problem = str(exc)
        if problem is not None:
            warnings.append(f"skipped event {event.event_id}: {problem}")
            log.warning("webhook event of bot %s skipped: %s", event.bot_id, problem)
            continue
        result = await record_event(gateway, tenant, event, source="webhook", via=via)
        recorded += not result.duplicate
    return recorded
