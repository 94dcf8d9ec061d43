"""The state store protocol shared by the SQLite and Redis implementations.

State is kept as raw timestamps (user messages, outbound messages, consent changes);
everything the rules need (unanswered count, last user message, cap usage) is derived
from them, so out-of-order platform events cannot corrupt a counter.

Time is passed in by the caller (platform timestamps for events, the decision time for
outreach), never read from the clock here: replay and tests depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from guardrail.models import Kind

CapScope = Literal["bot", "all_bots"]


class StoreUnavailable(RuntimeError):
    """The backing store cannot be reached; callers fail closed or open by policy."""


@dataclass(frozen=True)
class Cap:
    """A rolling-window frequency cap on proactive messages."""

    scope: CapScope
    limit: int
    window: timedelta


@dataclass(frozen=True)
class RiskEvent:
    """A self-harm signal seen in a user message: its time and severity (0 none … 4 attempt)."""

    ts: datetime
    level: int
    bot: str


@dataclass(frozen=True)
class DependencyEvent:
    """An emotional-dependency signal in a user message: its time and the head's score."""

    ts: datetime
    score: float
    bot: str


@dataclass(frozen=True)
class Snapshot:
    """What the store knows about one user with one bot, as of a decision.

    Lists are ascending and cover at least the ``horizon`` the pipeline asked for.
    """

    first_user_message: datetime | None = None
    user_messages: tuple[datetime, ...] = ()
    proactive_sent: tuple[datetime, ...] = ()
    """Proactive messages this bot sent this user."""
    proactive_sent_all_bots: tuple[datetime, ...] = ()
    """Proactive messages every bot of the tenant sent this user."""
    outbound_sent: tuple[datetime, ...] = ()
    """Every message (proactive and reply) this bot sent this user."""
    disclosed_at: tuple[datetime, ...] = ()
    """Messages of this bot to this user that carried the AI disclosure."""
    resources_at: tuple[datetime, ...] = ()
    """Messages of this bot to this user that carried crisis resources."""
    risk_events: tuple[RiskEvent, ...] = ()
    """Self-harm signals in the user's messages, to any bot of the tenant."""
    dependency_events: tuple[DependencyEvent, ...] = ()
    """Emotional-dependency signals in the user's messages, to any bot of the tenant."""
    opted_out: bool = False
    opt_out_scope: Literal["bot", "all"] | None = None
    opted_out_at: datetime | None = None

    @property
    def last_user_message(self) -> datetime | None:
        return self.user_messages[-1] if self.user_messages else None

    def sent_since_last_user_message(self, times: tuple[datetime, ...]) -> int:
        last = self.last_user_message
        return len(times) if last is None else sum(1 for t in times if t > last)

    @property
    def unanswered_proactive(self) -> int:
        return self.sent_since_last_user_message(self.proactive_sent)


@dataclass(frozen=True)
class CommitRequest:
    """One decision to make durable, atomically with its final cap re-check.

    For proactive messages the store re-checks ``caps`` and ``max_unanswered`` against
    the state at commit time, so concurrent gateway replicas can never over-send.
    """

    decision_id: str
    kind: Kind
    ts: datetime
    decision_json: str
    caps: tuple[Cap, ...] = ()
    max_unanswered: int | None = None
    disclosed: bool = False
    """The delivered text carries the AI disclosure (the disclosure rule reads it back)."""
    resources: bool = False
    """The delivered text carries crisis resources (the crisis_resources rule reads it back)."""
    idempotency_key: str | None = None
    idempotency_ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class CommitResult:
    committed: bool
    replay_json: str | None = None
    """A decision stored earlier under the same idempotency key (nothing new was counted)."""
    violated_cap: Cap | None = None
    unanswered_exceeded: bool = False
    details: dict[str, int] = field(default_factory=dict)


ProfileSource = Literal["ingest", "bot"]


@dataclass(frozen=True)
class UserProfile:
    """What is known of a user beyond one request: jurisdiction and minor status, and who
    said so (``ingest``: the platform or an ingest key; ``bot``: a bot's request)."""

    jurisdiction: str | None = None
    jurisdiction_source: ProfileSource | None = None
    is_minor: bool | None = None
    minor_source: ProfileSource | None = None


class Store(Protocol):
    """Engagement, consent and idempotency state. Both implementations pass one test suite."""

    name: str

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the store cannot serve."""

    async def close(self) -> None: ...

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        """State of (bot, user), with timestamps from ``now - horizon`` up to ``now``."""

    async def record_user_message(
        self, tenant: str, bot: str, user: str, ts: datetime, event_id: str | None = None
    ) -> bool:
        """Record a message the user sent the bot. False when ``event_id`` was seen before."""

    async def record_receipt(
        self,
        tenant: str,
        bot: str,
        user: str,
        ts: datetime,
        status: Literal["delivered", "read"],
        event_id: str | None = None,
    ) -> bool:
        """Record a delivery or read receipt. False when ``event_id`` was seen before."""

    async def record_risk(self, tenant: str, bot: str, user: str, ts: datetime, level: int) -> None:
        """Remember a self-harm signal of ``level`` (1 indicator … 4 attempt) in a user message."""

    async def record_dependency(
        self, tenant: str, bot: str, user: str, ts: datetime, score: float
    ) -> None:
        """Remember an emotional-dependency signal (the head's ``score``) in a user message."""

    async def set_consent(
        self, tenant: str, bot: str | None, user: str, opted_out: bool, ts: datetime
    ) -> None:
        """Opt the user out of (or back into) one bot, or every bot when ``bot`` is None.

        The change with the latest ``ts`` wins, whatever order events arrive in.
        """

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        """The decision JSON stored under ``key``, if any and not expired.

        Idempotency keys are scoped to (tenant, bot, user): the same key always arrives
        with the same bot and user, so the key lives with that user's state and is
        checked in the same atomic step as :meth:`commit`.
        """

    async def put_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        decision_json: str,
        now: datetime,
        ttl: timedelta,
    ) -> str | None:
        """Store a decision that counted nothing (a block). Returns an earlier one if present.

        The key is scoped to (tenant, bot, user), as in :meth:`get_idempotent`, and is the
        very record :meth:`commit` checks and writes: a block and an allow racing on one
        key are settled atomically, one of them wins and the other gets its decision back
        (here as the return value, from ``commit`` as ``replay_json``).
        """

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        """Atomically: replay check, cap re-check, record the outbound message, store key.

        ``req.idempotency_key`` is scoped to (tenant, bot, user), like
        :meth:`put_idempotent`'s key.
        """

    async def release(
        self, tenant: str, bot: str, user: str, decision_id: str, idempotency_key: str | None
    ) -> None:
        """Undo a commit whose delivery failed: it no longer counts, the key may be retried.

        ``idempotency_key`` is scoped to (tenant, bot, user).
        """

    async def prune(self, before: datetime) -> int:
        """Drop timestamps older than ``before`` (first-contact and consent records stay)."""

    async def user_profile(self, tenant: str, user: str) -> UserProfile:
        """The user's recorded jurisdiction and minor status (empty when never told)."""

    async def remember_user(
        self,
        tenant: str,
        user: str,
        jurisdiction: str | None,
        is_minor: bool | None,
        source: ProfileSource,
    ) -> None:
        """Record what ``source`` says of the user, atomically, by these rules: ingest
        evidence replaces what is recorded; a bot's claim only fills a gap, except that a
        bot may always mark the user a minor (the stricter answer)."""
