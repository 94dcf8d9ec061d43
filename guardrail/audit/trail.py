"""The audit trail as the gateway uses it: one component, built once from settings.

It turns decisions, consent changes and policy reloads into record bodies (pseudonymised
and hashed here, so no backend ever sees a raw user id or text), appends them, and reads
them back for queries, exports, reports and verification.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import SecretStr

from guardrail.audit.backend import (
    EVERYTHING,
    AuditBackend,
    AuditUnavailable,
    Checkpoint,
    PurgeDraft,
    RecordFilter,
)
from guardrail.audit.chain import ChainVerifier, PublishedHead, Verification
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GLOBAL_TENANT, AuditRecord, iso, sha256_hex
from guardrail.audit.redact import Redactor, redact
from guardrail.models import Decision, Delivery, Event, EventResult, OutreachRequest
from guardrail.stages import CLOCK

log = logging.getLogger("guardrail.audit")

P = ParamSpec("P")
T = TypeVar("T")

_KEY_META = "pseudonym_key"
_PAGE = 500


class AuditIntegrityError(RuntimeError):
    """The chain does not verify; purging now would destroy the evidence."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditOptions:
    """What the audit trail needs from the gateway's settings, as plain values (the
    gateway builds them: :func:`guardrail.gateway.audit_options`)."""

    db_path: str = "guardrail-audit.db"
    """The SQLite file of the log (unused when ``url`` is set)."""
    url: str | None = None
    """PostgreSQL URL of a log shared by several replicas."""
    secret: SecretStr | None = None
    """The key of pseudonyms and checkpoints; None: one generated and kept in the log."""
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """SQLite sync: NORMAL survives kill -9, FULL also power loss."""


def open_backend(options: AuditOptions, *, read_only: bool = False) -> AuditBackend:
    """The backend the options name: ``url`` (PostgreSQL) or a SQLite file.

    ``read_only``: open an existing log as it is (no file, table or meta value created)."""
    if options.url:
        from guardrail.audit.postgres import PostgresAudit

        return PostgresAudit(options.url, read_only=read_only)
    from guardrail.audit.sqlite import SQLiteAudit

    return SQLiteAudit(options.db_path, synchronous=options.synchronous, read_only=read_only)


def resolve_key(secret: SecretStr | None, backend: AuditBackend) -> AuditKey:
    """The configured key, else one generated once and kept in the log's meta table.

    A key kept beside the records protects pseudonyms from anyone without the database
    but not from someone who has it (they can try every user id), hence the warning.
    """
    if secret is not None:
        key = AuditKey(secret.get_secret_value().encode())
    elif backend.read_only:
        stored = backend.stored_meta(_KEY_META)
        if stored is None:
            raise AuditUnavailable(
                "no audit key: set GUARDRAIL_AUDIT_KEY (or audit_key) to the key the log "
                "was written with; this log keeps none of its own"
            )
        key = AuditKey(bytes.fromhex(stored))
    else:
        key = AuditKey(bytes.fromhex(backend.meta(_KEY_META, secrets.token_hex(32))))
        log.warning(
            "no audit_key configured (GUARDRAIL_AUDIT_KEY): user pseudonyms and purge "
            "checkpoints use a key generated once and stored in the audit database itself; "
            "configure a secret key so that having the database is not enough to reverse them"
        )
    first = backend.stored_meta("key_id") if backend.read_only else None
    if not backend.read_only:
        first = backend.meta("key_id", key.key_id)
    if first is not None and first != key.key_id:
        log.warning(
            "the audit key (id %s) differs from the one the log started with (id %s): earlier "
            "pseudonyms will not match and earlier checkpoints will not verify",
            key.key_id,
            first,
        )
    return key


