"""The outbound decision flow, top to bottom, in one place.

    idempotent replay? ─► state snapshot ─► kind (reply or proactive) ─► rules, cheapest
    first, short-circuit on block/defer; the content analysis (PII, classifiers) runs once,
    just before the first rule that needs it ─► rewrite engine (content edits together,
    then additions) ─► one re-check of the rewritten text ─► atomic commit (opt-out,
    reply-budget and cap re-checks, record, idempotency key) ─► decision

Rules are pure; the only write is the commit, so a refused message changes no state.

Idempotency: a key is bound to a hash of the request (everything but the key and ``ts``)
and claimed atomically with an in-flight marker before anything is decided. The same
key with another body is :class:`IdempotencyMismatch` (422), the same request while the
first is still being decided :class:`IdempotencyInFlight` (409). A final judgement of
the message (an allow that counted, a rule's block) is stored as the key's answer; a
deferral or a block caused by a component outage (store down, a content stage failing
closed) is not, so a retry after the outage is decided afresh.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from time import thread_time
from typing import Any
from zoneinfo import ZoneInfo

from classifiers.pii_redact import PiiConfig
from guardrail.analysis import NOTHING, Analysis, AnalysisRequest, Analyze, Analyzer
from guardrail.audit.redact import redact_from
from guardrail.evidence import NO_EVIDENCE, UserEvidence
from guardrail.models import Decision, Kind, OutreachRequest, Reason, ReasonEffect, Verdict
from guardrail.policy import LoadedPolicy, Policy
from guardrail.rewrite import Edit, render
from guardrail.rules import RULES, Finding, Rule, RuleContext, RuleParams
from guardrail.rules.consent import OptOut, OptOutParams
from guardrail.rules.dependency import DependencyCaps, DependencyParams, dependent
from guardrail.rules.frequency_caps import FrequencyCapParams, FrequencyCaps, describe
from guardrail.rules.pii import Pii
from guardrail.rules.self_harm_content import SelfHarmContent
from guardrail.rules.sensitive_reference import SensitiveReference
from guardrail.rules.sexual_content import SexualContent
from guardrail.rules.unanswered import Unanswered, UnansweredParams
from guardrail.stages import CLOCK
from guardrail.state.base import (
    Cap,
    CommitRequest,
    CommitResult,
    PipelineStore,
    SensitiveMemory,
    Snapshot,
    StoreUnavailable,
)

log = logging.getLogger("guardrail")

STORE_RULE = "store.unavailable"
REPLY_RULE = "kind.reply_unverified"
REPLY_BUDGET_RULE = "kind.reply_budget"
RECHECK_RULE = "rewrite.unstable"

IN_FLIGHT_TTL = timedelta(seconds=30)
"""How long an idempotency key's in-flight marker lives: far longer than a decision
takes, short enough that a gateway dying mid-decision blocks the key only briefly."""


class IdempotencyConflict(Exception):
    """The idempotency key cannot be used for this request now; the API answers an error."""


class IdempotencyMismatch(IdempotencyConflict):
    """The key was first used with a different request body (422)."""


class IdempotencyInFlight(IdempotencyConflict):
    """The first request with this key is still being decided (409; retry shortly)."""


def request_hash(req: OutreachRequest) -> str:
    """What an idempotency key is bound to: the request minus the key and ``ts`` (a retry
    may be stamped anew), as canonical JSON, hashed."""
    body = req.model_dump_json(exclude={"idempotency_key", "ts"})
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class _Key:
    """The request's idempotency key, the hash it is bound to and our marker's token."""

    key: str
    bound: str
    token: str
    ttl: timedelta


_default_analyzer: Analyzer | None = None


def default_analyzer() -> Analyzer:
    """For callers without a gateway (policy tests, shadows): the process's PII worker,
    no classifiers (rules needing them fail open or closed as their policy says)."""
    global _default_analyzer
    if _default_analyzer is None:
        _default_analyzer = Analyzer()
    return _default_analyzer


@dataclass
class _Draft:
    """A decision being assembled; turned into a :class:`Decision` once, at the end."""

    request: OutreachRequest
    loaded: LoadedPolicy
    now: datetime
    kind: Kind
    verdict: Verdict = Verdict.ALLOW
    retry_after: datetime | None = None
    reasons: list[Reason] = field(default_factory=list)
    decision_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    text: str = ""
    disclosed: bool = False
    resources: bool = False
    scores: dict[str, float] = field(default_factory=dict)
    outage: bool = False
    """The refusal comes from a component being down, not from judging the message."""
    held_text: str | None = None
    """A rewrite that replaced the whole message keeps the message here (``held_text``)."""

    def __post_init__(self) -> None:
        self.text = self.text or self.request.text

    def rewrite(self, finding: Finding) -> None:
        assert finding.text is not None
        self.text = finding.text
        self.verdict = Verdict.REWRITE
        self.disclosed |= finding.disclosed
        self.resources |= finding.resources
        self.add(finding.rule, "rewrite", finding.detail, finding.labels)

    def add(self, rule: str, effect: ReasonEffect, detail: str, labels: Sequence[str] = ()) -> None:
        self.reasons.append(
            Reason(
                rule=rule,
                detail=detail,
                policy=self.loaded.policy.name,
                effect=effect,
                labels=list(labels),
            )
        )

    def refuse(self, verdict: Verdict, rule: str, detail: str, labels: Sequence[str] = ()) -> None:
        self.verdict = verdict
        self.add(rule, "defer" if verdict is Verdict.DEFER else "block", detail, labels)

    def build(self) -> Decision:
        deliverable = self.verdict in (Verdict.ALLOW, Verdict.REWRITE)
        return Decision(
            decision_id=self.decision_id,
            verdict=self.verdict,
            text=self.text if deliverable else None,
            retry_after=self.retry_after,
            kind=self.kind,
            reasons=self.reasons,
            scores=self.scores,
            policy=self.loaded.policy.name,
            policy_version=self.loaded.version,
            decided_at=self.now,
            held_text=self.held_text if deliverable else None,
        )


def resolve_kind(
    claimed: Kind | None, snap: Snapshot, now: datetime, policy: Policy
) -> tuple[Kind, str | None]:
    """Reply when the user wrote recently and the bot has not yet said too much since.

    A claimed reply that the conversation does not support is treated as proactive, so a
    bot cannot dodge caps by labelling outreach a reply. Returns (kind, why-downgraded).
    """
    last = snap.last_user_message
    is_reply = (
        last is not None
        and now - last <= policy.reply.window
        and snap.sent_since_last_user_message(snap.outbound_sent)
        < policy.reply.max_per_user_message
    )
    if claimed is Kind.PROACTIVE:
        return Kind.PROACTIVE, None
    if is_reply:
        return Kind.REPLY, None
    if claimed is Kind.REPLY:
        return Kind.PROACTIVE, "claimed reply, but no recent user message is waiting for an answer"
    return Kind.PROACTIVE, None


@dataclass(frozen=True)
class Outcome:
    """A decision and what the audit record needs from the work that made it."""

    decision: Decision
    audit_text: str | None = None
    """The delivered text redacted of PII from this decision's own findings, when they
    suffice (an allow, or a rewrite whose re-check analysed exactly what is delivered);
    None: the audit trail redacts the delivered text itself."""


async def decide(
    store: PipelineStore,
    loaded: LoadedPolicy,
    tenant: str,
    req: OutreachRequest,
    now: datetime,
    analyzer: Analyze | None = None,
    evidence: UserEvidence = NO_EVIDENCE,
) -> Decision:
    """Decide one outbound message; see the module docstring for the flow. ``evidence``:
    what platform records say of the user, against the request's claims.

    Raises :class:`IdempotencyConflict` when the request's key cannot be used now.
    """
    return (await evaluate(store, loaded, tenant, req, now, analyzer, evidence)).decision


async def evaluate(
    store: PipelineStore,
    loaded: LoadedPolicy,
    tenant: str,
    req: OutreachRequest,
    now: datetime,
    analyzer: Analyze | None = None,
    evidence: UserEvidence = NO_EVIDENCE,
) -> Outcome:
    """:func:`decide`, with what the audit record of the decision needs."""
    if not req.idempotency_key:
        return await _decide(store, loaded, tenant, req, now, analyzer, None, evidence)
    key = _Key(
        req.idempotency_key, request_hash(req), uuid.uuid4().hex, loaded.policy.idempotency_ttl
    )
    try:
        claim = await store.claim_idempotent(
            tenant, req.bot_id, req.user_id, key.key, key.bound, key.token, now, IN_FLIGHT_TTL
        )
    except StoreUnavailable:
        claim = None  # the snapshot below fails too and decides by policy
    if claim is not None:
        if claim.state == "replay":
            assert claim.decision_json is not None
            return Outcome(_replay(claim.decision_json))
        if claim.state == "mismatch":
            raise _mismatch(key)
        if claim.state == "in_flight":
            raise IdempotencyInFlight(
                f"idempotency key {key.key!r} is in use by a request still being decided; "
                f"retry shortly to get its decision"
            )
    try:
        return await _decide(store, loaded, tenant, req, now, analyzer, key, evidence)
    except BaseException:
        await _abandon(store, tenant, req, key, now)
        raise


def _mismatch(key: _Key) -> IdempotencyMismatch:
    return IdempotencyMismatch(
        f"idempotency key {key.key!r} was already used for a different request (another "
        f"text, kind, channel or user context); a key names one request, use a new key"
    )


async def _decide(
    store: PipelineStore,
    loaded: LoadedPolicy,
    tenant: str,
    req: OutreachRequest,
    now: datetime,
    analyzer: Analyze | None,
    key: _Key | None,
    evidence: UserEvidence = NO_EVIDENCE,
) -> Outcome:
    policy = loaded.policy

    try:
        with _store_clock(store):
            snap = await store.snapshot(tenant, req.bot_id, req.user_id, now, loaded.lookback)
    except StoreUnavailable as exc:
        await _abandon(store, tenant, req, key, now)
        analyze = analyzer or default_analyzer()
        return Outcome(await _floors_without_store(loaded, req, now, exc, analyze))

    kind, downgraded = resolve_kind(req.kind, snap, now, policy)
    draft = _Draft(request=req, loaded=loaded, now=now, kind=kind)
    if downgraded:
        draft.add(REPLY_RULE, "info", downgraded)

    zone = ZoneInfo(req.user.timezone or policy.timezone)
    ctx = RuleContext(
        request=req, kind=kind, now=now, timezone=zone, snapshot=snap, text=req.text,
        evidence=evidence,
    )  # fmt: skip
    rules = [(r, p) for r in RULES if (p := policy.rule_params(r.id)).enabled and kind in r.kinds]
    wanted = _needs(rules)

    async def memory() -> SensitiveMemory | None:
        read = getattr(store, "sensitive_memory", None)  # a partial store (a test's) has none
        if read is None:
            return None
        try:
            with _store_clock(store):
                found: SensitiveMemory = await read(tenant, req.bot_id, req.user_id)
                return found
        except StoreUnavailable as exc:  # the commit fails closed or open on the same store
            log.warning("sensitive memory of %s unavailable: %s", req.bot_id, exc)
            return None

    analyze = analyzer or default_analyzer()
    ctx, edits = await _evaluate(draft, ctx, rules, wanted, analyze, memory)

    latest = ctx.analysis
    if edits and draft.verdict is Verdict.REWRITE and ctx.analysis is not None:
        latest = await _recheck(draft, ctx, rules, wanted, edits, analyzer or default_analyzer())

    if draft.verdict in (Verdict.ALLOW, Verdict.REWRITE):
        committed = await _commit(store, tenant, draft, snap, key)
        return Outcome(committed, _audit_text(committed, latest, policy))
    return Outcome(await _settle(store, tenant, draft, key))


async def _settle(store: PipelineStore, tenant: str, draft: _Draft, key: _Key | None) -> Decision:
    """A decision that counted nothing: stored as the key's answer when it is a final
    judgement (a block), else (a deferral, an outage) the key's marker is dropped."""
    decision = draft.build()
    if key is None:
        return decision
    req = draft.request
    if decision.verdict is not Verdict.BLOCK or draft.outage:
        await _abandon(store, tenant, req, key, draft.now)
        return decision
    try:
        earlier = await store.put_idempotent(
            tenant,
            req.bot_id,
            req.user_id,
            key.key,
            decision.model_dump_json(),
            draft.now,
            key.ttl,
            request_hash=key.bound,
        )
    except StoreUnavailable:
        earlier = None  # the marker expires by itself; a retry decides again
    if earlier is not None:
        return _replay(earlier)
    return decision


