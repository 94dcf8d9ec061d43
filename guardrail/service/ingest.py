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

With ``notes``, the audit records of a consent change and of a crisis are written in the
same atomic step (the store's audit outbox), so none is lost to an audit-log outage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

from guardrail.consent import ConsentDetector
from guardrail.forget import asks_to_forget
from guardrail.models import Event, EventResult, EventType
from guardrail.risk import (
    CONVERSATION,
    Assessment,
    Assessor,
    RiskLevel,
    worth_keeping,
)
from guardrail.state.base import (
    ALL_TOPICS,
    AuditRecords,
    EventApplied,
    EventWrite,
    IngestStore,
    RecentMessage,
)
from guardrail.state.common import (
    ConsentChange,
    ConsentOutcome,
    EvidenceSource,
    event_key,
    to_epoch,
)

HEAD_CUE = "head"
"""The minor head's own flag, with no explicit cue: reported in the event result, but it
does not mark the user record. The mark is sticky (only the operator's age assurance
clears it) and changes how every policy decides, while the head alone flags ordinary chat
now and then ("can you find something lighter for the weekend?" scored 0.88): only what
the writer says of themselves (an age, a school year, parents' rules, school life) marks."""

USER_EVENTS = frozenset({EventType.USER_MESSAGE, EventType.OPT_IN, EventType.OPT_OUT})
"""Events that are evidence of what the user did or wants: the bot may not forge them."""


class EventNotes(Protocol):
    """Builds an event's audit records, as (record id, body JSON), for the store to keep."""

    def consent(self, change: ConsentChange, scope: str, applied: bool) -> tuple[str, str]: ...

    def crisis(self, level: str, score: float, imminent: bool = False) -> tuple[str, str]: ...


def _records(
    notes: EventNotes | None,
    change: ConsentChange | None,
    scope: str,
    crisis: Assessment | None = None,
) -> AuditRecords | None:
    """What the store keeps with the write: the consent record once it decided the change
    (applied or refused), and the crisis record."""
    if notes is None or (change is None and crisis is None):
        return None

    def build(outcome: ConsentOutcome | None) -> Sequence[tuple[str, str]]:
        kept = []
        if change is not None and outcome is not None:
            kept.append(notes.consent(change, scope, outcome.applied))
        if crisis is not None:
            kept.append(notes.crisis(crisis.level.label, round(crisis.score, 4), crisis.imminent))
        return kept

    return build


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
    notes: EventNotes | None = None,
) -> EventResult:
    """Classify and apply one event. Raises ``TimestampOutOfRange`` (nothing written) for a
    time the store cannot keep, ``StoreUnavailable`` when the store cannot apply it.
    ``notes``: build the audit records the store keeps with the write."""
    to_epoch(event.ts)  # out of range: refused before anything is read or written
    seen = (
        event_key(event.type.value, event.event_id, origin=source, bot=event.bot_id)
        if event.event_id is not None
        else None
    )
    if event.type is EventType.USER_MESSAGE:
        return await _user_message(
            store, detector, tenant, event, seen, assessor, crisis_level, source, arrival, notes
        )
    if event.type in (EventType.OPT_OUT, EventType.OPT_IN):
        opted_out = event.type is EventType.OPT_OUT
        target = event.bot_id if event.scope == "bot" else None
        change = ConsentChange(target, opted_out, event.ts, source, arrival)
        applied = await store.apply_event(
            tenant,
            event.bot_id,
            event.user_id,
            EventWrite(
                ts=event.ts,
                seen_key=seen,
                consent=change,
                audit=_records(notes, change, event.scope),
            ),
        )
        if applied.duplicate or applied.consent is None:
            return EventResult(accepted=True, duplicate=applied.duplicate)
        return _reused(event, applied, _consent_result(event, change, applied.consent, event.scope))
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
    notes: EventNotes | None = None,
) -> EventResult:
    change: ConsentChange | None = None
    scope: Literal["bot", "all"] = "bot"
    matched: str | None = None
    refused_in: str | None = None
    found = Assessment()
    recent: RecentMessage | None = None
    if event.text:
        # One read: the consent state and the crisis facts of the user's last messages.
        snap = await store.event_snapshot(
            tenant, event.bot_id, event.user_id, event.ts, CONVERSATION
        )
        signal = detector.detect(
            event.text, currently_opted_out=snap.opted_out, choice=event.choice
        )
        if signal is None and snap.opted_out:
            refused_in = detector.not_an_opt_in(event.text, choice=event.choice)
            scope = snap.opt_out_scope or "bot"
        if signal is not None:
            opted_out = signal.action == "opt_out"
            # START undoes the opt-out the user has, whatever its scope.
            scope = signal.scope if opted_out else (snap.opt_out_scope or "bot")
            target = event.bot_id if scope == "bot" else None
            change = ConsentChange(target, opted_out, event.ts, source, arrival)
            matched = signal.matched
        if assessor is not None:
            (found,) = await assessor.assess([event.text], [event.locale])
            found = assessor.converse(found, [m for m in snap.recent if m.ts <= event.ts])
            if worth_keeping(found):
                recent = RecentMessage(
                    event.ts, found.facts, int(found.level), found.imminent, found.vector
                )
    explicit = tuple(cue for cue in found.minor if cue != HEAD_CUE)
    if explicit:  # before the event is applied, so its retry marks again (harmlessly)
        await store.mark_likely_minor(tenant, event.user_id, event.ts, source, explicit)
    disclosed, forget = await _confided(store, tenant, event, found)
    flagged = found.level > RiskLevel.NONE
    crisis = flagged and (found.level >= crisis_level or found.imminent)
    dependency = found.dependency if found.dependency_signals else None
    write = EventWrite(
        ts=event.ts,
        seen_key=seen,
        user_message=True,
        consent=change,
        risk_level=int(found.level) if flagged else None,
        risk_imminent=found.imminent,
        dependency_score=dependency,
        disclosed=disclosed,
        forget=forget,
        audit=_records(
            notes,
            change,
            scope,
            found if flagged and (found.level >= crisis_level or found.imminent) else None,
        ),
        recent=recent,
        recent_ttl=CONVERSATION,
    )
    applied = await store.apply_event(tenant, event.bot_id, event.user_id, write)
    if applied.duplicate:
        return EventResult(accepted=True, duplicate=True)
    result = EventResult(accepted=True)
    if change is not None and applied.consent is not None:
        result = _reused(
            event, applied, _consent_result(event, change, applied.consent, scope, matched)
        )
    elif refused_in is not None:  # the YES trap: recorded as a refused opt-in
        result = EventResult(
            accepted=True,
            consent="opted_out",
            consent_scope=scope,
            consent_applied=False,
            consent_source=source,
            detail=f"{refused_in}; still opted out",
        )
    update: dict[str, object] = {}
    if found.minor:
        update["minor"] = list(found.minor)
    if dependency is not None:
        update["dependency"] = list(found.dependency_signals)
    if flagged:
        update |= {
            "risk": found.level.label,
            "risk_score": round(found.score, 4),
            "crisis": crisis,
            "imminent": found.imminent,
        }
    if disclosed:
        update["sensitive"] = list(disclosed)
    if forget:
        update["forget"] = list(forget)
    return result.model_copy(update=update) if update else result


def _reused(event: Event, applied: EventApplied, result: EventResult) -> EventResult:
    """Say so when an opt-out came under an id already seen on another event."""
    if not applied.id_reused:
        return result
    note = (
        f"; event id {event.event_id!r} was seen before on an event that was not this "
        "opt-out: the opt-out is applied anyway, nothing else of the event"
    )
    return result.model_copy(update={"detail": f"{result.detail or ''}{note}"})


async def _confided(
    store: IngestStore, tenant: str, event: Event, found: Assessment
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categories the message discloses, categories it asks the bot to forget).

    Categories come from the assessor (the classifier stack, or the lexicon), else from the
    term lexicon. A request to forget covers the categories it names, else those the user
    disclosed to this bot, else every category (``*``); it is no disclosure itself."""
    if not event.text:
        return (), ()
    named = found.sensitive
    if named is None:
        from classifiers.sensitive_terms import sensitive_lexicon

        named = sensitive_lexicon().categories(event.text)
    if not asks_to_forget(event.text):
        return tuple(named), ()
    if named:
        return (), tuple(named)
    memory = await store.sensitive_memory(tenant, event.bot_id, event.user_id)
    return (), tuple(sorted(memory.disclosed)) or (ALL_TOPICS,)


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
