"""The state store protocols (one per concern) shared by the SQLite and Redis implementations.

State is kept as raw timestamps (user messages, outbound messages, consent changes);
everything the rules need (unanswered count, last user message, cap usage) is derived
from them, so out-of-order platform events cannot corrupt a counter.

Time is passed in by the caller (platform timestamps for events, the decision time for
outreach), never read from the clock here: replay and tests depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol, cast

from guardrail.models import Kind
from guardrail.state.common import ClaimState as ClaimState
from guardrail.state.common import ConsentChange, ConsentOutcome, from_epoch
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
    codes, never the message's words), its embedding, and the level and imminence recorded
    for it. Kept only
    minutes (``EventWrite.recent_ttl``), so a crisis split over messages reads as one."""

    ts: datetime
    facts: tuple[str, ...]
    level: int = 0
    imminent: bool = False
    vector: bytes = field(default=b"", repr=False)
    """The message's sentence embedding (float16 bytes), where the trained encoder read it:
    the severity head reads the conversation's mean (``ClassifierAssessor.converse``)."""


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


AuditRecords = Callable[[ConsentOutcome | None], Sequence[tuple[str, str]]]
"""The audit records an event's write keeps, as (record id, body JSON), given the consent
outcome the store decided (see :class:`AuditOutboxStore`)."""


@dataclass(frozen=True)
class EventWrite:
    """Everything one inbound event changes, applied all-or-nothing by :meth:`Store.apply_event`.

    Classification (consent wording, risk, dependency) happens before, so the write is one
    transaction (SQLite) or one MULTI/EXEC (Redis): either the event is applied and marked
    seen, or nothing is, and the platform's retry with the same event id applies it.
    """

    ts: datetime
    seen_key: str | None = None
    """The scoped event id (``common.event_key``); None: the event has no id."""
    user_message: bool = False
    """Record a message the user sent (first contact, unanswered counts, reply windows)."""
    consent: ConsentChange | None = None
    risk_level: int | None = None
    risk_imminent: bool = False
    """With ``risk_level``: the signal is imminent (``RiskEvent.imminent``)."""
    dependency_score: float | None = None
    disclosed: tuple[str, ...] = ()
    """Special categories the user's message disclosed (names only, never the words)."""
    forget: tuple[str, ...] = ()
    """Categories the user asked this bot to forget or never mention (``*``: all)."""
    audit: AuditRecords | None = None
    """Audit records to keep with the write (its consent change, a crisis), written in
    the same step into the audit outbox (:class:`AuditOutboxStore`)."""
    recent: RecentMessage | None = None
    """The message's crisis facts, kept ``recent_ttl`` for the next messages to read."""
    recent_ttl: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class EventApplied:
    duplicate: bool = False
    """The event id was seen before: nothing was written."""
    consent: ConsentOutcome | None = None
    id_reused: bool = False
    """The id was seen before on an event that carried no opt-out, and this one does: its
    opt-out was applied anyway (nothing else of it), so no STOP is lost to a reused id."""


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


@dataclass(frozen=True)
class PendingRecord:
    """An audit record waiting in the store's audit outbox for the audit log."""

    record_id: str
    body_json: str
    handle: str
    """The store's own reference to the entry (for :meth:`AuditOutboxStore.audit_done`)."""


ProfileSource = Literal["ingest", "bot"]


