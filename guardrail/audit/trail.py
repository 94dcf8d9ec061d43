"""The audit trail as the gateway uses it: one component, built once from settings.

It turns decisions, consent changes and policy reloads into record bodies (pseudonymised
and hashed here, so no backend ever sees a raw user id or text), appends them, and reads
them back for queries, exports, reports and verification.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, ParamSpec, TypeVar

from guardrail.audit.backend import (
    EVERYTHING,
    AuditBackend,
    AuditUnavailable,
    Checkpoint,
    PurgeDraft,
    RecordFilter,
)
from guardrail.audit.chain import ChainVerifier, PublishedHead, Verification
from guardrail.audit.chainkeys import KeyedChain
from guardrail.audit.keys import KeyRing
from guardrail.audit.options import AuditOptions, open_backend, resolve_keys
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GLOBAL_TENANT, AuditRecord, iso
from guardrail.audit.redact import Redactor, redact
from guardrail.models import Decision, Delivery, Event, EventResult, OutreachRequest
from guardrail.stages import CLOCK

log = logging.getLogger("guardrail.audit")

P = ParamSpec("P")
T = TypeVar("T")

_PAGE = 500


class AuditIntegrityError(RuntimeError):
    """The chain does not verify; purging now would destroy the evidence."""


def _now() -> datetime:
    return datetime.now(UTC)


class AuditTrail:
    """The log as the gateway writes and reads it, over one backend and one key ring.
    Opened for writing, it first adopts the log's head (:mod:`guardrail.audit.chainkeys`):
    a log sealed with a key that is not configured is refused."""

    def __init__(
        self,
        backend: AuditBackend,
        keys: AuditKey | KeyRing,
        *,
        clock: Callable[[], datetime] = _now,
        redactor: Redactor = redact,
    ) -> None:
        self.keys = keys if isinstance(keys, KeyRing) else KeyRing(keys)
        self.backend, self.clock, self.redactor = backend, clock, redactor
        self.chain = KeyedChain(backend, self.keys, clock)
        if not backend.read_only:
            self.chain.adopt_head()

    @property
    def key(self) -> AuditKey:
        """The current key: it seals new records, pseudonyms and text hashes."""
        return self.keys.current

    @classmethod
    def open(cls, options: AuditOptions, *, clock: Callable[[], datetime] = _now) -> AuditTrail:
        """The trail over the log ``options`` name, created if it does not exist."""
        backend = open_backend(options)
        try:
            return cls(backend, resolve_keys(options, backend), clock=clock)
        except BaseException:
            backend.close()
            raise

    @classmethod
    def memory(cls) -> AuditTrail:
        """A throwaway in-memory log (a Gateway built by hand without one)."""
        from guardrail.audit.sqlite import SQLiteAudit

        return cls(SQLiteAudit(":memory:"), AuditKey(secrets.token_bytes(32)))

    def _append(self, body: dict[str, Any], *, if_absent: bool = False) -> AuditRecord | None:
        return self.chain.append(body, if_absent=if_absent)

    async def rotate(self) -> bool:
        """Hand the chain to the current key now, when its head names a previous one (a
        start-up would do it at the first append); False when there is nothing to do."""
        return await self._run(self.chain.rotate)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        def work() -> T:
            with CLOCK.cpu("audit"):
                return fn(*args, **kwargs)

        if self.backend.inline:
            return work()
        return await asyncio.to_thread(work)

    def pseudonym(self, tenant: str, user_id: str) -> str:
        return self.key.pseudonym(tenant, user_id)

    def pseudonyms(self, tenant: str, user_id: str) -> tuple[str, ...]:
        """The user's pseudonym under every key of the ring (to find records of before a
        rotation too)."""
        return tuple(dict.fromkeys(key.pseudonym(tenant, user_id) for key in self.keys.keys))

    def text_hmac(self, tenant: str, text: str) -> str:
        return self.key.text_hmac(tenant, text)

    def text_hmacs(self, tenant: str, text: str) -> tuple[str, ...]:
        """The text's keyed hash under every key of the ring, the current key's first (to
        find records of before a rotation too)."""
        current = self.text_hmac(tenant, text)
        others = (key.text_hmac(tenant, text) for key in self.keys.keys)
        return tuple(dict.fromkeys((current, *others)))

    # -- writing -------------------------------------------------------------------------

    async def record_decision(
        self,
        tenant: str,
        req: OutreachRequest,
        decision: Decision,
        *,
        redacted: str | None = None,
        omit_text: str | None = None,
    ) -> AuditRecord | None:
        """Append the decision; a replay is appended only if its original never was
        (the process died between the state commit and the audit append).

        ``redacted``: the delivered text already redacted from the pipeline's own PII
        findings (:attr:`guardrail.pipeline.Outcome.audit_text`); None: redacted here.
        ``omit_text``: why the policy keeps no delivered text (a sensitive category acted
        on the message): only its keyed hash is stored."""
        delivered = decision.text
        if omit_text is not None:
            redacted = None
        elif delivered is not None and redacted is None:
            redacted = await self.redactor(
                delivered, tenant=tenant, bot=req.bot_id, locale=req.user.locale
            )
        body = self.decision_body(tenant, req, decision, redacted, omit_text=omit_text)
        return await self._run(self._append, body, if_absent=decision.idempotent_replay)

    def decision_body(
        self,
        tenant: str,
        req: OutreachRequest,
        decision: Decision,
        redacted: str | None,
        *,
        omit_text: str | None = None,
    ) -> dict[str, Any]:
        delivered = decision.text
        return {
            "type": "decision",
            "id": decision.decision_id,
            "ts": iso(decision.decided_at),
            "recorded_at": iso(self.clock()),
            "tenant": tenant,
            "bot": req.bot_id,
            "user": self.pseudonym(tenant, req.user_id),
            "channel": req.channel.value,
            "kind": decision.kind.value,
            "claimed_kind": req.kind.value if req.kind else None,
            "user_context": {
                "jurisdiction": req.user.jurisdiction,
                "is_minor": req.user.is_minor,
                "timezone": req.user.timezone,
            },
            "verdict": decision.verdict.value,
            "retry_after": iso(decision.retry_after) if decision.retry_after else None,
            "rules": [reason.rule for reason in decision.reasons],
            "reasons": [reason.model_dump(mode="json") for reason in decision.reasons],
            "scores": dict(decision.scores),
            "policy": decision.policy,
            "policy_version": decision.policy_version,
            "text_hmac": self.text_hmac(tenant, req.text),
            "delivered_hmac": self.text_hmac(tenant, delivered) if delivered is not None else None,
            "delivered_text": None if omit_text is not None else redacted,
            "delivered_text_omitted": omit_text if delivered is not None else None,
        }

    def consent_body(
        self,
        tenant: str,
        event: Event,
        *,
        opted_out: bool,
        scope: str | None,
        evidence: str | None,
        applied: bool,
        via: str | None = None,
    ) -> dict[str, Any]:
        """An opt-out or opt-in: when the platform saw it, when we honoured it, on whose
        word (``evidence``: webhook, ingest, admin or bot; ``via``: the key or webhook), and
        whether it was applied (an opt-in the bot forwarded does not lift a user's STOP: it
        is recorded with ``applied: false``)."""
        honoured = self.clock()
        return {
            "type": "consent",
            "id": uuid.uuid4().hex,
            "ts": iso(honoured),
            "tenant": tenant,
            "bot": event.bot_id,
            "user": self.pseudonym(tenant, event.user_id),
            "action": "opt_out" if opted_out else "opt_in",
            "scope": scope,
            "source": event.type.value,
            "evidence": evidence,
            "via": via,
            "applied": applied,
            "channel": event.channel.value if event.channel else None,
            "received_at": iso(event.ts),
            "honoured_at": iso(honoured) if applied else None,
        }

    async def record_consent(
        self, tenant: str, event: Event, result: EventResult, *, via: str | None = None
    ) -> AuditRecord | None:
        """Append a consent change straight away (the gateway keeps them in the state
        store's outbox first: :mod:`guardrail.audit.outbox`)."""
        if result.consent is None or result.duplicate:
            return None
        applied = result.consent_applied is not False
        body = self.consent_body(
            tenant,
            event,
            opted_out=applied and result.consent == "opted_out",  # only opt-ins are refused
            scope=result.consent_scope,
            evidence=result.consent_source,
            applied=applied,
            via=via,
        )
        return await self._run(self._append, body)

    async def record_delivery_failure(
        self, tenant: str, req: OutreachRequest, decision: Decision, delivery: Delivery
    ) -> AuditRecord | None:
        """A decided message the upstream refused, never took, or may have taken.

        The decision record was appended before delivery (an acknowledged decision is never
        lost); this one says how it ended: ``uncertain`` (a timeout or 5xx after the request
        went out) still counts as sent, a definite refusal does not. The upstream's error
        text is not kept: it may echo the message.
        """
        body = {
            "type": "delivery",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": tenant,
            "bot": req.bot_id,
            "user": self.pseudonym(tenant, req.user_id),
            "channel": req.channel.value,
            "decision_id": decision.decision_id,
            "status": delivery.status,
            "uncertain": delivery.uncertain,
            "counted": delivery.uncertain,
            "adapter": delivery.adapter,
            "upstream_status": delivery.upstream_status,
        }
        return await self._run(self._append, body)

    def crisis_body(
        self,
        tenant: str,
        event: Event,
        *,
        level: str | None,
        score: float | None,
        notified: bool,
        imminent: bool = False,
    ) -> dict[str, Any]:
        """A user message at crisis level: the text only as a keyed hash."""
        return {
            "type": "crisis",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": tenant,
            "bot": event.bot_id,
            "user": self.pseudonym(tenant, event.user_id),
            "level": level,
            "score": score,
            "imminent": imminent,
            "received_at": iso(event.ts),
            "text_hmac": self.text_hmac(tenant, event.text or ""),
            "review_notified": notified,
        }

    async def record_crisis(
        self, tenant: str, event: Event, result: EventResult, *, notified: bool
    ) -> AuditRecord | None:
        """Append a crisis straight away (the gateway keeps them in the state store's
        outbox first: :mod:`guardrail.audit.outbox`)."""
        if not result.crisis or result.duplicate:
            return None
        body = self.crisis_body(
            tenant, event, level=result.risk, score=result.risk_score, notified=notified,
            imminent=bool(result.imminent),
        )  # fmt: skip
        return await self._run(self._append, body)

    async def append_body(self, body: dict[str, Any], *, if_absent: bool = False) -> bool:
        """Append a record body built earlier (kept in an outbox meanwhile); False when
        ``if_absent`` and a record with its id is already in the log."""
        return await self._run(self._append, body, if_absent=if_absent) is not None

    async def record_erasure(
        self, tenant: str, user_id: str, *, removed: int, actor: str | None, via: str
    ) -> AuditRecord | None:
        """Append a user's erasure from the state store: who asked, how much went, what was
        kept (the opt-out). The chain keeps its pseudonyms: records are evidence, and hold
        no text or raw id to erase."""
        body = {
            "type": "erasure",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": tenant,
            "user": self.pseudonym(tenant, user_id),
            "removed": removed,
            "kept": ["opt_out"],
            "actor": actor,
            "via": via,
        }
        return await self._run(self.backend.append, body)

    async def record_access(
        self,
        tenant: str,
        *,
        actor: str,
        role: str,
        home_tenant: str,
        method: str,
        route: str,
        status: int,
    ) -> AuditRecord | None:
        """Append a request a key made in another tenant than its own (an operator's),
        to that tenant's log: who, from which tenant, which route (its template: no ids,
        no query) and how it was answered. The tenant's auditors see every such visit."""
        body = {
            "type": "access",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": tenant,
            "actor": actor,
            "role": role,
            "home_tenant": home_tenant,
            "method": method,
            "route": route,
            "status": status,
        }
        return await self._run(self.backend.append, body)

    async def record_notification(
        self,
        payload: dict[str, Any],
        *,
        item_id: str,
        attempt: int,
        outcome: str,
        problem: str | None = None,
        retry_at: datetime | None = None,
    ) -> AuditRecord | None:
        """Append one attempt to tell the review webhook (``outcome``: delivered, retry or
        gave_up), so an auditor can see each crisis notice reached the reviewers, or why not.
        The payload is named, not copied (it may hold the user's text)."""
        tenant = str(payload.get("tenant") or GLOBAL_TENANT)
        user = payload.get("user_id")
        body = {
            "type": "notification",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": tenant,
            "bot": payload.get("bot_id"),
            "user": self.pseudonym(tenant, str(user)) if user is not None else None,
            "notice": payload.get("type"),
            "notice_id": item_id,
            "subject": payload.get("event_id") or payload.get("decision_id"),
            "attempt": attempt,
            "outcome": outcome,
            "problem": problem,
            "retry_at": iso(retry_at) if retry_at is not None else None,
        }
        return await self._run(self._append, body)

    async def record_policy_reload(
        self,
        *,
        name: str,
        version: str,
        source: str,
        tenant: str | None = None,
        actor: str | None = None,
        reason: str = "reload",
        only_if_changed: bool = False,
    ) -> AuditRecord | None:
        """Append a policy (re)load; call it whenever a policy starts to be enforced.

        ``tenant`` None means gateway-wide (every tenant's auditors see it). With
        ``only_if_changed``, nothing is appended when the last record for this policy
        name and tenant already names this version (a restart with the same policy).
        """
        return await self._run(
            self.record_policy_reload_sync,
            name=name,
            version=version,
            source=source,
            tenant=tenant,
            actor=actor,
            reason=reason,
            only_if_changed=only_if_changed,
        )

    def record_policy_reload_sync(
        self,
        *,
        name: str,
        version: str,
        source: str,
        tenant: str | None = None,
        actor: str | None = None,
        reason: str = "reload",
        only_if_changed: bool = False,
    ) -> AuditRecord | None:
        """:meth:`record_policy_reload` for code outside the event loop (start-up, CLI)."""
        owner = tenant or GLOBAL_TENANT
        if only_if_changed and not self._head_is_plain():
            flt = RecordFilter(tenant=owner, types=("policy_reload",))
            for earlier in self.backend.page(flt, limit=100, descending=True):
                if earlier.body.get("policy") == name:
                    if earlier.body.get("policy_version") == version:
                        return None
                    break
        body = {
            "type": "policy_reload",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": owner,
            "policy": name,
            "policy_version": version,
            "source": source,
            "actor": actor,
            "reason": reason,
        }
        return self._append(body)

    def _head_is_plain(self) -> bool:
        """The last record has a pre-HMAC hash: the next keyed record will bind the old
        log (so a start-up with the same policy appends anyway)."""
        last = self.backend.page(EVERYTHING, limit=1, descending=True)
        return bool(last) and not last[0].keyed

    # -- reading -------------------------------------------------------------------------

    async def get(self, record_id: str) -> AuditRecord | None:
        return await self._run(self.backend.get, record_id)

    async def query(
        self, flt: RecordFilter, *, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[AuditRecord], str | None]:
        """Newest first; ``cursor`` is the ``next_cursor`` of the page before: the id of
        the last record it listed (an id, not a position: a position in the shared chain
        would tell a tenant how much others write). ValueError for a cursor that names no
        record the filter can see."""
        before: int | None = None
        if cursor:
            mark = await self._run(self.backend.get, cursor)
            visible = mark is not None and (
                flt.tenant is None or mark.tenant in (flt.tenant, GLOBAL_TENANT)
            )
            if mark is None or not visible:
                raise ValueError(f"bad cursor {cursor!r}: pass the next_cursor of the page before")
            before = mark.seq
        rows = await self._run(
            self.backend.page, flt, limit=limit + 1, before_seq=before, descending=True
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].id if more and rows else None)

    async def iter_records(
        self, flt: RecordFilter, *, after_seq: int | None = None
    ) -> AsyncIterator[AuditRecord]:
        """Every matching record, oldest first, a page at a time (for exports, reports)."""
        while True:
            rows = await self._run(self.backend.page, flt, limit=_PAGE, after_seq=after_seq)
            for row in rows:
                yield row
            if len(rows) < _PAGE:
                return
            after_seq = rows[-1].seq
            await asyncio.sleep(0)  # let decisions through between pages

    async def verify(
        self,
        *,
        legacy: bool = False,
        published: PublishedHead | None = None,
        anchor: PublishedHead | None = None,
    ) -> Verification:
        """Check the chain and the log's signed head row; ``legacy`` accepts an old log as
        it is (an unkeyed head, no signed head row), ``published`` a head published earlier
        that the log must still hold. ``anchor``: a head verified before (the witness's
        last); only the records after it are checked, and it must still be in the log."""
        head_row = await self._run(self.backend.head_row)
        checkpoints = await self._run(self.backend.checkpoints)
        start = None if anchor is None else (anchor.seq, anchor.hash)
        after: int | None = None
        if anchor is not None:
            held = await self._run(self.backend.page, EVERYTHING, limit=1, after_seq=anchor.seq - 1)
            if anchor.seq > 0 and not (held and held[0].seq == anchor.seq):
                start = None  # purged since (or cut off): check everything
            else:
                after = anchor.seq
        verifier = ChainVerifier(
            checkpoints,
            self.keys,
            legacy=legacy,
            published=published,
            head_row=head_row,
            anchor=start,
        )
        if not verifier.failed:
            async for record in self.iter_records(EVERYTHING, after_seq=after):
                if not verifier.feed(record):
                    break
        return verifier.result()

    async def head(
        self, *, anchor: PublishedHead | None = None
    ) -> tuple[Verification, PublishedHead | None]:
        """The verified chain's head, signed to be published; None if it does not verify.
        ``anchor``: the head published last (only what follows it is checked again)."""
        result = await self.verify(anchor=anchor, published=anchor)
        if not result.ok:
            return result, None
        at = iso(self.clock())
        return result, PublishedHead.sign(self.key, result.head_seq, result.head_hash, at)

    # -- retention -----------------------------------------------------------------------

    async def purge(self, before: datetime, *, actor: str | None = None) -> Checkpoint | None:
        """Remove records older than ``before`` (a prefix of the chain), leaving a signed
        checkpoint so the rest still verifies; refused while the chain is broken."""
        check = await self.verify()
        if not check.ok:
            raise AuditIntegrityError(
                f"the audit chain does not verify (record seq {check.bad_seq}: {check.problem}); "
                "refusing to purge the evidence"
            )
        checkpoint = await self._run(self.backend.purge, before, partial(self._seal, before))
        if checkpoint is not None:
            now = self.clock()
            body = {
                "type": "purge",
                "id": uuid.uuid4().hex,
                "ts": iso(now),
                "tenant": GLOBAL_TENANT,
                "before": iso(before),
                "through_seq": checkpoint.through_seq,
                "purged": checkpoint.body["purged"],
                "actor": actor,
            }
            await self._run(self._append, body)
        return checkpoint

    def _seal(self, before: datetime, draft: PurgeDraft) -> Checkpoint:
        total = (int(draft.previous.body["purged_total"]) if draft.previous else 0) + draft.purged
        body = {
            "through_seq": draft.through_seq,
            "last_hash": draft.last_hash,
            "purged": draft.purged,
            "purged_total": total,
            "before": iso(before),
            "created_at": iso(self.clock()),
            "key_id": self.key.key_id,
            "prev_signature": draft.previous.signature if draft.previous else None,
        }
        return Checkpoint(body=body, signature=self.key.sign(body))

    async def close(self) -> None:
        await self._run(self.backend.close)


__all__ = [
    "AuditIntegrityError",
    "AuditOptions",
    "AuditTrail",
    "AuditUnavailable",
    "open_backend",
    "resolve_keys",
]