async def _abandon(
    store: PipelineStore, tenant: str, req: OutreachRequest, key: _Key | None, now: datetime
) -> None:
    """Drop our in-flight marker, best effort: when the store cannot, it expires soon."""
    if key is None:
        return
    with suppress(StoreUnavailable):
        await store.abandon_idempotent(tenant, req.bot_id, req.user_id, key.key, key.token, now)


async def _evaluate(
    draft: _Draft,
    ctx: RuleContext,
    rules: list[tuple[Rule[Any], RuleParams]],
    wanted: AnalysisRequest,
    analyzer: Analyze,
    memory: Callable[[], Awaitable[SensitiveMemory | None]] | None = None,
) -> tuple[RuleContext, list[Edit]]:
    """Run ``rules`` in order into ``draft``: the content analysis once, before the first
    rule that needs it; what the user confided (``memory``) once, before the first rule that
    wants it; shadow findings recorded; rewrites chained (one that replaces the whole
    message drops the content edits before it); the first block or defer ends it. Returns
    the final context and the content edits made."""
    req = ctx.request
    edits: list[Edit] = []
    # The stage clock's "rules": this loop's CPU but the analysis it awaits (other
    # coroutines run meanwhile), read at the await only: thread_time is a system call.
    checking, started = 0.0, thread_time()
    for rule, params in rules:
        if ctx.analysis is None and rule.needs(params):
            checking += thread_time() - started
            analysis = await analyzer.analyze(ctx.text, req.user.locale, wanted)
            started = thread_time()
            draft.scores.update(analysis.decision_scores())
            ctx = replace(ctx, analysis=analysis)
        if memory is not None and ctx.memory is None and rule.wants_memory(ctx, params):
            checking += thread_time() - started
            ctx = replace(ctx, memory=await memory())
            started = thread_time()
        finding = rule.check(ctx, params)
        if finding is None:
            continue
        if params.mode == "shadow":
            draft.add(finding.rule, "shadow", finding.detail, finding.labels)
            continue
        if finding.effect == "info":
            draft.add(finding.rule, "info", finding.detail, finding.labels)
            draft.disclosed |= finding.disclosed
            draft.resources |= finding.resources
            continue
        if finding.effect == "rewrite":
            if finding.edits and ctx.analysis is not None:
                # The rewrite engine: every content edit so far, on the analysed text.
                edits += finding.edits
                finding = replace(finding, text=render(ctx.analysis.text, edits).text)
            draft.rewrite(finding)
            if finding.held_text is not None:
                # The whole message was replaced: what earlier edits changed is not sent.
                edits = []
                draft.held_text = finding.held_text
            ctx = replace(ctx, text=draft.text)
            continue
        refusal = Verdict.BLOCK if finding.effect == "block" else Verdict.DEFER
        draft.refuse(refusal, finding.rule, finding.detail, finding.labels)
        draft.retry_after = finding.retry_after
        draft.outage = finding.outage
        break
    CLOCK.add("rules", checking + thread_time() - started, items=1)
    return ctx, edits


