"""Redis state store, for several gateway replicas sharing state.

Key layout (``T``, ``U``, ``B``, ``K`` are the percent-encoded tenant, user, bot and
idempotency key, so no id can forge a separator or a hash-tag brace)::

    {prefix}:{T|U}:um:B          sorted set  messages the user sent bot B (score = epoch s)
    {prefix}:{T|U}:first         hash        B -> earliest user message to B
    {prefix}:{T|U}:pro:B         sorted set  proactive messages B sent (member = decision id)
    {prefix}:{T|U}:pro_all       sorted set  proactive messages of every bot ("B|decision id")
    {prefix}:{T|U}:out:B         sorted set  every message B sent, replies included
    {prefix}:{T|U}:disc:B        sorted set  messages of B that carried the AI disclosure
    {prefix}:{T|U}:res:B         sorted set  messages of B that carried crisis resources
    {prefix}:{T|U}:risk          sorted set  self-harm signals ("<id>|<level>|<bot>")
    {prefix}:{T|U}:dep           sorted set  dependency signals ("<id>|<score>|<bot>")
    {prefix}:{T|U}:consent       hash        B or "*" -> "out|<ts>" / "in|<ts>"
    {prefix}:{T|U}:seen:E        string      a platform event id, 7-day TTL
    {prefix}:{T|U}:idem:B:K      string      "<expires_at>|<decision json>"

Everything about one (tenant, user) shares the ``{T|U}`` hash tag, so on Redis Cluster
it lives in one slot and one Lua script can re-check caps and record atomically.

Idempotency keys are scoped to (tenant, bot, user), as the protocol says, and have one
copy: the user-tagged ``idem:B:K`` string. ``commit`` checks and writes it in the same
script as the caps (two retries of one request cannot both count), and
``put_idempotent`` sets it only when no live decision is stored (``SET NX`` semantics,
with expiry judged on the caller's clock). A concurrent block (``put_idempotent``) and
allow (``commit``) of one key are therefore serialised by Redis: whichever runs second
gets the first one's decision back, so both callers answer the same.

Timestamps come from the caller; Redis TTLs (event ids, idempotency keys) only collect
garbage, and expiry as seen by the caller is checked against the caller's clock.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal, cast
from urllib.parse import quote, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from guardrail.models import Kind
from guardrail.state.base import (
    CommitRequest,
    CommitResult,
    DependencyEvent,
    ProfileSource,
    RiskEvent,
    Snapshot,
    StoreUnavailable,
    UserProfile,
)
from guardrail.state.common import (
    ALL_BOTS,
    EVENT_DEDUPE_TTL,
    effective_consent,
    event_key,
    from_epoch,
    to_epoch,
)

_ZSET_KINDS = frozenset({"um", "pro", "pro_all", "out", "disc", "res", "risk", "dep"})
_COUNTED_KINDS = frozenset({"um", "out"})
"""prune counts messages, as SQLite does: ``pro``/``pro_all`` are copies of ``out`` entries."""

# KEYS: seen, user-message zset, first-contact hash
# ARGV: has event id, ts, member, bot field, seen TTL in seconds
# KEYS: first contact, user messages, proactive of this bot, proactive of all bots,
#       outbound of this bot, consent, disclosures of this bot, crisis resources of this
#       bot, risk events and dependency events of the user; ARGV: bot field, lo, hi, "*"
# One script rather than a MULTI/EXEC pipeline: the same consistent read, at less than
# half the client-side CPU (it is the hottest call of every decision).
_SNAPSHOT = """
local out = {redis.call('HGET', KEYS[1], ARGV[1])}
for i = 2, 5 do
  out[i] = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[2], ARGV[3], 'WITHSCORES')
end
out[6] = redis.call('HMGET', KEYS[6], ARGV[1], ARGV[4])
for i = 7, 10 do
  out[i] = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[2], ARGV[3], 'WITHSCORES')
