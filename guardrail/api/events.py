"""Inbound events forwarded by the bot platform or the operator's engine.

Who may post what (the evidence model): events saying what the user did or wants
(``user_message``, ``opt_in``, ``opt_out``) come from the platform's side, through an
``ingest`` key or a signed webhook, or from an ``admin`` key. A ``bot`` key may post them
only when ``bots.<id>.forwards_user_events`` says its engine is where they come from; they
are then recorded as the bot's evidence. Delivered and read receipts are open to bot keys.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError

from guardrail.api.audit import append_consent
from guardrail.api.deps import authorise_bot, caller, check_text, json_body, parse_body
from guardrail.audit import AuditUnavailable
from guardrail.auth import Principal
from guardrail.events import USER_EVENTS, ingest
from guardrail.gateway import Gateway
from guardrail.models import Event, EventResult
from guardrail.profile import remember_user
from guardrail.rules.crisis_resources import CrisisResources, CrisisResourcesParams
from guardrail.state.base import StoreUnavailable
from guardrail.state.common import EvidenceSource, TimestampOutOfRange

log = logging.getLogger("guardrail")
router = APIRouter(prefix="/v1", tags=["events"])
UNAVAILABLE = "state store unavailable, retry (the cause is in the gateway log)"


async def record_event(
    gateway: Gateway,
    tenant: str,
    event: Event,
    *,
    source: EvidenceSource = "webhook",
    via: str | None = None,
) -> EventResult:
    """Ingest one event; 503 (so the sender retries) when the store is down, 422 for a
    time the store cannot keep (nothing is written). ``source`` is the evidence class,
    ``via`` the key or webhook it came through (for the audit record)."""
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
        )
    except TimestampOutOfRange as exc:  # the same 422 body as any invalid field
        gateway.metrics.events.labels(event.type.value, "invalid").inc()
        error = {"loc": ("body", "ts"), "msg": str(exc), "type": "value_error"}
        raise RequestValidationError([error]) from exc
    except StoreUnavailable as exc:
        gateway.metrics.events.labels(event.type.value, "store_unavailable").inc()
        log.warning("event of bot %s not recorded: %s", event.bot_id, exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from exc
    if not result.duplicate and result.consent is None and event.text:
        result = with_help_reply(gateway, tenant, event, result)
    outcome = "duplicate" if result.duplicate else (result.consent or "recorded")
    gateway.metrics.events.labels(event.type.value, outcome).inc()
    await append_consent(gateway, tenant, event, result, via=via)
    if result.crisis:
        await crisis_protocol(gateway, tenant, event, result)
    return result


def with_help_reply(
    gateway: Gateway, tenant: str, event: Event, result: EventResult
) -> EventResult:
    """HELP (CTIA Messaging Principles): hand back the policy's answer for the engine to send."""
    detector = gateway.detector_for(tenant, event.bot_id, event.channel)
    if not event.text or not detector.is_help(event.text):
        return result
    found = gateway.policies.current.help_reply(tenant, event.bot_id, event.channel)
    if found is None:
        return result.model_copy(update={"detail": "help keyword; no help_reply in the policy"})
    policy, text = found
    return result.model_copy(update={"help_reply": text, "detail": f"help keyword ({policy})"})


async def crisis_protocol(gateway: Gateway, tenant: str, event: Event, result: EventResult) -> None:
    """The parts of the crisis protocol that happen at once, besides the recorded risk
    (which holds outreach and puts help in the next reply): count it, record it in the
    audit log, and tell the operator's reviewers (in the background)."""
    gateway.metrics.crisis.labels(result.risk or "unknown").inc()
    try:
        await gateway.audit.record_crisis(
            tenant, event, result, notified=gateway.notifier is not None
        )
    except AuditUnavailable as exc:  # the risk is recorded; the review still goes out
        log.error("crisis of bot %s not recorded in the audit log: %s", event.bot_id, exc)
    if gateway.notifier is None:
        return
    payload = {
        "type": "crisis",
        "tenant": tenant,
        "bot_id": event.bot_id,
        "user_id": event.user_id,
        "level": result.risk,
        "score": result.risk_score,
        "ts": event.ts.isoformat(),
        "event_id": event.event_id,
    }
    if gateway.notifier.config.include_text:
        payload["text"] = event.text
    try:  # durable before the event is answered: a restart still sends it
        await gateway.notifier.enqueue(payload)
    except StoreUnavailable as exc:
        log.error("crisis review of bot %s not queued: %s", event.bot_id, exc)


@router.post("/events", response_model=EventResult, openapi_extra=json_body(Event))
async def post_event(request: Request) -> Response:
    gateway, principal = caller(request)
    event = await parse_body(request, Event)
    tenant = authorise_bot(gateway, principal, event.bot_id, roles=("bot", "ingest", "admin"))
    source = evidence_source(gateway, principal, event)
    if event.text is not None:
        check_text(gateway, event.text)
    if event.jurisdiction is not None or event.is_minor is not None:
        await remember_user(gateway, tenant, event, principal.role)
    result = await record_event(gateway, tenant, event, source=source, via=principal.name)
    return Response(result.model_dump_json(), media_type="application/json")


def evidence_source(gateway: Gateway, principal: Principal, event: Event) -> EvidenceSource:
    """Who vouches for ``event``; 403 when a bot key posts what only the user can say."""
    if principal.role == "admin":
        return "admin"
    if principal.role == "ingest":
        return "ingest"
    if event.type in USER_EVENTS:
        bot = gateway.settings.bots.get(event.bot_id)
        if bot is None or not bot.forwards_user_events:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a bot key may not post {event.type.value} events: they are evidence of what "
                "the user did, and the bot is the party they restrain. Post them with an ingest "
                f"key or the platform webhook, or set bots.{event.bot_id}.forwards_user_events: "
                "true if this bot's engine is where they come from",
            )
    return "bot"
