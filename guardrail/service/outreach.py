"""Outreach: decide one outbound message, record it, tell reviewers, deliver it.

Every way a bot sends (``/v1/outreach/check`` and ``/send``, each proxy) goes through
:func:`decide_outreach` and, when it delivers, :func:`deliver`. Errors are domain errors
(:mod:`guardrail.service.errors`); the edge maps them to HTTP or to the platform's shape.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from guardrail import tracing
from guardrail.analysis import TENANT
from guardrail.audit import AuditUnavailable
from guardrail.evidence import NO_EVIDENCE, UserEvidence
from guardrail.gateway import ClientTimeRejected, Gateway
from guardrail.logs import log_decision
from guardrail.models import Decision, Delivery, OutreachRequest, Reason
from guardrail.pipeline import (
    IdempotencyInFlight,
    IdempotencyMismatch,
    Outcome,
    decide_content_only,
    refuse_unknown,
)
from guardrail.platforms.adapter import Adapter, Outbound
from guardrail.risk import RiskLevel
from guardrail.service.access import check_text
from guardrail.service.audit import append_decision, omitted_text
from guardrail.service.errors import Conflict, Invalid, Unavailable
from guardrail.service.profile import choose_strictest, evidence_of, region_of
from guardrail.service.profile import effective as effective_user
from guardrail.service.profile import news as profile_news
from guardrail.service.shadow import evaluate_with_shadows
from guardrail.state.base import EventWrite, StoreUnavailable

log = logging.getLogger("guardrail")

PROFILE_RULE = "user.context"
"""Reasons that say how the user's facts and the message answered were established."""

REVIEW_PREFIX = "review:"
"""A rule's ``review`` action: the message goes out, and people should look at it."""


async def decide_outreach(gateway: Gateway, tenant: str, req: OutreachRequest) -> Decision:
    """:func:`_decide_outreach` inside the decision's trace span (when tracing is on)."""
    with tracing.span("decision", tenant=tenant, bot=req.bot_id, channel=req.channel.value):
        return await _decide_outreach(gateway, tenant, req)


async def _decide_outreach(gateway: Gateway, tenant: str, req: OutreachRequest) -> Decision:
    """Decide one request and count it in the metrics; shared by every outreach route.

    Before the decision: the user's recorded jurisdiction and minor status replace the
    bot's claims (:mod:`guardrail.service.profile`), the policy set picks the policy
    (refusing when it requires a fact nobody knows), and the user message the request
    answers, if it carries one, is assessed for self-harm risk so this very reply gets the
    help. The decision is in the audit log before it is returned; one the log cannot take
    is released (it does not count as sent, its idempotency key is free) and refused."""
    check_text(gateway, req.text)
    if req.in_reply_to is not None:
        check_text(gateway, req.in_reply_to.text)
    TENANT.set(tenant)  # the PII worker serves tenants in turn
    try:
        now = gateway.decision_time(req)
    except ClientTimeRejected as exc:
        raise Invalid(str(exc)) from exc
    started = time.perf_counter()
    req, notes, others, evidence = await known_user(gateway, tenant, req)
    selection, chosen = choose_strictest(gateway.policies.current, tenant, req, others)
    req, loaded = selection.request, selection.loaded  # the most specific matching policy
    notes += [*chosen, *selection.notes]
    if selection.missing:
        outcome = Outcome(refuse_unknown(loaded, req, now, selection.missing))
    else:
        notes += await assess_reply_to(gateway, tenant, req, now)
        try:
            outcome = await evaluate_with_shadows(
                tracing.traced_store(gateway.store),
                loaded,
                tenant,
                req,
                now,
                gateway.policies.count_shadow,
                tracing.traced_analyzer(gateway.analyzer),
                evidence,
            )
        except IdempotencyInFlight as exc:
            raise Conflict(str(exc), retry_after_s=1) from exc
        except IdempotencyMismatch as exc:
            raise Invalid(str(exc)) from exc
    decision = outcome.decision
    if notes:
        extra = [
            Reason(rule=PROFILE_RULE, detail=note, policy=loaded.policy.name) for note in notes
        ]
        decision = decision.model_copy(update={"reasons": [*extra, *decision.reasons]})
    elapsed = time.perf_counter() - started
    gateway.metrics.observe(decision, elapsed)
    log_decision(tenant, req, decision, elapsed)
    omit = omitted_text(loaded.policy, decision)
    try:
        with tracing.span("audit.append", verdict=decision.verdict.value):
            await append_decision(
                gateway, tenant, req, decision, outcome.audit_text, omit_text=omit
            )
    except Unavailable:
        if not decision.idempotent_replay:  # a replay's original may have been answered
            await release(gateway, tenant, req, decision.decision_id, "unrecorded decision")
        raise
    notify_review(gateway, tenant, req, decision)
    return decision


async def decide_shown(gateway: Gateway, tenant: str, req: OutreachRequest) -> Decision:
    """Texts a call shows people without one recipient (``req.user_id`` names the call):
    the content checks of the policy the set picks, as for a proactive message; audited,
    counted nowhere."""
    check_text(gateway, req.text)
    TENANT.set(tenant)
    now = gateway.clock()
    started = time.perf_counter()
    selection = gateway.policies.current.choose(tenant, req)
    decision = await decide_content_only(selection.loaded, selection.request, now, gateway.analyzer)
    gateway.metrics.observe(decision, time.perf_counter() - started)
    await append_decision(gateway, tenant, req, decision, None)
    return decision