end
return out
"""

_RECORD_MESSAGE = """
if ARGV[1] == '1' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[5]) then return 0 end
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local first = redis.call('HGET', KEYS[3], ARGV[4])
if not first or tonumber(ARGV[2]) < tonumber(first) then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[2])
end
return 1
"""

# KEYS: consent hash; ARGV: field, 'out' or 'in', ts
_SET_CONSENT = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  local state = string.sub(cur, 1, sep - 1)
  local ts = tonumber(string.sub(cur, sep + 1))
  local new = tonumber(ARGV[3])
  if new < ts then return 0 end
  if new == ts and not (ARGV[2] == 'out' and state == 'in') then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
return 1
"""

# SET NX, with expiry judged on the caller's clock (an expired value is overwritten).
# KEYS: idempotency key (the one _COMMIT checks and writes)
# ARGV: now, "<expires_at>|<json>", TTL in ms
_PUT_IDEMPOTENT = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if tonumber(string.sub(cur, 1, sep - 1)) > tonumber(ARGV[1]) then
    return string.sub(cur, sep + 1)
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return false
"""

# KEYS: idempotency (user tag), proactive of this bot, proactive of all bots,
#       outbound of this bot, user messages to this bot, disclosures of this bot,
#       crisis resources of this bot
# ARGV: member, all-bots member, kind, ts, has key, "<expires_at>|<json>", TTL in ms,
#       max_unanswered (-1: none), cap count, disclosed, resources, then per cap: scope,
#       limit, window start
_COMMIT = """
if ARGV[5] == '1' then
  local cur = redis.call('GET', KEYS[1])
  if cur then
    local sep = string.find(cur, '|', 1, true)
    if tonumber(string.sub(cur, 1, sep - 1)) > tonumber(ARGV[4]) then
      return {'replay', string.sub(cur, sep + 1)}
    end
  end
end
if ARGV[3] == 'proactive' then
  for i = 1, tonumber(ARGV[9]) do
    local base = 11 + (i - 1) * 3
    local key = KEYS[2]
    if ARGV[base + 1] == 'all_bots' then key = KEYS[3] end
    local count = redis.call('ZCOUNT', key, ARGV[base + 3], '+inf')
    if count >= tonumber(ARGV[base + 2]) then return {'cap', i, count} end
  end
  local max_unanswered = tonumber(ARGV[8])
  if max_unanswered >= 0 then
    local last = redis.call('ZRANGE', KEYS[5], -1, -1, 'WITHSCORES')
    local since = '-inf'
    if last[2] then since = '(' .. last[2] end
    local unanswered = redis.call('ZCOUNT', KEYS[2], since, '+inf')
    if unanswered >= max_unanswered then return {'unanswered', unanswered} end
  end
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
end
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
if ARGV[10] == '1' then redis.call('ZADD', KEYS[6], ARGV[4], ARGV[1]) end
if ARGV[11] == '1' then redis.call('ZADD', KEYS[7], ARGV[4], ARGV[1]) end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[1], ARGV[6], 'PX', ARGV[7])
end
return {'ok'}
"""

# KEYS: proactive of this bot, proactive of all bots, outbound of this bot, idempotency,
#       disclosures of this bot, crisis resources of this bot
# ARGV: member, all-bots member, has key
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
if ARGV[3] == '1' then redis.call('DEL', KEYS[4]) end
return 1
"""


def _q(value: str) -> str:
    """Percent-encode an id: no ``:``, ``|``, ``{`` or ``}`` survive, so keys are unambiguous."""
    return quote(value, safe="")


def _num(value: float) -> str:
    """A float as Redis and Lua parse it back exactly (repr is the shortest round trip)."""
    return repr(value)


def _ttl_ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))


