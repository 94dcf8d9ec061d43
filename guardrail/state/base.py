"""The state store protocols (one per concern) shared by the SQLite and Redis implementations.

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
from guardrail.state.common import ClaimState as ClaimState
from guardrail.state.common import ConsentChange, ConsentOutcome
from guardrail.state.common import IdempotencyClaim as IdempotencyClaim

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
    imminent: bool = False
    """The act is under way or within hours, the means at hand, or a goodbye was said."""


@dataclass(frozen=True)
class RecentMessage:
    """What the crisis grammar read in one recent user message to a bot: its facts (short
    codes, never the message's words) and the level and imminence recorded for it. Kept only
    minutes (``EventWrite.recent_ttl``), so a crisis split over messages reads as one."""

    ts: datetime
    facts: tuple[str, ...]
    level: int = 0
    imminent: bool = False


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
    recent: tuple[RecentMessage, ...] = ()
    """Facts of the user's last messages to this bot, oldest first (only
    :meth:`EventStore.event_snapshot` reads them)."""
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
    """One decision to make durable, atomically with its final re-checks.

    The store re-checks, against the state at commit time (so concurrent gateway replicas
    can never over-send): the opt-out (``opted_out_replies``), the reply budget
    (``reply_budget``) for replies, and ``caps`` and ``max_unanswered`` for proactive
    messages. A check left at its default is not made.
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
    request_hash: str | None = None
    """What the key is bound to (:func:`guardrail.pipeline.request_hash`); a decision stored
    under the key for another hash is not replayed (``CommitResult.key_mismatch``)."""
    reply_budget: int | None = None
    """For a reply: how many messages of this bot may follow one user message (this one
    included); refused when that many already did (``reply_budget_spent``)."""
    opted_out_replies: int | None = None
    """When the user is opted out (of this bot or every bot) at commit time: a proactive
    message is refused, and a reply only while fewer than this many messages of this bot
    followed both the opt-out and the user's last message (1: the STOP confirmation,
    then one answer per message the user writes; 0: nothing). None: not re-checked."""


@dataclass(frozen=True)
class CommitResult:
    committed: bool
    replay_json: str | None = None
    """A decision stored earlier under the same idempotency key (nothing new was counted)."""
    violated_cap: Cap | None = None
    violated_index: int | None = None
    """Position of ``violated_cap`` in ``CommitRequest.caps`` (which rule's cap it was)."""
    unanswered_exceeded: bool = False
    opted_out: bool = False
    """Refused: the user is opted out and this message is not the one reply allowed."""
    reply_budget_spent: bool = False
    """Refused: concurrent replies used this user message's reply budget first."""
    key_mismatch: bool = False
    """Refused: the key holds a decision for a different request body."""
    details: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EventWrite:
    """Everything one inbound event changes, applied all-or-nothing by :meth:`Store.apply_event`.

    Classification (consent wording, risk, dependency) happens before, so the write is one
    transaction (SQLite) or one MULTI/EXEC (Redis): either the event is applied and marked
    seen, or nothing is, and the platform's retry with the same event id applies it.
    """

    ts: datetime
    seen_key: str | None = None
    """The namespaced event id (``common.event_key``); None: the event has no id."""
    user_message: bool = False
    """Record a message the user sent (first contact, unanswered counts, reply windows)."""
    consent: ConsentChange | None = None
    risk_level: int | None = None
    risk_imminent: bool = False
    """With ``risk_level``: the signal is imminent (``RiskEvent.imminent``)."""
    dependency_score: float | None = None
    recent: RecentMessage | None = None
    """The message's crisis facts, kept ``recent_ttl`` for the next messages to read."""
    recent_ttl: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class EventApplied:
    duplicate: bool = False
    """The event id was seen before: nothing was written."""
    consent: ConsentOutcome | None = None


@dataclass(frozen=True)
class OutboxItem:
    """A notification waiting in the durable outbox, as one worker claimed it.

    ``attempts`` counts this claim (1 on the first try); ``token`` is the claim's lease:
    only its holder may settle the item, and another worker may claim it again only once
    ``lease`` has passed (the holder died mid-attempt)."""

    item_id: str
    payload_json: str
    attempts: int
    token: str


ProfileSource = Literal["ingest", "bot"]


@dataclass(frozen=True)
class UserProfile:
    """What is known of a user beyond one request: jurisdiction and minor status, and who
    said so (``ingest``: the platform or an ingest key; ``bot``: a bot's request)."""

    jurisdiction: str | None = None
    jurisdiction_source: ProfileSource | None = None
    is_minor: bool | None = None
    minor_source: ProfileSource | None = None


