"""Shadow policies: candidates evaluated on live traffic, recorded, never enforced.

A candidate runs through the very same :func:`guardrail.pipeline.decide` as the enforcing
policy, against a store that reads the real state and writes nothing. It is evaluated
*before* the real decision, so it sees the state the real decision saw (not the message
the real decision may just have counted). The live policy and its candidates share their
content analyses (``SharedAnalyses``): a candidate asking for what the live policy asks for
costs no second PII pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from guardrail.analysis import Analyze, SharedAnalyses
from guardrail.evidence import NO_EVIDENCE, UserEvidence
from guardrail.models import Decision, OutreachRequest, Reason
from guardrail.pipeline import Outcome, decide, default_analyzer, evaluate
from guardrail.policy.core import LoadedPolicy
from guardrail.state.base import (
    CommitRequest,
    CommitResult,
    IdempotencyClaim,
    PipelineStore,
    SensitiveMemory,
    Snapshot,
)

log = logging.getLogger("guardrail.policy")

ShadowCounter = Callable[[str, str], None]
"""Called with (shadow policy name, would-be verdict) for each candidate evaluated."""


class ReadOnlyStore:
    """A :class:`PipelineStore` that reads from another and writes nothing (commits
    "succeed"): what a candidate policy's decision needs, and no more (mypy checks it
    against the protocol where it is passed to the pipeline)."""

    name = "read-only"

    def __init__(self, store: PipelineStore) -> None:
        self._store = store

    async def ping(self) -> None:
        await self._store.ping()

    async def close(self) -> None:
        return None

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        return await self._store.snapshot(tenant, bot, user, now, horizon)

    async def sensitive_memory(self, tenant: str, bot: str, user: str) -> SensitiveMemory:
        return await self._store.sensitive_memory(tenant, bot, user)

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        return CommitResult(committed=True)

    async def release(
        self, tenant: str, bot: str, user: str, decision_id: str, idempotency_key: str | None
    ) -> None:
        return None

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        return None

    async def claim_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        request_hash: str,
        token: str,
        now: datetime,
        ttl: timedelta,
    ) -> IdempotencyClaim:
        return IdempotencyClaim("claimed")

    async def abandon_idempotent(
        self, tenant: str, bot: str, user: str, key: str, token: str, now: datetime
    ) -> None:
        return None

    async def put_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        decision_json: str,
        now: datetime,
        ttl: timedelta,
        request_hash: str | None = None,
    ) -> str | None:
        return None


async def decide_with_shadows(
    store: PipelineStore,
    loaded: LoadedPolicy,
    tenant: str,
    req: OutreachRequest,
    now: datetime,
    count: ShadowCounter | None = None,
    analyzer: Analyze | None = None,
    evidence: UserEvidence = NO_EVIDENCE,
) -> Decision:
    """``loaded`` decides; each of its shadow policies adds its would-be verdict as reasons."""
    outcome = await evaluate_with_shadows(
        store, loaded, tenant, req, now, count, analyzer, evidence
    )
    return outcome.decision


async def evaluate_with_shadows(
    store: PipelineStore,
    loaded: LoadedPolicy,
    tenant: str,
    req: OutreachRequest,
    now: datetime,
    count: ShadowCounter | None = None,
    analyzer: Analyze | None = None,
    evidence: UserEvidence = NO_EVIDENCE,
) -> Outcome:
    """:func:`decide_with_shadows`, with what the audit record of the decision needs."""
    if not loaded.shadows:
        return await evaluate(store, loaded, tenant, req, now, analyzer, evidence)
    readonly, dry_req = ReadOnlyStore(store), req.model_copy(update={"idempotency_key": None})
    analyzer = SharedAnalyses(analyzer or default_analyzer())
    verdicts: list[tuple[LoadedPolicy, Decision]] = []
    for candidate in loaded.shadows:
        try:
            would = await decide(readonly, candidate, tenant, dry_req, now, analyzer, evidence)
            verdicts.append((candidate, would))
        except Exception:  # a candidate must never break the real decision
            log.exception("shadow policy %s failed", candidate.policy.name)
            if count is not None:
                count(candidate.policy.name, "error")
    outcome = await evaluate(store, loaded, tenant, req, now, analyzer, evidence)
    decision = outcome.decision
    if decision.idempotent_replay:
        return outcome  # the answer given the first time, unchanged
    extra: list[Reason] = []
    for candidate, would in verdicts:
        extra += shadow_reasons(candidate.policy.name, would)
        if count is not None:
            count(candidate.policy.name, would.verdict.value)
    decision = decision.model_copy(update={"reasons": [*decision.reasons, *extra]})
    return replace(outcome, decision=decision)


def shadow_reasons(name: str, would: Decision) -> list[Reason]:
    """A candidate's decision as ``shadow`` reasons: its verdict first, then why."""
    verdict = f"would {would.verdict.value}"
    if would.retry_after is not None:
        verdict += f" until {would.retry_after.isoformat()}"
    reasons = [Reason(rule=f"{name}:verdict", detail=verdict, policy=name, effect="shadow")]
    reasons += [
        Reason(
            rule=f"{name}:{r.rule}",
            detail=f"{r.effect}: {r.detail}",
            policy=name,
            effect="shadow",
            labels=r.labels,
        )
        for r in would.reasons
    ]
    return reasons