@dataclass(frozen=True)
class UserProfile:
    """What is known of a user beyond one request: jurisdiction, minor status and time
    zone, and who said so (``ingest``: the platform or an ingest key; ``bot``: a bot's
    request); and the evidence on the user's age: a likely-minor mark from the user's own
    words, the operator's age assurance."""

    jurisdiction: str | None = None
    jurisdiction_source: ProfileSource | None = None
    is_minor: bool | None = None
    minor_source: ProfileSource | None = None
    timezone: str | None = None
    """The user's zone as platform evidence reported it (never a bot's claim)."""
    timezone_source: ProfileSource | None = None
    likely_minor_at: datetime | None = None
    """The earliest user message (platform time) since the last age assurance that gave a
    minor away (the ``minor`` signal): a reason to believe the user is a minor."""
    likely_minor_source: str | None = None
    """Who vouched for that message: its evidence class (webhook, ingest, admin, bot)."""
    likely_minor_cues: tuple[str, ...] = ()
    """What gave it away (cue names such as ``age``, ``school_year``, or ``head``)."""
    age_assured_at: datetime | None = None
    """When the operator's latest age assurance was made (the event's time)."""
    age_assured_adult: bool | None = None
    age_assurance_source: str | None = None
    """Its evidence class (ingest, admin): a bot's word is never age assurance."""
    age_assurance_method: str | None = None

    @property
    def likely_minor(self) -> bool:
        """A likely-minor mark stands (set by the user's words, cleared only by assurance)."""
        return self.likely_minor_at is not None


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


TopicState = Literal["forget", "allow", "deny"]
ALL_TOPICS = "*"
"""A topic preference or disclosure-free forget that covers every category."""


@dataclass(frozen=True)
class TopicPreference:
    """What the user said about one category with one bot (or every bot): ``forget`` (do
    not mention it), ``allow`` (personal follow-ups about it are welcome) or ``deny``
    (consent withdrawn), when it arrived, and on whose word."""

    state: TopicState
    ts: datetime
    source: str


@dataclass(frozen=True)
class SensitiveMemory:
    """What a user confided to one bot, as categories and times only (never the words),
    and what they asked about those categories."""

    disclosed: Mapping[str, datetime] = field(default_factory=dict)
    """Category -> the latest message in which the user disclosed it to this bot."""
    preferences: Mapping[str, TopicPreference] = field(default_factory=dict)
    """Category (or ``*``) -> the latest preference for this bot, or for every bot."""

    @classmethod
    def from_rows(
        cls,
        disclosed: Iterable[tuple[str, float]],
        preferences: Iterable[tuple[str, str, float, str]],
    ) -> SensitiveMemory:
        """From stored rows, as every store keeps them: (category, epoch) disclosures and
        (category, state, epoch, source) preferences of this bot and of every bot, in any
        order; per category the latest preference wins, whoever set it."""
        latest: dict[str, TopicPreference] = {}
        for category, state, ts, source in sorted(preferences, key=lambda row: float(row[2])):
            latest[str(category)] = TopicPreference(
                cast(TopicState, state), from_epoch(float(ts)), str(source)
            )
        return cls(
            disclosed={str(c): from_epoch(float(ts)) for c, ts in disclosed},
            preferences=latest,
        )

    def do_not_mention(self, categories: Sequence[str]) -> frozenset[str]:
        """Of ``categories``, those the user asked to forget and has not brought up since."""
        out = set()
        for c in categories:
            pref = self._latest(c)
            if pref is None or pref.state != "forget":
                continue
            again = self.disclosed.get(c)
            if again is None or again <= pref.ts:
                out.add(c)
        return frozenset(out)

    def consented(self, categories: Sequence[str]) -> frozenset[str]:
        """Of ``categories``, those the user welcomed personal follow-ups about."""
        return frozenset(c for c in categories if (p := self._latest(c)) and p.state == "allow")

    def _latest(self, category: str) -> TopicPreference | None:
        found = [p for k in (category, ALL_TOPICS) if (p := self.preferences.get(k)) is not None]
        return max(found, key=lambda p: p.ts) if found else None


class SensitiveMemoryReader(Protocol):
    """Reading what a user confided to a bot (the ``sensitive_reference`` rule's state)."""

    async def sensitive_memory(self, tenant: str, bot: str, user: str) -> SensitiveMemory:
        """The user's disclosures to ``bot`` and preferences for it (and for every bot)."""