class Lifecycle(Protocol):
    """What every store is: a name for logs and probes, a health check, a close."""

    name: str

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the store cannot serve."""

    async def close(self) -> None: ...


class Snapshots(Protocol):
    """Reading what the store knows of one user with one bot."""

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        """State of (bot, user), with timestamps from ``now - horizon`` up to ``now``."""


class DecisionStore(Lifecycle, Snapshots, Protocol):
    """Decisions and caps: the user's state with a bot, and the atomic commit of an
    allowed message with its re-checks (opt-out, reply budget, caps, unanswered)."""

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        """Atomically: replay check, opt-out, reply-budget and cap re-checks, record the
        outbound message, store the decision under the key (replacing an in-flight marker).

        ``req.idempotency_key`` is scoped to (tenant, bot, user), like
        :meth:`put_idempotent`'s key.
        """

    async def release(
        self, tenant: str, bot: str, user: str, decision_id: str, idempotency_key: str | None
    ) -> None:
        """Undo a commit whose delivery failed: it no longer counts, the key may be retried.

        ``idempotency_key`` is scoped to (tenant, bot, user).
        """


class IdempotencyStore(Protocol):
    """Idempotency keys, scoped to (tenant, bot, user) and written in the same atomic step
    as :meth:`DecisionStore.commit`."""

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        """The decision JSON stored under ``key``, if any and not expired (an in-flight
        marker is not a decision: None).

        Idempotency keys are scoped to (tenant, bot, user): the same key always arrives
        with the same bot and user, so the key lives with that user's state and is
        checked in the same atomic step as :meth:`commit`.
        """

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
        """Atomically: the live record under ``key`` judged against ``request_hash``, or,
        when there is none, an in-flight marker (owned by ``token``, live for ``ttl``).

        The marker is replaced by the decision (:meth:`commit`, :meth:`put_idempotent`) or
        dropped (:meth:`abandon_idempotent`); a crashed caller's marker expires by itself.
        """

    async def abandon_idempotent(
        self, tenant: str, bot: str, user: str, key: str, token: str, now: datetime
    ) -> None:
        """Drop the in-flight marker ``token`` set (nothing else): the request reached no
        final decision (a component outage, a deferral), so a retry decides afresh."""

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
        """Store a decision that counted nothing (a block). Returns an earlier one if present.

        An in-flight marker under the key is replaced, a live decision is not. The key is
        scoped to (tenant, bot, user), as in :meth:`get_idempotent`, and is the very
        record :meth:`commit` checks and writes: a block and an allow racing on one key
        are settled atomically, one of them wins and the other gets its decision back
        (here as the return value, from ``commit`` as ``replay_json``).
        """


class PipelineStore(DecisionStore, IdempotencyStore, Protocol):
    """What :func:`guardrail.pipeline.decide` reads and writes; the read-only store of
    shadow policies implements just this."""


class EventStore(Protocol):
    """What inbound events write: the user's messages, receipts, consent, risk and
    dependency signals, each event applied at most once."""

    async def event_snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, conversation: timedelta
    ) -> Snapshot:
        """What an inbound event reads, in one read: the consent state, and the facts of the
        user's messages to ``bot`` from ``now - conversation`` up to ``now`` (``recent``);
        the time lists are empty."""

    async def apply_event(
        self, tenant: str, bot: str, user: str, write: EventWrite
    ) -> EventApplied:
        """Apply one classified event atomically; mark its id seen in the same step."""

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
        self,
        tenant: str,
        bot: str | None,
        user: str,
        opted_out: bool,
        ts: datetime,
        *,
        source: str = "admin",
        arrival: datetime | None = None,
    ) -> ConsentOutcome:
        """Opt the user out of (or back into) one bot, or every bot when ``bot`` is None.

        Decided by :func:`~guardrail.state.common.decide_consent`: the change that arrives
        last wins, an opt-in never lifts an opt-out made after its claimed time, and a
        bot-sourced opt-in never lifts an opt-out the user made elsewhere.
        """


class ProfileStore(Protocol):
    """Facts about a user beyond one request (jurisdiction, minor status) and their source."""

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


class OutboxStore(Protocol):
    """The durable notification outbox the review webhook is sent from."""

    async def outbox_put(self, item_id: str, payload_json: str, now: datetime) -> None:
        """Keep a notification until it is delivered or given up (due at once); a second
        put of ``item_id`` changes nothing."""

    async def outbox_claim(
        self, now: datetime, lease: timedelta, token: str, limit: int = 10
    ) -> list[OutboxItem]:
        """Atomically take up to ``limit`` due items for ``lease`` (owned by ``token``),
        counting an attempt on each: two workers never hold one item at once."""

    async def outbox_settle(self, item_id: str, token: str, retry_at: datetime | None) -> bool:
        """End the attempt ``token`` holds: ``retry_at`` None drops the item (delivered or
        given up), else it is due again then. False: the lease was lost (nothing changed)."""

    async def outbox_next_due(self) -> datetime | None:
        """When the earliest waiting item is due (a leased one: when its lease ends)."""


class RetentionStore(Protocol):
    """Dropping what is older than its retention."""

    async def prune(
        self,
        before: datetime,
        *,
        risk_before: datetime | None = None,
        records_before: datetime | None = None,
    ) -> int:
        """Drop timestamps older than ``before``; risk and dependency signals older than
        ``risk_before`` (default ``before``); consent and first-contact records untouched
        since ``records_before`` (default: kept). Returns the messages dropped.

        Redis also (re)sets a TTL on every key it sweeps, so nothing outlives its retention
        even if pruning stops."""


class IngestStore(EventStore, Snapshots, Protocol):
    """What event ingestion needs: the event writes, the user's consent state and the
    facts of their last messages."""


class Store(PipelineStore, EventStore, ProfileStore, OutboxStore, RetentionStore, Protocol):
    """The whole state of the gateway, one concern per protocol above; both backends
    (SQLite, Redis) implement all of it and pass one test suite. Code that needs only one
    concern asks for that protocol, so a new piece of state widens one of them."""