def _store_clock(store: PipelineStore) -> AbstractContextManager[None]:
    """The store's CPU on the stage clock, where it is exact: a store that answers inline
    (SQLite) runs no other coroutine while it works; an async one (Redis) would."""
    return CLOCK.cpu("store", items=0) if getattr(store, "inline", False) else nullcontext()


def _audit_text(decision: Decision, analysis: Analysis | None, policy: Policy) -> str | None:
    """The delivered text redacted for the audit log from the PII findings this decision
    already has, when it is the text last analysed, unchanged (an allow, or a rewrite
    whose re-check analysed exactly what is delivered): no third PII pass. None when the
    findings do not suffice."""
    if analysis is None or analysis.pii is None or decision.text != analysis.text:
        return None
    params = policy.rule_params(Pii.id)
    if isinstance(params, PiiConfig):
        sensitive = analysis.scores.sensitive if analysis.scores is not None else None
        terms = sensitive.spans if sensitive is not None else None
        return redact_from(analysis.text, params, analysis.pii, terms)
    return None


def _needs(rules: list[tuple[Rule[Any], RuleParams]]) -> AnalysisRequest:
    """Everything the enabled rules of this decision will read, analysed in one go."""
    wanted = NOTHING
    for rule, params in rules:
        wanted = wanted | (rule.needs(params) or NOTHING)
    return wanted