class PipelineStore(DecisionStore, IdempotencyStore, SensitiveMemoryReader, Protocol):
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
        timezone: str | None = None,
    ) -> None:
        """Record what ``source`` says of the user, atomically, by these rules: ingest
        evidence replaces what is recorded; a bot's claim only fills a gap, except that a
        bot may always mark the user a minor (the stricter answer). ``timezone`` is kept
        from ingest evidence only: a bot's zone is a claim to check, never a record."""

    async def mark_likely_minor(
        self, tenant: str, user: str, ts: datetime, source: str, cues: tuple[str, ...]
    ) -> bool:
        """Mark the user a likely minor on the evidence of a message of theirs at ``ts``
        (``source``: its evidence class; ``cues``: what gave it away), atomically: the
        earliest such message since the latest adult age assurance is kept; one dated at
        or before that assurance changes nothing. True when the mark was set or moved."""

    async def assure_age(
        self, tenant: str, user: str, ts: datetime, adult: bool, source: str, method: str | None
    ) -> None:
        """Record the operator's age assurance made at ``ts`` (the latest one stands); an
        adult one clears a likely-minor mark dated at or before it. The caller checks that
        ``source`` may give it (ingest, admin): nothing here trusts a bot less."""


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


class SensitiveMemoryStore(SensitiveMemoryReader, Protocol):
    """Which special categories a user disclosed to which bot and when (never the text), and
    the user's wishes about them: forget (do not mention), and personal follow-ups
    welcome or not. Disclosures and forget requests arrive with user messages
    (:class:`EventWrite`, in the same atomic step); follow-up consent through
    :meth:`set_follow_ups`. Disclosures are kept as long as risk signals; preferences as
    long as consent records."""

    async def set_follow_ups(
        self,
        tenant: str,
        bot: str | None,
        user: str,
        categories: Sequence[str],
        allowed: bool,
        ts: datetime,
        source: str,
    ) -> None:
        """Personal follow-ups about ``categories`` (``*``: all) welcome (``allowed``) or not,
        for one bot or every bot (``None``); a later preference of the category wins."""


class ErasureStore(Protocol):
    """A user's right to erasure, as far as the state store goes."""

    async def erase_user(self, tenant: str, user: str) -> int:
        """Drop everything kept about ``user`` of ``tenant`` (messages, receipts, decisions'
        counts, idempotency keys, risk, dependency and sensitive signals, the profile and
        its age evidence, follow-up preferences, the last messages' crisis facts and
        embeddings), except opt-out records: a STOP outlives the erasure, so an
        erased user is not written to again. Returns the rows (keys) removed."""


class AuditOutboxStore(Protocol):
    """Audit records of consent changes and crises, kept with the state change they record.

    :meth:`EventStore.apply_event` writes them in the event's own transaction (SQLite) or
    ``MULTI`` (Redis), so a STOP or a crisis the store took is never missing from the audit
    log, even while the log is down: a copier moves them to the log, in the order they
    were written, appending each by its record id (at most once), then drops them here."""

    async def audit_pending(self, limit: int = 100) -> list[PendingRecord]:
        """Waiting records, oldest first. A record whose write may still be in flight
        ends the list (what follows waits for it: the order is kept)."""

    async def audit_done(self, records: Sequence[PendingRecord]) -> None:
        """Drop records the audit log now holds."""


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


class Durability(Protocol):
    """Whether the store keeps what it is given until the prune drops it."""

    async def durability(self) -> str | None:
        """None when nothing written can vanish on its own; else why it may (a Redis that
        evicts keys under memory pressure, or whose eviction policy cannot be read).
        Raises :class:`StoreUnavailable` when the store cannot be asked."""


class IngestStore(EventStore, Snapshots, SensitiveMemoryStore, ProfileStore, Protocol):
    """What event ingestion needs: the event writes, the user's consent state, what the
    user disclosed (a "forget what I told you" names no category) and the user record (a
    message that gives a minor away marks it)."""


class Store(
    PipelineStore,
    EventStore,
    ProfileStore,
    OutboxStore,
    AuditOutboxStore,
    RetentionStore,
    SensitiveMemoryStore,
    ErasureStore,
    Durability,
    Protocol,
):
    """The whole state of the gateway, one concern per protocol above; both backends
    (SQLite, Redis) implement all of it and pass one test suite. Code that needs only one
    concern asks for that protocol, so a new piece of state widens one of them."""