def _split_stored(value: str) -> tuple[float, str]:
    expires, _, payload = value.partition("|")
    return float(expires), payload


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class RedisStore:
    """The :class:`~guardrail.state.base.Store` on Redis (single node or Cluster-ready keys).

    Timeouts are short (1 s to connect, 1 s per command) and a failed command is retried
    once at most: a gateway must decide in milliseconds, and a Redis that is down has to
    surface as :class:`StoreUnavailable` at once so the fail-open/closed policy applies.
    """

    name = "redis"

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "gr",
        *,
        max_connections: int = 64,
        timeout_s: float = 2.0,
    ) -> None:
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError("the Redis key prefix must be non-empty and contain no braces")
        self.prefix = prefix
        parts = urlsplit(url)
        # For messages: never echo the password of the URL.
        self._where = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
        # A blocking pool: a burst of requests queues (up to timeout_s) for a connection
        # instead of failing at the pool limit or opening one connection per request.
        # A Redis that is down refuses at once; timeout_s only bounds a hung or overloaded
        # one, and is generous enough not to fail closed on a busy host's scheduling delays.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            decode_responses=True,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            # One immediate retry heals a pooled connection Redis closed; no more, no sleep.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._r = aioredis.Redis.from_pool(pool)
        self._snapshot = self._r.register_script(_SNAPSHOT)
        self._record_message = self._r.register_script(_RECORD_MESSAGE)
        self._set_consent = self._r.register_script(_SET_CONSENT)
        self._put_idempotent = self._r.register_script(_PUT_IDEMPOTENT)
        self._commit = self._r.register_script(_COMMIT)
        self._release = self._r.register_script(_RELEASE)

    @contextmanager
    def _guard(self, operation: str) -> Iterator[None]:
        """Turn every way of not reaching Redis into StoreUnavailable."""
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StoreUnavailable(
                f"Redis at {self._where} unavailable during {operation}: {exc}"
            ) from exc

    def _tag(self, tenant: str, user: str) -> str:
        return f"{self.prefix}:{{{_q(tenant)}|{_q(user)}}}"

    def _idem(self, tenant: str, bot: str, user: str, key: str) -> str:
        """The one copy of an idempotency key, under the user's hash tag, scoped by bot."""
        return f"{self._tag(tenant, user)}:idem:{_q(bot)}:{_q(key)}"

    async def ping(self) -> None:
        with self._guard("ping"):
            await self._r.ping()

    async def close(self) -> None:
        await self._r.aclose()

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        tag, b = self._tag(tenant, user), _q(bot)
        lo, hi = _num(to_epoch(now - horizon)), _num(to_epoch(now))
        keys = [f"{tag}:first", f"{tag}:um:{b}", f"{tag}:pro:{b}", f"{tag}:pro_all",
                f"{tag}:out:{b}", f"{tag}:consent", f"{tag}:disc:{b}", f"{tag}:res:{b}",
                f"{tag}:risk", f"{tag}:dep"]  # fmt: skip
        with self._guard("snapshot"):
            first, um, pro, pro_all, out, consent, disc, res, risk, dep = await self._snapshot(
                keys=keys, args=[b, lo, hi, ALL_BOTS]
            )

        def times(flat: list[str]) -> tuple[datetime, ...]:
            """``ZRANGEBYSCORE … WITHSCORES`` from Lua: member, score, member, score…"""
            return tuple(from_epoch(float(score)) for score in flat[1::2])

        def record(value: str | None) -> tuple[bool, float] | None:
            if value is None:
                return None
            state, _, ts = value.partition("|")
            return state == "out", float(ts)

        opted_out, scope, opted_out_at = effective_consent(record(consent[0]), record(consent[1]))
        return Snapshot(
            first_user_message=None if first is None else from_epoch(float(first)),
            user_messages=times(um),
            proactive_sent=times(pro),
            proactive_sent_all_bots=times(pro_all),
            outbound_sent=times(out),
            disclosed_at=times(disc),
            resources_at=times(res),
            risk_events=tuple(
                RiskEvent(
                    from_epoch(float(score)),
                    int(member.split("|")[1]),
                    unquote(member.split("|")[2]),
                )
                for member, score in zip(risk[0::2], risk[1::2], strict=True)
            ),
            dependency_events=tuple(
                DependencyEvent(
                    from_epoch(float(score)),
                    float(member.split("|")[1]),
                    unquote(member.split("|")[2]),
                )
                for member, score in zip(dep[0::2], dep[1::2], strict=True)
            ),
            opted_out=opted_out,
            opt_out_scope=scope,
            opted_out_at=opted_out_at,
        )

    async def record_user_message(
        self, tenant: str, bot: str, user: str, ts: datetime, event_id: str | None = None
    ) -> bool:
        tag, b = self._tag(tenant, user), _q(bot)
        seen = f"{tag}:seen:{_q(event_key('user_message', event_id or ''))}"
        args: list[str | int] = [
            "1" if event_id is not None else "0",
            _num(to_epoch(ts)),
            uuid.uuid4().hex,  # members must be unique: two messages may share a second
            b,
            int(EVENT_DEDUPE_TTL.total_seconds()),
        ]
        with self._guard("record_user_message"):
            added = await self._record_message(
                keys=[seen, f"{tag}:um:{b}", f"{tag}:first"], args=args
            )
        return bool(added)

    async def record_risk(self, tenant: str, bot: str, user: str, ts: datetime, level: int) -> None:
        member = f"{uuid.uuid4().hex}|{int(level)}|{_q(bot)}"
        with self._guard("record_risk"):
            await self._r.zadd(f"{self._tag(tenant, user)}:risk", {member: to_epoch(ts)})

    async def record_dependency(
        self, tenant: str, bot: str, user: str, ts: datetime, score: float
    ) -> None:
        member = f"{uuid.uuid4().hex}|{float(score):.4f}|{_q(bot)}"
        with self._guard("record_dependency"):
            await self._r.zadd(f"{self._tag(tenant, user)}:dep", {member: to_epoch(ts)})

    async def record_receipt(
        self,
        tenant: str,
        bot: str,
        user: str,
        ts: datetime,
        status: Literal["delivered", "read"],
        event_id: str | None = None,
    ) -> bool:
        # Receipts feed no rule yet (the snapshot has no receipt fields): only dedupe them.
        to_epoch(ts)
        if event_id is None:
            return True
        seen = f"{self._tag(tenant, user)}:seen:{_q(event_key(status, event_id))}"
        with self._guard("record_receipt"):
            fresh = await self._r.set(seen, "1", nx=True, ex=EVENT_DEDUPE_TTL)
        return bool(fresh)

    async def set_consent(
        self, tenant: str, bot: str | None, user: str, opted_out: bool, ts: datetime
    ) -> None:
        field = ALL_BOTS if bot is None else _q(bot)
        args = [field, "out" if opted_out else "in", _num(to_epoch(ts))]
        with self._guard("set_consent"):
            await self._set_consent(keys=[f"{self._tag(tenant, user)}:consent"], args=args)

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        with self._guard("get_idempotent"):
            # decode_responses=True: str, never bytes.
            value = cast(str | None, await self._r.get(self._idem(tenant, bot, user, key)))
        if value is None:
            return None
        expires, payload = _split_stored(value)
        return payload if expires > to_epoch(now) else None

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
        stored = f"{_num(to_epoch(now + ttl))}|{decision_json}"
        args: list[str | int] = [_num(to_epoch(now)), stored, _ttl_ms(ttl)]
        with self._guard("put_idempotent"):
            earlier: str | None = await self._put_idempotent(
                keys=[self._idem(tenant, bot, user, key)], args=args
            )
        return earlier

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        tag, b = self._tag(tenant, user), _q(bot)
        key = req.idempotency_key
        stored = f"{_num(to_epoch(req.ts + req.idempotency_ttl))}|{req.decision_json}"
        args: list[str | int] = [
            req.decision_id,
            f"{b}|{req.decision_id}",
            Kind(req.kind).value,
            _num(to_epoch(req.ts)),
            "1" if key is not None else "0",
            stored,
            _ttl_ms(req.idempotency_ttl),
            -1 if req.max_unanswered is None else req.max_unanswered,
            len(req.caps),
            "1" if req.disclosed else "0",
            "1" if req.resources else "0",
        ]
        for cap in req.caps:
            args += [cap.scope, cap.limit, _num(to_epoch(req.ts - cap.window))]
        keys = [
            # Unused by the script when there is no key, but always a key of this slot.
            self._idem(tenant, bot, user, key or ""),
            f"{tag}:pro:{b}",
            f"{tag}:pro_all",
            f"{tag}:out:{b}",
            f"{tag}:um:{b}",
            f"{tag}:disc:{b}",
            f"{tag}:res:{b}",
        ]
        with self._guard("commit"):
            result: list[Any] = await self._commit(keys=keys, args=args)
        outcome = result[0]
        if outcome == "ok":
            return CommitResult(committed=True)
        if outcome == "replay":
            return CommitResult(committed=False, replay_json=str(result[1]))
        if outcome == "cap":
            cap = req.caps[int(result[1]) - 1]
            return CommitResult(
                committed=False,
                violated_cap=cap,
                details={"count": int(result[2]), "limit": cap.limit},
            )
        if outcome != "unanswered" or req.max_unanswered is None:
            raise RuntimeError(f"unexpected answer from the commit script: {result!r}")
        return CommitResult(
            committed=False,
            unanswered_exceeded=True,
            details={"unanswered": int(result[1]), "limit": req.max_unanswered},
        )

    async def release(
        self, tenant: str, bot: str, user: str, decision_id: str, idempotency_key: str | None
    ) -> None:
        tag, b = self._tag(tenant, user), _q(bot)
        keys = [
            f"{tag}:pro:{b}",
            f"{tag}:pro_all",
            f"{tag}:out:{b}",
            self._idem(tenant, bot, user, idempotency_key or ""),
            f"{tag}:disc:{b}",
            f"{tag}:res:{b}",
        ]
        args = [decision_id, f"{b}|{decision_id}", "1" if idempotency_key is not None else "0"]
        with self._guard("release"):
            await self._release(keys=keys, args=args)

    async def prune(self, before: datetime) -> int:
        cutoff = f"({_num(to_epoch(before))}"
        removed = 0
        batch: list[tuple[str, bool]] = []
        with self._guard("prune"):
            async for name in self._r.scan_iter(
                match=f"{_glob_escape(self.prefix)}:{{*", count=1000
            ):
                _, sep, rest = name.partition("}:")
                kind = rest.split(":", 1)[0]
                if sep and kind in _ZSET_KINDS:
                    batch.append((name, kind in _COUNTED_KINDS))
                if len(batch) >= 500:
                    removed += await self._trim(batch, cutoff)
                    batch = []
            if batch:
                removed += await self._trim(batch, cutoff)
        return removed

    async def _trim(self, names: list[tuple[str, bool]], cutoff: str) -> int:
        async with self._r.pipeline(transaction=False) as pipe:
            for name, _ in names:
                pipe.zremrangebyscore(name, "-inf", cutoff)
            counts: list[int] = await pipe.execute()
        return sum(n for (_, counted), n in zip(names, counts, strict=True) if counted)

    async def user_profile(self, tenant: str, user: str) -> UserProfile:
        with self._guard("user_profile"):
            key = f"{self._tag(tenant, user)}:profile"
            found = cast(dict[str, str], await self._r.hgetall(key))
        minor = found.get("minor")
        return UserProfile(
            jurisdiction=found.get("j") or None,
            jurisdiction_source=cast(ProfileSource | None, found.get("j_src")),
            is_minor=None if minor is None else minor == "1",
            minor_source=cast(ProfileSource | None, found.get("m_src")),
        )

    async def remember_user(
        self,
        tenant: str,
        user: str,
        jurisdiction: str | None,
        is_minor: bool | None,
        source: ProfileSource,
    ) -> None:
        args = [
            source,
            "" if jurisdiction is None else jurisdiction.upper(),
            "" if is_minor is None else ("1" if is_minor else "0"),
        ]
        with self._guard("remember_user"):
            await self._r.eval(_REMEMBER_USER, 1, f"{self._tag(tenant, user)}:profile", *args)


_REMEMBER_USER = """
local ingest = ARGV[1] == 'ingest'
if ARGV[2] ~= '' and (ingest or redis.call('HEXISTS', KEYS[1], 'j') == 0) then
  redis.call('HSET', KEYS[1], 'j', ARGV[2], 'j_src', ARGV[1])
end
if ARGV[3] ~= '' and (ingest or ARGV[3] == '1' or redis.call('HEXISTS', KEYS[1], 'minor') == 0) then
  redis.call('HSET', KEYS[1], 'minor', ARGV[3], 'm_src', ARGV[1])
end
return 1
"""