async def _recheck(
    draft: _Draft,
    ctx: RuleContext,
    rules: list[tuple[Rule[Any], RuleParams]],
    wanted: AnalysisRequest,
    edits: list[Edit],
    analyzer: Analyze,
) -> Analysis:
    """Check the content-rewritten text once more with the content rules; block it if a
    second pass would still change (or refuse) it. One pass, never a loop: a rewrite that
    is not a fixed point of the rules is not sent.

    The text re-checked is the content edits' result, before disclosure and crisis
    resources were added: those are the gateway's own words (a helpline number is not PII).
    Returns the re-check's analysis.
    """
    assert ctx.analysis is not None
    text = render(ctx.analysis.text, edits).text
    analysis = await analyzer.analyze(text, ctx.request.user.locale, wanted)
    second = replace(ctx, text=text, analysis=analysis)
    for rule, params in rules:
        if params.mode == "shadow" or not rule.needs(params):
            continue
        finding = rule.check(second, params)
        if finding is not None and finding.effect in ("rewrite", "block", "defer"):
            draft.refuse(
                Verdict.BLOCK,
                RECHECK_RULE,
                f"a second pass of {finding.rule} over the rewritten text would "
                f"{finding.effect} it again ({finding.detail}); not sent rather than loop",
            )
            return analysis
    return analysis


