"""Outreach: decide only (``check``) or decide and deliver (``send``)."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, HTTPException, Request, Response, status

from guardrail.adapters.base import Outbound
from guardrail.api.audit import append_decision
from guardrail.api.deps import authorise_bot, caller, check_text, json_body, parse_body
from guardrail.audit import AuditUnavailable
from guardrail.gateway import ClientTimeRejected, Gateway
from guardrail.models import Decision, Delivery, OutreachRequest, Verdict
from guardrail.pipeline import IdempotencyInFlight, IdempotencyMismatch
from guardrail.policy.shadow import decide_with_shadows
from guardrail.state.base import StoreUnavailable

log = logging.getLogger("guardrail")
router = APIRouter(prefix="/v1/outreach", tags=["outreach"])


async def run_decision(gateway: Gateway, tenant: str, req: OutreachRequest) -> Decision:
    """Decide one request and count it in the metrics; shared by every outreach route."""
    check_text(gateway, req.text)
    try:
        now = gateway.decision_time(req)
    except ClientTimeRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    started = time.perf_counter()
    loaded = gateway.policies.select(tenant, req)  # the most specific matching policy
    try:
        decision = await decide_with_shadows(
            gateway.store, loaded, tenant, req, now, gateway.policies.count_shadow, gateway.analyzer
        )
    except IdempotencyInFlight as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT, str(exc), headers={"Retry-After": "1"}
        ) from exc
    except IdempotencyMismatch as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    gateway.metrics.observe(decision, time.perf_counter() - started)
    await append_decision(gateway, tenant, req, decision)  # before anyone sees the answer
    notify_review(gateway, tenant, req, decision)
    return decision


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
    """Deliver an allowed message; a failed delivery is released so it does not count.

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
    gateway.metrics.deliveries.labels(adapter.name, delivery.status).inc()
    if delivery.status == "failed":
        try:
            await gateway.store.release(
                tenant, req.bot_id, req.user_id, decision.decision_id, req.idempotency_key
            )
        except StoreUnavailable as exc:
            # Nothing was reserved when the store was already down (a fail-open decision);
            # otherwise the reservation stays and counts, which errs on the safe side.
            log.warning("could not release failed delivery %s: %s", decision.decision_id, exc)
        try:
            await gateway.audit.record_delivery_failure(tenant, req, decision, delivery)
        except AuditUnavailable as exc:  # the decision record stands; the 502 says the rest
            log.error("failed delivery of %s not recorded: %s", decision.decision_id, exc)
    return delivery


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
    responses={502: {"description": "allowed, but the upstream refused or failed; not counted"}},
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