async def known_user(
    gateway: Gateway, tenant: str, req: OutreachRequest
) -> tuple[OutreachRequest, list[str], list[str], UserEvidence]:
    """The request with the user's recorded facts in place of the bot's claims, the
    claims remembered where the record was silent; notes on conflicts, the jurisdictions a
    conflict leaves in play, and the evidence on record for the rules. A store that cannot
    answer leaves the claims as they are: the decision then fails closed as the policy says."""
    try:
        profile = await gateway.store.user_profile(tenant, req.user_id)
        if profile_news(profile, req.user):
            await gateway.store.remember_user(
                tenant, req.user_id, req.user.jurisdiction, req.user.is_minor, "bot"
            )
    except StoreUnavailable as exc:
        log.warning("user record of %s unavailable: %s", req.bot_id, exc)
        return req, [], [], NO_EVIDENCE
    user, notes, others = effective_user(profile, req.user, region_of(req))
    return req.model_copy(update={"user": user}), notes, others, evidence_of(profile)


async def assess_reply_to(
    gateway: Gateway, tenant: str, req: OutreachRequest, now: datetime
) -> list[str]:
    """Assess the user message the request answers with the gateway's assessor, and
    record a risk it shows, so the rules (crisis resources, risk hold) see it now rather
    than when the platform's event is classified. Only risk is taken from it: the text
    comes from the bot, so it never counts as the user having written (reply windows,
    user-first stay with platform events)."""
    message = req.in_reply_to
    if message is None:
        return []
    (found,) = await gateway.assessor.assess([message.text], [message.locale or req.user.locale])
    if found.level <= RiskLevel.NONE:
        return [f"the message answered was assessed inline ({found.source}): no self-harm risk"]
    ts = min(message.ts or now, now)
    write = EventWrite(ts=ts, risk_level=int(found.level), risk_imminent=found.imminent)
    try:
        await gateway.store.apply_event(tenant, req.bot_id, req.user_id, write)
    except StoreUnavailable as exc:  # the decision fails closed on the same store
        log.warning("inline risk of %s not recorded: %s", req.bot_id, exc)
    return [
        f"the message answered was assessed inline ({found.source}): self-harm risk "
        f"{found.level.label}{' (imminent)' if found.imminent else ''}, recorded at "
        f"{ts.isoformat()}"
    ]


def notify_review(gateway: Gateway, tenant: str, req: OutreachRequest, decision: Decision) -> None:
    """Send decisions a rule flagged for review to the review webhook (in the background)."""
    if gateway.notifier is None or decision.idempotent_replay:
        return
    flagged = [r for r in decision.reasons if r.detail.startswith(REVIEW_PREFIX)]
    if not flagged:
        return
    payload: dict[str, object] = {
        "type": "review",
        "tenant": tenant,
        "bot_id": req.bot_id,
        "user_id": req.user_id,
        "decision_id": decision.decision_id,
        "verdict": decision.verdict.value,
        "reasons": [{"rule": r.rule, "detail": r.detail} for r in flagged],
        "ts": decision.decided_at.isoformat(),
    }
    if gateway.notifier.config.include_text:
        payload["text"] = decision.text
    gateway.notifier.notify(payload)


def upstream_for(gateway: Gateway, bot: str) -> Adapter:
    """The bot's delivery adapter; Conflict when none is configured (nothing is decided)."""
    adapter = gateway.adapter_for(bot)
    if adapter is None:
        raise Conflict(f"no upstream adapter configured for bot {bot!r}; use /v1/outreach/check")
    return adapter


async def deliver(
    gateway: Gateway,
    tenant: str,
    req: OutreachRequest,
    decision: Decision,
    outbound: Outbound | None = None,
) -> Delivery:
    """Deliver an allowed message. Only a definite non-delivery (connection refused, a 4xx
    refusal) is released so it does not count; an uncertain one (timeout, 5xx: the
    platform may have taken it) keeps its cap slot and is marked so in the audit log.

    ``outbound``: the exact upstream request (proxy mode), else the adapter builds one."""
    adapter = gateway.adapter_for(req.bot_id)
    assert adapter is not None  # callers check before deciding
    if decision.idempotent_replay:
        return Delivery(
            status="skipped",
            adapter=adapter.name,
            error="already handled under this idempotency key",
        )
    assert decision.text is not None
    delivery = await adapter.deliver(
        bot_id=req.bot_id, user_id=req.user_id, text=decision.text, outbound=outbound
    )
    outcome = "uncertain" if delivery.uncertain else delivery.status
    gateway.metrics.deliveries.labels(adapter.name, outcome).inc()
    if delivery.status == "failed":
        if not delivery.uncertain:
            await release(gateway, tenant, req, decision.decision_id, "failed delivery")
        try:
            await gateway.audit.record_delivery_failure(tenant, req, decision, delivery)
        except AuditUnavailable as exc:  # the decision record stands; the 502 says the rest
            log.error("failed delivery of %s not recorded: %s", decision.decision_id, exc)
    return delivery


async def release(
    gateway: Gateway, tenant: str, req: OutreachRequest, decision_id: str, what: str
) -> None:
    """Uncount a committed decision that was not sent (``what`` names why, for the log).

    Nothing was reserved when the store was already down (a fail-open decision); otherwise
    a reservation the store cannot release stays and counts, which errs on the safe side."""
    try:
        await gateway.store.release(
            tenant, req.bot_id, req.user_id, decision_id, req.idempotency_key
        )
    except StoreUnavailable as exc:
        log.warning("could not release %s %s: %s", what, decision_id, exc)