async def _commit(
    store: PipelineStore, tenant: str, draft: _Draft, snap: Snapshot, key: _Key | None
) -> Decision:
    """Make an allowed message count, re-checking against the state at commit time what
    concurrent decisions could overrun: the opt-out's one reply, the reply budget, the
    frequency and dependency caps and the unanswered limit."""
    req, policy = draft.request, draft.loaded.policy
    caps = policy.rule_params(FrequencyCaps.id)
    unanswered = policy.rule_params(Unanswered.id)
    dependency = policy.rule_params(DependencyCaps.id)
    opt_out = policy.rule_params(OptOut.id)
    assert isinstance(caps, FrequencyCapParams) and isinstance(unanswered, UnansweredParams)
    assert isinstance(dependency, DependencyParams) and isinstance(opt_out, OptOutParams)
    proactive = draft.kind is Kind.PROACTIVE

    def enforced(params: RuleParams) -> bool:
        return params.enabled and params.mode == "enforce"

    enforce_caps = proactive and enforced(caps)
    frequency = tuple(c.to_cap() for c in caps.caps) if enforce_caps else ()
    lower: tuple[Cap, ...] = ()
    if proactive and enforced(dependency) and dependent(snap, dependency, draft.now):
        lower = tuple(c.to_cap() for c in dependency.caps)
    enforce_unanswered = proactive and enforced(unanswered)
    decision = draft.build()
    commit = CommitRequest(
        decision_id=draft.decision_id,
        kind=draft.kind,
        ts=draft.now,
        decision_json=decision.model_dump_json(),
        caps=frequency + lower,
        max_unanswered=unanswered.max_unanswered if enforce_unanswered else None,
        disclosed=draft.disclosed,
        resources=draft.resources,
        idempotency_key=None if key is None else key.key,
        idempotency_ttl=policy.idempotency_ttl,
        request_hash=None if key is None else key.bound,
        reply_budget=None if proactive else policy.reply.max_per_user_message,
        opted_out_replies=(0 if opt_out.block_replies else 1) if enforced(opt_out) else None,
    )
    try:
        with _store_clock(store):
            result = await store.commit(tenant, req.bot_id, req.user_id, commit)
    except StoreUnavailable as exc:
        await _abandon(store, tenant, req, key, draft.now)
        return _store_down(draft.loaded, req, draft.now, exc, kind=draft.kind)
    if result.replay_json is not None:
        return _replay(result.replay_json)
    if result.key_mismatch:
        assert key is not None
        raise _mismatch(key)
    if result.committed:
        return decision
    # Another decision changed the state between our snapshot and our commit.
    draft.refuse(Verdict.BLOCK, *_commit_refusal(result, draft, len(frequency)))
    return await _settle(store, tenant, draft, key)


