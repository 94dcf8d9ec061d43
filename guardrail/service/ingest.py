"""Inbound events: what users did (wrote, opted out or in, received, read).

An event is classified first (opt-out/opt-in wording, self-harm risk, emotional
dependency), then applied in one atomic store write (``EventStore.apply_event``): the
user message, the consent change, the risk and dependency signals and the "seen" mark of
its event id land together or not at all. A store failure is a 503, the platform retries with
the same event id, and the retry applies it: a STOP or a crisis signal is never lost to a
half-applied first attempt.

Consent changes carry their evidence (who vouched for them: a signed webhook, an ingest
key, an admin key, or the bot itself) and the gateway's arrival time; the store orders
them by arrival and never lets a bot-sourced opt-in lift an opt-out from anyone else
(:func:`guardrail.state.common.decide_consent`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from classifiers.normalize import normalize
from guardrail.consent import ConsentDetector
from guardrail.models import Event, EventResult, EventType
from guardrail.risk import Assessment, Assessor, RiskLevel
from guardrail.state.base import EventWrite, IngestStore
from guardrail.state.common import (
    ConsentChange,
    ConsentOutcome,
    EvidenceSource,
    event_key,
    to_epoch,
)

USER_EVENTS = frozenset({EventType.USER_MESSAGE, EventType.OPT_IN, EventType.OPT_OUT})
"""Events that are evidence of what the user did or wants: the bot may not forge them."""


async def ingest(
    store: IngestStore,
    detector: ConsentDetector,
    tenant: str,
    event: Event,
    *,
    assessor: Assessor | None = None,
    crisis_level: RiskLevel = RiskLevel.IDEATION,
    source: EvidenceSource = "admin",
    arrival: datetime | None = None,
) -> EventResult:
    """Classify and apply one event. Raises ``TimestampOutOfRange`` (nothing written) for a
    time the store cannot keep, ``StoreUnavailable`` when the store cannot apply it."""
    to_epoch(event.ts)  # out of range: refused before anything is read or written
    seen = event_key(event.type.value, event.event_id) if event.event_id is not None else None
    if event.type is EventType.USER_MESSAGE:
        return await _user_message(
            store, detector, tenant, event, seen, assessor, crisis_level, source, arrival
        )
    if event.type in (EventType.OPT_OUT, EventType.OPT_IN):
        opted_out = event.type is EventType.OPT_OUT
        target = event.bot_id if event.scope == "bot" else None
        change = ConsentChange(target, opted_out, event.ts, source, arrival)
        applied = await store.apply_event(
            tenant,
            event.bot_id,
            event.user_id,
            EventWrite(ts=event.ts, seen_key=seen, consent=change),
        )
        if applied.duplicate or applied.consent is None:
            return EventResult(accepted=True, duplicate=applied.duplicate)
        return _consent_result(event, change, applied.consent, event.scope)
    if seen is None:  # receipts feed no rule yet: with no id there is nothing to remember
        return EventResult(accepted=True)
    applied = await store.apply_event(
        tenant, event.bot_id, event.user_id, EventWrite(ts=event.ts, seen_key=seen)
    )
    return EventResult(accepted=True, duplicate=applied.duplicate)


async def _user_message(
    store: IngestStore,
    detector: ConsentDetector,
    tenant: str,
    event: Event,
    seen: str | None,
    assessor: Assessor | None,
    crisis_level: RiskLevel,
    source: EvidenceSource,
    arrival: datetime | None,
) -> EventResult:
    change: ConsentChange | None = None
    scope: Literal["bot", "all"] = "bot"
    matched: str | None = None
    found = Assessment()
    if event.text:
        # Only the consent state is read here; horizon 0 keeps the read small.
        snap = await store.snapshot(tenant, event.bot_id, event.user_id, event.ts, timedelta(0))
        # As a person reads it: "S​T​O​P", "s.t.o.p", fullwidth letters.
        signal = detector.detect(normalize(event.text).text, currently_opted_out=snap.opted_out)
        if signal is not None:
            opted_out = signal.action == "opt_out"
            # START undoes the opt-out the user has, whatever its scope.
            scope = signal.scope if opted_out else (snap.opt_out_scope or "bot")
            target = event.bot_id if scope == "bot" else None
            change = ConsentChange(target, opted_out, event.ts, source, arrival)
            matched = signal.matched
        if assessor is not None:
            (found,) = await assessor.assess([event.text], [event.locale])
    flagged = found.level > RiskLevel.NONE
    dependency = found.dependency if found.dependency_signals else None
    write = EventWrite(
        ts=event.ts,
        seen_key=seen,
        user_message=True,
        consent=change,
        risk_level=int(found.level) if flagged else None,
        dependency_score=dependency,
    )
    applied = await store.apply_event(tenant, event.bot_id, event.user_id, write)
    if applied.duplicate:
        return EventResult(accepted=True, duplicate=True)
    result = EventResult(accepted=True)
    if change is not None and applied.consent is not None:
        result = _consent_result(event, change, applied.consent, scope, matched)
    update: dict[str, object] = {}
    if dependency is not None:
        update["dependency"] = list(found.dependency_signals)
    if flagged:
        update |= {
            "risk": found.level.label,
            "risk_score": round(found.score, 4),
            "crisis": found.level >= crisis_level,
        }
    return result.model_copy(update=update) if update else result


def _consent_result(
    event: Event,
    change: ConsentChange,
    outcome: ConsentOutcome,
    scope: Literal["bot", "all"],
    matched: str | None = None,
) -> EventResult:
    """Say what was applied, on whose word, and what could or could not undo it."""
    target = "every bot of the tenant" if change.bot is None else f"bot {change.bot}"
    said = f"matched {matched!r}; " if matched else ""
    if not outcome.applied:
        return EventResult(
            accepted=True,
            consent="opted_out",
            consent_scope=scope,
            consent_applied=False,
            consent_source=change.source,
            detail=f"{said}opt-in from {change.source} not applied, still opted out: "
            f"{outcome.refused}",
        )
    if change.opted_out:
        if change.source == "bot":
            undo = "forwarded by the bot; an opt-in from the user or the platform undoes it"
        else:
            undo = (
                f"on the word of {change.source}; an opt-in forwarded by the bot would not undo it"
            )
        detail = f"{said}opted out of {target} ({undo})"
    else:
        detail = f"{said}opted back in to {target} (on the word of {change.source})"
    return EventResult(
        accepted=True,
        consent="opted_out" if change.opted_out else "opted_in",
        consent_scope=scope,
        consent_applied=True,
        consent_source=change.source,
        detail=detail,
    )
