"""Inbound events: what users did (wrote, opted out or in, received, read).

User messages are recorded first, then scanned for opt-out/opt-in wording, so a
"STOP" is honoured before the next outbound decision is taken, then assessed for
self-harm risk and emotional dependency: a signal is recorded for the rules (risk hold,
crisis resources, dependency caps) and one at crisis level is flagged so the caller runs
the rest of the crisis protocol (review webhook, audit, referral count). Store failures
propagate: the platform gets a 503 and retries, and nothing is lost.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from guardrail.consent import ConsentDetector
from guardrail.models import Event, EventResult, EventType
from guardrail.risk import Assessor, RiskLevel
from guardrail.state.base import Store


async def ingest(
    store: Store,
    detector: ConsentDetector,
    tenant: str,
    event: Event,
    *,
    assessor: Assessor | None = None,
    crisis_level: RiskLevel = RiskLevel.IDEATION,
) -> EventResult:
    bot = event.bot_id
    if event.type is EventType.USER_MESSAGE:
        fresh = await store.record_user_message(
            tenant, bot, event.user_id, event.ts, event.event_id
        )
        if not fresh:
            return EventResult(accepted=True, duplicate=True)
        if not event.text:
            return EventResult(accepted=True)
        result = await _consent(store, detector, tenant, event, event.text)
        if assessor is None:
            return result
        (found,) = await assessor.assess([event.text], [event.locale])
        update: dict[str, object] = {}
        if found.dependency_signals and found.dependency is not None:
            await store.record_dependency(tenant, bot, event.user_id, event.ts, found.dependency)
            update["dependency"] = list(found.dependency_signals)
        if found.level > RiskLevel.NONE:
            await store.record_risk(tenant, bot, event.user_id, event.ts, found.level)
            update |= {
                "risk": found.level.label,
                "risk_score": round(found.score, 4),
                "crisis": found.level >= crisis_level,
            }
        return result.model_copy(update=update) if update else result
    if event.type in (EventType.OPT_OUT, EventType.OPT_IN):
        opted_out = event.type is EventType.OPT_OUT
        target = bot if event.scope == "bot" else None
        await store.set_consent(tenant, target, event.user_id, opted_out, event.ts)
        return EventResult(
            accepted=True,
            consent="opted_out" if opted_out else "opted_in",
            consent_scope=event.scope,
        )
    status: Literal["delivered", "read"] = (
        "delivered" if event.type is EventType.DELIVERED else "read"
    )
    fresh = await store.record_receipt(tenant, bot, event.user_id, event.ts, status, event.event_id)
    return EventResult(accepted=True, duplicate=not fresh)


async def _consent(
    store: Store, detector: ConsentDetector, tenant: str, event: Event, text: str
) -> EventResult:
    """Honour opt-out/opt-in wording in a user message."""
    snap = await store.snapshot(tenant, event.bot_id, event.user_id, event.ts, timedelta(0))
    signal = detector.detect(text, currently_opted_out=snap.opted_out)
    if signal is None:
        return EventResult(accepted=True)
    opted_out = signal.action == "opt_out"
    # START undoes the opt-out the user has, whatever its scope.
    scope = signal.scope if opted_out else (snap.opt_out_scope or "bot")
    target = event.bot_id if scope == "bot" else None
    await store.set_consent(tenant, target, event.user_id, opted_out, event.ts)
    return EventResult(
        accepted=True,
        consent="opted_out" if opted_out else "opted_in",
        consent_scope=scope,
        detail=f"matched {signal.matched!r}",
    )