def _commit_refusal(result: CommitResult, draft: _Draft, frequency: int) -> tuple[str, str]:
    """(rule, detail) of a refusal by the store's commit-time re-check."""
    sent, limit = result.details.get("sent", 0), result.details.get("limit", 0)
    if result.opted_out:
        if draft.kind is Kind.PROACTIVE:
            return OptOut.id, "user opted out (recorded while this message was being checked)"
        if limit == 0:
            return OptOut.id, "user opted out; the policy blocks replies to opted-out users"
        return OptOut.id, (
            "user opted out; the one reply allowed until they write again (the "
            f"confirmation) is already sent ({sent} message(s) since), checked at commit"
        )
    if result.reply_budget_spent:
        return REPLY_BUDGET_RULE, (
            f"{sent} message(s) already answer the user's last message (at most {limit} "
            "per user message), sent by concurrent replies since this one was checked; "
            "not sent, a later check treats it as proactive"
        )
    if result.violated_cap is not None:
        if result.violated_index is not None and result.violated_index >= frequency:
            return DependencyCaps.id, (
                "user shows signs of emotional dependency: lower cap "
                f"{describe(result.violated_cap)} reached"
            )
        return FrequencyCaps.id, f"cap {describe(result.violated_cap)} reached"
    return Unanswered.id, "an unanswered proactive message is pending"


FLOOR_RULES = frozenset({SelfHarmContent.id, SexualContent.id, Pii.id, SensitiveReference.id})
"""Rules that read only the text, so they hold when the state store is down (the sensitive
rule without what the user confided: no consent lets a category through then)."""


async def _floors_without_store(
    loaded: LoadedPolicy,
    req: OutreachRequest,
    now: datetime,
    exc: StoreUnavailable,
    analyzer: Analyze,
) -> Decision:
    """The store cannot be read: the text-only floors (self-harm content, sexual content
    where the policy turns it on, PII) still run, and the message is treated as proactive
    whatever the bot claims, since no stored user message can confirm a reply."""
    policy = loaded.policy
    draft = _Draft(request=req, loaded=loaded, now=now, kind=Kind.PROACTIVE)
    if req.kind is Kind.REPLY:
        draft.add(
            REPLY_RULE,
            "info",
            "claimed reply, but the state store cannot confirm a user message is waiting "
            "for an answer; decided as proactive",
        )
    zone = ZoneInfo(req.user.timezone or policy.timezone)
    ctx = RuleContext(
        request=req, kind=Kind.PROACTIVE, now=now, timezone=zone, snapshot=Snapshot(),
        text=req.text,
    )  # fmt: skip
    floors = [
        (r, p) for r in RULES if r.id in FLOOR_RULES and (p := policy.rule_params(r.id)).enabled
    ]
    ctx, edits = await _evaluate(draft, ctx, floors, _needs(floors), analyzer)
    if draft.verdict in (Verdict.BLOCK, Verdict.DEFER):
        draft.add(STORE_RULE, "info", _store_detail(exc, "closed"))
        return draft.build()
    if edits and draft.verdict is Verdict.REWRITE and ctx.analysis is not None:
        await _recheck(draft, ctx, floors, _needs(floors), edits, analyzer)
        if any(r.rule == RECHECK_RULE for r in draft.reasons):
            return draft.build()
    if policy.store_failure.proactive == "block":
        draft.refuse(Verdict.BLOCK, STORE_RULE, _store_detail(exc, "closed"))
    else:
        draft.add(STORE_RULE, "info", _store_detail(exc, "open"))
    return draft.build()


