"""Outreach: decide only (``check``) or decide and deliver (``send``)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response, status

from guardrail.adapters.base import Outbound
from guardrail.api.audit import append_decision
from guardrail.api.deps import authorise_bot, caller, check_text, json_body, parse_body
from guardrail.audit import AuditUnavailable
from guardrail.gateway import ClientTimeRejected, Gateway
from guardrail.models import Decision, Delivery, OutreachRequest, Reason, Verdict
from guardrail.pipeline import IdempotencyInFlight, IdempotencyMismatch, refuse_unknown
from guardrail.policy.shadow import decide_with_shadows
from guardrail.profile import effective as effective_user
from guardrail.profile import news as profile_news
from guardrail.risk import RiskLevel
from guardrail.state.base import StoreUnavailable

log = logging.getLogger("guardrail")
router = APIRouter(prefix="/v1/outreach", tags=["outreach"])


async def run_decision(gateway: Gateway, tenant: str, req: OutreachRequest) -> Decision:
    """Decide one request and count it in the metrics; shared by every outreach route.

    Before the decision: the user's recorded jurisdiction and minor status replace the
    bot's claims (:mod:`guardrail.profile`), the policy set picks the policy (refusing
    when it requires a fact nobody knows), and the user message the request answers,
    if it carries one, is assessed for self-harm risk so this very reply gets the help."""
    check_text(gateway, req.text)
    if req.in_reply_to is not None:
        check_text(gateway, req.in_reply_to.text)
    try:
        now = gateway.decision_time(req)
    except ClientTimeRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    started = time.perf_counter()
    req, notes = await known_user(gateway, tenant, req)
    selection = gateway.policies.current.choose(tenant, req)
    req, loaded = selection.request, selection.loaded  # the most specific matching policy
    notes += selection.notes
    if selection.missing:
        decision = refuse_unknown(loaded, req, now, selection.missing)
    else:
        notes += await assess_reply_to(gateway, tenant, req, now)
        try:
            decision = await decide_with_shadows(
                gateway.store,
                loaded,
                tenant,
                req,
                now,
                gateway.policies.count_shadow,
                gateway.analyzer,
            )
        except IdempotencyInFlight as exc:
            raise HTTPException(
                status.HTTP_409_CONFLICT, str(exc), headers={"Retry-After": "1"}
            ) from exc
        except IdempotencyMismatch as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if notes:
        extra = [
            Reason(rule=PROFILE_RULE, detail=note, policy=loaded.policy.name) for note in notes
        ]
        decision = decision.model_copy(update={"reasons": [*extra, *decision.reasons]})
    gateway.metrics.observe(decision, time.perf_counter() - started)
    await append_decision(gateway, tenant, req, decision)  # before anyone sees the answer
    notify_review(gateway, tenant, req, decision)
    return decision


PROFILE_RULE = "user.context"
"""Reasons that say how the user's facts and the message answered were established."""


async def known_user(
    gateway: Gateway, tenant: str, req: OutreachRequest
) -> tuple[OutreachRequest, list[str]]:
    """The request with the user's recorded facts in place of the bot's claims, the
    claims remembered where the record was silent. A store that cannot answer leaves the
    claims as they are: the decision then fails closed as the policy says."""
    try:
        profile = await gateway.store.user_profile(tenant, req.user_id)
        if profile_news(profile, req.user):
            await gateway.store.remember_user(
                tenant, req.user_id, req.user.jurisdiction, req.user.is_minor, "bot"
            )
    except StoreUnavailable as exc:
        log.warning("user record of %s unavailable: %s", req.bot_id, exc)
        return req, []
    user, notes = effective_user(profile, req.user)
    return req.model_copy(update={"user": user}), notes


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
    try:
        await gateway.store.record_risk(tenant, req.bot_id, req.user_id, ts, found.level)
    except StoreUnavailable as exc:  # the decision fails closed on the same store
        log.warning("inline risk of %s not recorded: %s", req.bot_id, exc)
    return [
        f"the message answered was assessed inline ({found.source}): self-harm risk "
        f"{found.level.label}, recorded at {ts.isoformat()}"
    ]


REVIEW_PREFIX = "review:"
"""A rule's ``review`` action: the message goes out, and people should look at it."""


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
            await _release(gateway, tenant, req, decision)
        try:
            await gateway.audit.record_delivery_failure(tenant, req, decision, delivery)
        except AuditUnavailable as exc:  # the decision record stands; the 502 says the rest
            log.error("failed delivery of %s not recorded: %s", decision.decision_id, exc)
    return delivery


async def _release(gateway: Gateway, tenant: str, req: OutreachRequest, decision: Decision) -> None:
    try:
        await gateway.store.release(
            tenant, req.bot_id, req.user_id, decision.decision_id, req.idempotency_key
        )
    except StoreUnavailable as exc:
        # Nothing was reserved when the store was already down (a fail-open decision);
        # otherwise the reservation stays and counts, which errs on the safe side.
        log.warning("could not release failed delivery %s: %s", decision.decision_id, exc)


@router.post(
    "/check",
    response_model=Decision,
    summary="Decide only; the engine delivers itself",
    openapi_extra=json_body(OutreachRequest),
)
async def check(request: Request) -> Response:
    gateway, principal = caller(request)
    req = await parse_body(request, OutreachRequest)
    tenant = authorise_bot(gateway, principal, req.bot_id)
    decision = await run_decision(gateway, tenant, req)
    return Response(decision.model_dump_json(), media_type="application/json")


@router.post(
    "/send",
    response_model=Decision,
    summary="Decide, then deliver through the bot's upstream adapter",
    responses={
        502: {
            "description": "allowed, but the upstream refused or failed: not counted, unless "
            "delivery.uncertain (a timeout or 5xx: it may have gone out, so it counts)"
        }
    },
    openapi_extra=json_body(OutreachRequest),
)
async def send(request: Request) -> Response:
    gateway, principal = caller(request)
    req = await parse_body(request, OutreachRequest)
    tenant = authorise_bot(gateway, principal, req.bot_id)
    if gateway.adapter_for(req.bot_id) is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"no upstream adapter configured for bot {req.bot_id!r}; use /v1/outreach/check",
        )
    decision = await run_decision(gateway, tenant, req)
    code = status.HTTP_200_OK
    if decision.verdict in (Verdict.ALLOW, Verdict.REWRITE):
        delivery = await deliver(gateway, tenant, req, decision)
        decision = decision.model_copy(update={"delivery": delivery})
        if delivery.status == "failed":
            code = status.HTTP_502_BAD_GATEWAY
    return Response(decision.model_dump_json(), status_code=code, media_type="application/json")