class AuditTrail:
    def __init__(
        self,
        backend: AuditBackend,
        key: AuditKey,
        *,
        clock: Callable[[], datetime] = _now,
        redactor: Redactor = redact,
    ) -> None:
        self.backend, self.key, self.clock, self.redactor = backend, key, clock, redactor
        backend.use_key(key.chain_hash)

    @classmethod
    def open(cls, options: AuditOptions, *, clock: Callable[[], datetime] = _now) -> AuditTrail:
        """The trail over the log ``options`` name, created if it does not exist."""
        backend = open_backend(options)
        return cls(backend, resolve_key(options.secret, backend), clock=clock)

    @classmethod
    def memory(cls) -> AuditTrail:
        """A throwaway in-memory log (a Gateway built by hand without one)."""
        from guardrail.audit.sqlite import SQLiteAudit

        return cls(SQLiteAudit(":memory:"), AuditKey(secrets.token_bytes(32)))

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        def work() -> T:
            with CLOCK.cpu("audit"):
                return fn(*args, **kwargs)

        if self.backend.inline:
            return work()
        return await asyncio.to_thread(work)

    def pseudonym(self, tenant: str, user_id: str) -> str:
        return self.key.pseudonym(tenant, user_id)

    # -- writing -------------------------------------------------------------------------

    async def record_decision(
        self,
        tenant: str,
        req: OutreachRequest,
        decision: Decision,
        *,
        redacted: str | None = None,
    ) -> AuditRecord | None:
        """Append the decision; a replay is appended only if its original never was
        (the process died between the state commit and the audit append).

        ``redacted``: the delivered text already redacted from the pipeline's own PII
        findings (:attr:`guardrail.pipeline.Outcome.audit_text`); None: redacted here."""
        delivered = decision.text
        if delivered is not None and redacted is None:
            redacted = await self.redactor(
                delivered, tenant=tenant, bot=req.bot_id, locale=req.user.locale
            )
        body = self.decision_body(tenant, req, decision, redacted)
        return await self._run(self.backend.append, body, if_absent=decision.idempotent_replay)

    def decision_body(
        self, tenant: str, req: OutreachRequest, decision: Decision, redacted: str | None
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
            "text_sha256": sha256_hex(req.text),
            "delivered_sha256": sha256_hex(delivered) if delivered is not None else None,
            "delivered_text": redacted,
        }

    async def record_consent(
        self, tenant: str, event: Event, result: EventResult, *, via: str | None = None
    ) -> AuditRecord | None:
        """Append an opt-out or opt-in: when the platform saw it, when we honoured it, on
        whose word (``evidence``: webhook, ingest, admin or bot; ``via``: the key or webhook),
        and whether it was applied (an opt-in the bot forwarded does not lift a user's STOP:
        it is recorded with ``applied: false`` and the reason)."""
        if result.consent is None or result.duplicate:
            return None
        honoured = self.clock()
        applied = result.consent_applied is not False
        wanted = result.consent if applied else "opted_in"  # only opt-ins are ever refused
        body = {
            "type": "consent",
            "id": uuid.uuid4().hex,
            "ts": iso(honoured),
            "tenant": tenant,
            "bot": event.bot_id,
            "user": self.pseudonym(tenant, event.user_id),
            "action": "opt_out" if wanted == "opted_out" else "opt_in",
            "scope": result.consent_scope,
            "source": event.type.value,
            "evidence": result.consent_source,
            "via": via,
            "applied": applied,
            "channel": event.channel.value if event.channel else None,
            "received_at": iso(event.ts),
            "honoured_at": iso(honoured) if applied else None,
        }
        return await self._run(self.backend.append, body)

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
        return await self._run(self.backend.append, body)

    async def record_crisis(
        self, tenant: str, event: Event, result: EventResult, *, notified: bool
    ) -> AuditRecord | None:
        """Append a crisis: a user message at crisis level (the text only as a hash)."""
        if not result.crisis or result.duplicate:
            return None
        body = {
            "type": "crisis",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": tenant,
            "bot": event.bot_id,
            "user": self.pseudonym(tenant, event.user_id),
            "level": result.risk,
            "score": result.risk_score,
            "imminent": result.imminent,
            "received_at": iso(event.ts),
            "text_sha256": hashlib.sha256((event.text or "").encode()).hexdigest(),
            "review_notified": notified,
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
        return await self._run(self.backend.append, body)

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
        return self.backend.append(body)

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
        """Newest first; ``cursor`` is the ``next_cursor`` of the page before."""
        before = parse_cursor(cursor)
        rows = await self._run(
            self.backend.page, flt, limit=limit + 1, before_seq=before, descending=True
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (str(rows[-1].seq) if more and rows else None)

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
        self, *, legacy: bool = False, published: PublishedHead | None = None
    ) -> Verification:
        """Check the chain; ``legacy`` accepts an unkeyed (pre-HMAC) head as it is,
        ``published`` a head printed earlier that the log must still contain."""
        checkpoints = await self._run(self.backend.checkpoints)
        verifier = ChainVerifier(checkpoints, self.key, legacy=legacy, published=published)
        if not verifier.failed:
            async for record in self.iter_records(EVERYTHING):
                if not verifier.feed(record):
                    break
        return verifier.result()

    async def head(self) -> tuple[Verification, PublishedHead | None]:
        """The verified chain's head, signed to be published; None if it does not verify."""
        result = await self.verify()
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
            await self._run(self.backend.append, body)
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


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit():
        raise ValueError(f"bad cursor {cursor!r}: pass the next_cursor of the previous page")
    return int(cursor)


__all__ = [
    "AuditIntegrityError",
    "AuditOptions",
    "AuditTrail",
    "AuditUnavailable",
    "open_backend",
    "parse_cursor",
    "resolve_key",
]