async def decide_content_only(
    loaded: LoadedPolicy, req: OutreachRequest, now: datetime, analyzer: Analyze | None = None
) -> Decision:
    """Text people see with no one recipient (a bot's name or description, a menu, the
    notification that answers a button press): the content rules only (the floors, PII,
    the classifier checks), as for a proactive message; nothing is counted or stored."""
    policy = loaded.policy
    draft = _Draft(request=req, loaded=loaded, now=now, kind=Kind.PROACTIVE)
    zone = ZoneInfo(req.user.timezone or policy.timezone)
    ctx = RuleContext(
        request=req, kind=Kind.PROACTIVE, now=now, timezone=zone, snapshot=Snapshot(),
        text=req.text,
    )  # fmt: skip
    rules = [
        (r, p)
        for r in RULES
        if (p := policy.rule_params(r.id)).enabled and (r.id in FLOOR_RULES or r.needs(p))
    ]
    analyze = analyzer or default_analyzer()
    ctx, edits = await _evaluate(draft, ctx, rules, _needs(rules), analyze)
    if edits and draft.verdict is Verdict.REWRITE and ctx.analysis is not None:
        await _recheck(draft, ctx, rules, _needs(rules), edits, analyze)
    return draft.build()


def _store_detail(exc: StoreUnavailable, fails: str) -> str:
    """Say which component failed, not how: the exception text (hosts, paths) is logged."""
    log.warning("state store unavailable: %s", exc)
    return f"state store unavailable; policy fails {fails}"


def _store_down(
    loaded: LoadedPolicy,
    req: OutreachRequest,
    now: datetime,
    exc: StoreUnavailable,
    kind: Kind | None = None,
) -> Decision:
    """Fail closed or open, as the policy says for this kind, and say so in the decision.

    Used when the store fails after the rules ran (at commit), so the floors have had
    their say and ``kind`` is the one the snapshot confirmed."""
    kind = kind or Kind.PROACTIVE
    action = getattr(loaded.policy.store_failure, kind.value)
    draft = _Draft(request=req, loaded=loaded, now=now, kind=kind)
    detail = _store_detail(exc, "closed" if action == "block" else "open")
    if action == "block":
        draft.refuse(Verdict.BLOCK, STORE_RULE, detail)
    else:
        draft.add(STORE_RULE, "info", detail)
    return draft.build()


UNKNOWN_RULE = "user.unknown"


def refuse_unknown(
    loaded: LoadedPolicy, req: OutreachRequest, now: datetime, missing: tuple[str, ...]
) -> Decision:
    """The policy set requires facts about the user that neither record nor request has
    (``unknown_user: require``); nothing was evaluated, nothing counts."""
    draft = _Draft(request=req, loaded=loaded, now=now, kind=req.kind or Kind.PROACTIVE)
    draft.refuse(
        Verdict.BLOCK,
        UNKNOWN_RULE,
        f"the policy set requires {' and '.join(missing)} (unknown_user: require) and "
        "neither the user record nor the request gives it; send it with the request or "
        "have the platform report it",
    )
    return draft.build()


def _replay(stored_json: str) -> Decision:
    decision = Decision.model_validate_json(stored_json)
    return decision.model_copy(update={"idempotent_replay": True})
