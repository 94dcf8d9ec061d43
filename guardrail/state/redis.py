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
    {prefix}:{T|U}:risk          sorted set  self-harm signals ("<id>|<level>|<bot>[|i]",
                                             "|i": imminent)
    {prefix}:{T|U}:conv:B        sorted set  crisis facts and embeddings of the user's last
                                             messages to B ("<id>|<level>|<0/1 imminent>|
                                             <fact,fact…>[|<base64 float16 embedding>]"),
                                             minutes only
    {prefix}:{T|U}:dep           sorted set  dependency signals ("<id>|<score>|<bot>")
    {prefix}:{T|U}:consent       hash        B or "*" -> "out|<ts>|<arrival>|<source>" / "in|…"
    {prefix}:{T|U}:sens:B        sorted set  categories disclosed to B (``redis_memory``)
    {prefix}:{T|U}:topics        hash        forget / follow-up preferences (``redis_memory``)
    {prefix}:{T|U}:seen:E        string      a scoped event id (common.event_key), 7-day TTL:
                                             "out" if its event carried an opt-out, else "1"
    {prefix}:{T|U}:idem:B:K      string      "<expires_at>|<request hash>|<claim>|<json>"
    {prefix}:{outbox}:due        sorted set  notification ids (score = due epoch s)
    {prefix}:{outbox}:item:I     hash        payload, attempts, token of notification I
    {prefix}:{T|U}:auditq        hash        record id -> audit record body, until the log has it
    {prefix}:{auditq}:idx        sorted set  '[ms, user tag, record id]' (score = order)
    {prefix}:{auditq}:seq        string      the order counter of the audit outbox

Everything about one (tenant, user) shares the ``{T|U}`` hash tag, so on Redis Cluster
it lives in one slot and one Lua script can re-check caps and record atomically.

Idempotency keys are scoped to (tenant, bot, user), as the protocol says, and have one
copy: the user-tagged ``idem:B:K`` string, holding either a decision (claim empty) or an
in-flight marker (claim = its owner's token, json empty). ``claim_idempotent`` sets the
marker only when nothing live is stored; ``commit`` checks and writes the key in the same
script as the caps (two retries of one request cannot both count), and
``put_idempotent`` sets it only when no live decision is stored (``SET NX`` semantics,
with expiry judged on the caller's clock); both replace a marker. A value written before
keys were bound to a request (``"<expires_at>|<json>"``) still reads, bound to nothing.
A concurrent block (``put_idempotent``) and allow (``commit``) of one key are therefore
serialised by Redis: whichever runs second gets the first one's decision back, so both
callers answer the same.

Timestamps come from the caller; Redis TTLs only collect garbage, and expiry as seen by
the caller is checked against the caller's clock. Every key has a TTL: event ids 7 days,
idempotency keys theirs, and the rest (``KeyTtls``) refreshed on each write of an event
and recomputed by the scheduled prune, which also gives one to any key still without.

Inbound events are applied with ``WATCH`` / ``MULTI`` / ``EXEC``: the current state is read
under ``WATCH`` (seen id, consent, first contact, key types), the consent decision is made in
Python by the same function SQLite uses, and every write goes in one ``MULTI``. A write that
Redis refuses (out of memory, read-only replica, a bad command) aborts the whole ``EXEC``.

Every Redis error (connection, timeout, OOM, READONLY, LOADING, any other error reply) is
:class:`StoreUnavailable`, so callers take the fail-closed path instead of answering 500.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast
from urllib.parse import quote, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError, WatchError

from guardrail.models import Kind
from guardrail.state.base import (
    ClaimState,
    CommitRequest,
    CommitResult,
    DependencyEvent,
    EventApplied,
    EventWrite,
    IdempotencyClaim,
    OutboxItem,
    PendingRecord,
    ProfileSource,
    RecentMessage,
    RiskEvent,
    Snapshot,
    StoreUnavailable,
    UserProfile,
)
from guardrail.state.common import (
    ALL_BOTS,
    EVENT_DEDUPE_TTL,
    SEEN_OPT_OUT,
    ConsentChange,
    ConsentOutcome,
    ConsentRecord,
    EvidenceSource,
    KeyTtls,
    bounded,
    decide_consent,
    effective_consent,
    event_key,
    from_epoch,
    since,
    to_epoch,
)
from guardrail.state.redis_memory import RedisMemory

_ZSET_KINDS = frozenset({"um", "pro", "pro_all", "out", "disc", "res", "risk", "dep", "sens"})
_COUNTED_KINDS = frozenset({"um", "out"})
"""prune counts messages, as SQLite does: ``pro``/``pro_all`` are copies of ``out`` entries."""
_RISK_KINDS = frozenset({"risk", "dep", "sens"})
_RECORD_KINDS = frozenset({"first", "consent", "profile", "topics", "age"})
OUTBOX_TTL = timedelta(days=7)
"""Outbox keys live this long after their last write (an item is settled long before)."""
AUDIT_IN_FLIGHT_MS = 10_000
"""An audit outbox entry whose record is not (yet) under its user's key: an event write
still in flight keeps its place this long (the order is kept), then it is dropped (the
write failed, the record was never kept)."""

# KEYS: order counter, index; ARGV: TTL s, then one '[ms, tag, id]' member per record.
# Reserves each record's place in the audit outbox before the event's MULTI writes it.
_AUDIT_INDEX = """
for i = 2, #ARGV do
  local n = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[2], n, ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"""


def _recent(member: str, score: float) -> RecentMessage:
    """A ``conv`` member back: "<id>|<level>|<0/1>|<fact,fact…>[|<base64 embedding>]" (the
    embedding is absent from members written before it was kept, and where none was read)."""
    _, level, imminent, facts, *vector = member.split("|", 4)
    return RecentMessage(
        from_epoch(score),
        tuple(facts.split(",")) if facts else (),
        int(level),
        imminent == "1",
        base64.b64decode(vector[0]) if vector else b"",
    )


# KEYS: due set, item key; ARGV: id, payload, now, TTL s
_OUTBOX_PUT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'payload', ARGV[2], 'attempts', 0, 'token', '')
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS: due set; ARGV: now, lease end, token, limit, item key prefix, TTL s
# Returns id, payload, attempts for each item taken. An id whose item key is gone (its
# TTL ran out) is dropped from the set.
_OUTBOX_CLAIM = """
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])
for _, id in ipairs(ids) do
  local item = ARGV[5] .. id
  local payload = redis.call('HGET', item, 'payload')
  if payload then
    local attempts = redis.call('HINCRBY', item, 'attempts', 1)
    redis.call('HSET', item, 'token', ARGV[3])
    redis.call('EXPIRE', item, ARGV[6])
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, id)
    table.insert(out, payload)
    table.insert(out, attempts)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
if #ids > 0 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
return out
"""

# KEYS: due set, item key; ARGV: id, token, retry epoch ('' = drop), TTL s
_OUTBOX_SETTLE = """
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[2], 'token', '')
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return 1
"""

_WATCH_RETRIES = 16
"""Replicas writing one user's events at once retry the optimistic transaction (after a
short random pause); past this the store is too contended to answer in time
(StoreUnavailable, so the platform retries later). Within one process, events of one user
queue on a lock instead, so a burst from one webhook never conflicts with itself."""

# KEYS: seen, consent hash, first-contact hash, then every key the event may write
# ARGV: bot field, then the expected type of each key from KEYS[4] on
# Returns the seen mark ('' when unseen, else "1" or SEEN_OPT_OUT), consent, first contact.
_EVENT_STATE = """
local types = {}
for i = 4, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= ARGV[i - 2] then return {'type', KEYS[i], t} end
end
return {'ok', redis.call('GET', KEYS[1]) or '', redis.call('HGETALL', KEYS[2]),
        redis.call('HGET', KEYS[3], ARGV[1])}
"""

# KEYS: one key; ARGV: 'z' cutoff (exclusive) | 'k' TTL in seconds for a key without one
_SWEEP = """
if ARGV[1] == 'z' then
  if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then return 0 end
  local n = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then
    local ttl = math.ceil(tonumber(last[2]) - tonumber(ARGV[2]))
    if ttl < 1 then ttl = 1 end
    redis.call('EXPIRE', KEYS[1], ttl)
  end
  return n
end
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: seen, user-message zset, first-contact hash
# ARGV: has event id, ts, member, bot field, seen TTL in seconds
# KEYS: first contact, user messages, proactive of this bot, proactive of all bots,
#       outbound of this bot, consent, disclosures of this bot, crisis resources of this
#       bot, risk events and dependency events of the user, recent crisis facts of this
#       bot; ARGV: bot field, lo, hi, "*", lo of the recent facts ("+inf": not read)
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
if ARGV[5] ~= '+inf' then
  out[11] = redis.call('ZRANGEBYSCORE', KEYS[11], ARGV[5], ARGV[3], 'WITHSCORES')
else
  out[11] = {}
end
return out
"""


# Reads an idempotency value: expires_at, request hash, claim token, decision json.
# The old two-field form "<expires_at>|<json>" (json starts with '{') reads as unbound.
_PARSE_IDEM = """
local function parse_idem(cur)
  local s1 = string.find(cur, '|', 1, true)
  local expires = tonumber(string.sub(cur, 1, s1 - 1))
  if string.sub(cur, s1 + 1, s1 + 1) == '{' then
    return expires, '', '', string.sub(cur, s1 + 1)
  end
  local s2 = string.find(cur, '|', s1 + 1, true)
  local s3 = string.find(cur, '|', s2 + 1, true)
  return expires, string.sub(cur, s1 + 1, s2 - 1), string.sub(cur, s2 + 1, s3 - 1),
    string.sub(cur, s3 + 1)
end
"""

# Claim a key: judge a live record against the request's hash, else set an in-flight
# marker. KEYS: idempotency key; ARGV: now, request hash, "<expires_at>|<hash>|<token>|",
# TTL in ms. Returns {'claimed'} / {'replay', json} / {'in_flight'} / {'mismatch'}.
_CLAIM_IDEMPOTENT = (
    _PARSE_IDEM
    + """
local cur = redis.call('GET', KEYS[1])
if cur then
  local expires, bound, claim, body = parse_idem(cur)
  if expires > tonumber(ARGV[1]) then
    if bound ~= '' and bound ~= ARGV[2] then return {'mismatch'} end
    if claim ~= '' then return {'in_flight'} end
    return {'replay', body}
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return {'claimed'}
"""
)

# Drop an in-flight marker, only the one this token set. KEYS: idempotency key; ARGV: token
_ABANDON_IDEMPOTENT = (
    _PARSE_IDEM
    + """
local cur = redis.call('GET', KEYS[1])
if cur then
  local expires, bound, claim, body = parse_idem(cur)
  if claim == ARGV[1] then redis.call('DEL', KEYS[1]) end
end
return 1
"""
)

# SET NX, with expiry judged on the caller's clock (an expired value or an in-flight
# marker is overwritten). KEYS: idempotency key (the one _COMMIT checks and writes)
# ARGV: now, "<expires_at>|<hash>||<json>", TTL in ms
_PUT_IDEMPOTENT = (
    _PARSE_IDEM
    + """
local cur = redis.call('GET', KEYS[1])
if cur then
  local expires, bound, claim, body = parse_idem(cur)
  if expires > tonumber(ARGV[1]) and claim == '' then return body end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return false
"""
)

# KEYS: idempotency (user tag), proactive of this bot, proactive of all bots,
#       outbound of this bot, user messages to this bot, disclosures of this bot,
#       crisis resources of this bot, consent
# ARGV: member, all-bots member, kind, ts, has key, "<expires_at>|<hash>||<json>", TTL in ms,
#       max_unanswered (-1: none), cap count, disclosed, resources, request hash,
#       reply budget (-1: none), opted-out replies (-1: not checked), bot consent field,
#       "*", then per cap: scope, limit, window start
_COMMIT = (
    _PARSE_IDEM
    + """
if ARGV[5] == '1' then
  local cur = redis.call('GET', KEYS[1])
  if cur then
    local expires, bound, claim, body = parse_idem(cur)
    if expires > tonumber(ARGV[4]) then
      if bound ~= '' and ARGV[12] ~= '' and bound ~= ARGV[12] then return {'mismatch'} end
      if claim == '' then return {'replay', body} end
    end
  end
end
local last = redis.call('ZRANGE', KEYS[5], -1, -1, 'WITHSCORES')
local after_last = '-inf'
if last[2] then after_last = '(' .. last[2] end
local opted_out_replies = tonumber(ARGV[14])
if opted_out_replies >= 0 then
  -- The latest consent change to arrive wins; ties go to the opt-out (as effective_consent).
  -- Values are "out|<ts>|<arrival>|<source>"; older ones "out|<ts>" arrived at <ts>.
  local best_arr, best_out, best_ts, best_raw = nil, false, nil, nil
  for _, rec in ipairs(redis.call('HMGET', KEYS[8], ARGV[15], ARGV[16])) do
    if rec then
      local s1 = string.find(rec, '|', 1, true)
      local out = string.sub(rec, 1, s1 - 1) == 'out'
      local rest = string.sub(rec, s1 + 1)
      local ts_raw, arr = rest, nil
      local s2 = string.find(rest, '|', 1, true)
      if s2 then
        ts_raw = string.sub(rest, 1, s2 - 1)
        local tail = string.sub(rest, s2 + 1)
        local s3 = string.find(tail, '|', 1, true)
        if s3 then tail = string.sub(tail, 1, s3 - 1) end
        arr = tonumber(tail)
      end
      local ts = tonumber(ts_raw) or 0
      if arr == nil then arr = ts end
      if best_arr == nil or arr > best_arr or (arr == best_arr and out) then
        best_arr, best_out, best_ts, best_raw = arr, out, ts, ts_raw
      end
    end
  end
  if best_out then
    -- Messages after both the opt-out (inclusive) and the user's last message.
    local since = after_last
    if not last[2] or tonumber(last[2]) < best_ts then since = best_raw end
    local sent = redis.call('ZCOUNT', KEYS[4], since, '+inf')
    if ARGV[3] == 'proactive' or sent >= opted_out_replies then
      return {'opted_out', sent}
    end
  end
end
if ARGV[3] ~= 'proactive' then
  local budget = tonumber(ARGV[13])
  if budget >= 0 then
    local sent = redis.call('ZCOUNT', KEYS[4], after_last, '+inf')
    if sent >= budget then return {'reply_budget', sent} end
  end
else
  for i = 1, tonumber(ARGV[9]) do
    local base = 16 + (i - 1) * 3
    local key = KEYS[2]
    if ARGV[base + 1] == 'all_bots' then key = KEYS[3] end
    local count = redis.call('ZCOUNT', key, ARGV[base + 3], '+inf')
    if count >= tonumber(ARGV[base + 2]) then return {'cap', i, count} end
  end
  local max_unanswered = tonumber(ARGV[8])
  if max_unanswered >= 0 then
    local unanswered = redis.call('ZCOUNT', KEYS[2], after_last, '+inf')
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
)

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


def _opt_out_only(write: EventWrite, mark: str) -> EventWrite | None:
    """What to apply of an event whose id was seen before (``mark``): its opt-out alone when
    it carries one and the event seen under the id did not (never lose a STOP to a reused
    id), else nothing (a redelivery)."""
    if write.consent is None or not write.consent.opted_out or mark == SEEN_OPT_OUT:
        return None
    return EventWrite(
        ts=write.ts, seen_key=write.seen_key, consent=write.consent, audit=write.audit
    )


def _q(value: str) -> str:
    """Percent-encode an id: no ``:``, ``|``, ``{`` or ``}`` survive, so keys are unambiguous."""
    return quote(value, safe="")


def _num(value: float) -> str:
    """A float as Redis and Lua parse it back exactly (repr is the shortest round trip)."""
    return repr(value)


def _ttl_ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))


def _split_stored(value: str) -> tuple[float, str, str, str]:
    """An idempotency value: (expires_at, request hash, claim token, decision json); the
    old ``"<expires_at>|<json>"`` form reads as bound to nothing (as ``_PARSE_IDEM``)."""
    expires, _, rest = value.partition("|")
    if rest.startswith("{"):
        return float(expires), "", "", rest
    bound, _, rest = rest.partition("|")
    claim, _, payload = rest.partition("|")
    return float(expires), bound, claim, payload


def _idem_value(expires_at: datetime, request_hash: str | None, claim: str, body: str) -> str:
    return f"{_num(to_epoch(expires_at))}|{request_hash or ''}|{claim}|{body}"


def _ttl_s(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds()))


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class RedisStore(RedisMemory):
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
        ttls: KeyTtls | None = None,
    ) -> None:
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError("the Redis key prefix must be non-empty and contain no braces")
        self.prefix = prefix
        self.ttls = ttls or KeyTtls()
        self._user_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
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
        self._sweep = self._r.register_script(_SWEEP)
        self._put_idempotent = self._r.register_script(_PUT_IDEMPOTENT)
        self._claim_idempotent = self._r.register_script(_CLAIM_IDEMPOTENT)
        self._abandon_idempotent = self._r.register_script(_ABANDON_IDEMPOTENT)
        self._commit = self._r.register_script(_COMMIT)
        self._release = self._r.register_script(_RELEASE)
        self._outbox_put = self._r.register_script(_OUTBOX_PUT)
        self._outbox_claim = self._r.register_script(_OUTBOX_CLAIM)
        self._outbox_settle = self._r.register_script(_OUTBOX_SETTLE)

    @contextmanager
    def _guard(self, operation: str) -> Iterator[None]:
        """Turn every way Redis can fail to serve into StoreUnavailable: not reachable
        (connection, timeout, LOADING), refusing writes (OOM, READONLY, MISCONF) or any
        other error reply. None of them may become a 500: callers fail closed."""
        try:
            yield
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(
                f"Redis at {self._where} unavailable during {operation}: "
                f"{type(exc).__name__}: {exc}"
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

    async def durability(self) -> str | None:
        """Why keys may vanish: any ``maxmemory-policy`` but ``noeviction`` lets Redis evict
        keys when memory is full, opt-outs and risk holds included (every key has a TTL,
        so the ``volatile-*`` policies reach them too). Read with ``CONFIG GET``, else from
        ``INFO memory`` (managed offerings often disable CONFIG)."""
        policy = await self.eviction_policy()
        if policy == "noeviction":
            return None
        if policy is None:
            return (
                f"cannot read the maxmemory-policy of Redis at {self._where} (CONFIG GET and "
                "INFO memory both refused): opt-outs would be lost if it evicts keys; check "
                "that it is noeviction and set redis_allow_eviction: true"
            )
        return (
            f"Redis at {self._where} has maxmemory-policy {policy}: under memory pressure it "
            "evicts keys, opt-outs and risk holds included; set it to noeviction (redis.conf "
            "or your provider's parameter group), or set redis_allow_eviction: true"
        )

    async def eviction_policy(self) -> str | None:
        """The server's ``maxmemory-policy``, or None when neither CONFIG nor INFO tells."""
        with self._guard("eviction_policy"):
            try:
                found = await self._r.config_get("maxmemory-policy")
                policy = found.get("maxmemory-policy")
                if isinstance(policy, str) and policy:
                    return policy
            except ResponseError:
                pass  # CONFIG disabled or renamed (managed Redis), or not allowed to this user
            try:
                info = await self._r.info("memory")
            except ResponseError:
                return None
        policy = info.get("maxmemory_policy")
        return policy if isinstance(policy, str) and policy else None

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        return await self._read(tenant, bot, user, now, horizon, None)

    async def event_snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, conversation: timedelta
    ) -> Snapshot:
        return await self._read(tenant, bot, user, now, timedelta(0), conversation)

    async def _read(
        self,
        tenant: str,
        bot: str,
        user: str,
        now: datetime,
        horizon: timedelta,
        conversation: timedelta | None,
    ) -> Snapshot:
        tag, b = self._tag(tenant, user), _q(bot)
        lo, hi = _num(to_epoch(since(now, horizon))), _num(to_epoch(now))
        conv_lo = "+inf" if conversation is None else _num(to_epoch(since(now, conversation)))
        keys = [f"{tag}:first", f"{tag}:um:{b}", f"{tag}:pro:{b}", f"{tag}:pro_all",
                f"{tag}:out:{b}", f"{tag}:consent", f"{tag}:disc:{b}", f"{tag}:res:{b}",
                f"{tag}:risk", f"{tag}:dep", f"{tag}:conv:{b}"]  # fmt: skip
        with self._guard("snapshot"):
            (
                first,
                um,
                pro,
                pro_all,
                out,
                consent,
                disc,
                res,
                risk,
                dep,
                conv,
            ) = await self._snapshot(keys=keys, args=[b, lo, hi, ALL_BOTS, conv_lo])

        def times(flat: list[str]) -> tuple[datetime, ...]:
            """``ZRANGEBYSCORE … WITHSCORES`` from Lua: member, score, member, score…"""
            return tuple(from_epoch(float(score)) for score in flat[1::2])

        def record(value: str | None) -> ConsentRecord | None:
            return None if value is None else ConsentRecord.decode(value)

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
                    member.count("|") > 2 and member.split("|")[3] == "i",
                )
                for member, score in zip(risk[0::2], risk[1::2], strict=True)
            ),
            recent=tuple(
                _recent(member, float(score))
                for member, score in zip(conv[0::2], conv[1::2], strict=True)
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
        seen = (
            None
            if event_id is None
            else event_key("user_message", event_id, origin="ingest", bot=bot)
        )
        write = EventWrite(ts=ts, seen_key=seen, user_message=True)
        return not (await self.apply_event(tenant, bot, user, write)).duplicate

    async def record_risk(self, tenant: str, bot: str, user: str, ts: datetime, level: int) -> None:
        await self.apply_event(tenant, bot, user, EventWrite(ts=ts, risk_level=level))

    async def record_dependency(
        self, tenant: str, bot: str, user: str, ts: datetime, score: float
    ) -> None:
        await self.apply_event(tenant, bot, user, EventWrite(ts=ts, dependency_score=score))

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
        key = event_key(status, event_id, origin="ingest", bot=bot)
        seen = f"{self._tag(tenant, user)}:seen:{_q(key)}"
        with self._guard("record_receipt"):
            fresh = await self._r.set(seen, "1", nx=True, ex=EVENT_DEDUPE_TTL)
        return bool(fresh)

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
        change = ConsentChange(bot, opted_out, ts, cast(EvidenceSource, source), arrival)
        applied = await self.apply_event(
            tenant, bot or ALL_BOTS, user, EventWrite(ts=ts, consent=change)
        )
        assert applied.consent is not None
        return applied.consent

    async def apply_event(
        self, tenant: str, bot: str, user: str, write: EventWrite
    ) -> EventApplied:
        epoch = to_epoch(write.ts)
        if write.consent is not None:
            to_epoch(write.consent.ts)
        tag, b = self._tag(tenant, user), _q(bot)
        seen = f"{tag}:seen:{_q(write.seen_key or '')}"
        consent, first = f"{tag}:consent", f"{tag}:first"
        typed = {seen: "string", consent: "hash", first: "hash", f"{tag}:um:{b}": "zset",
                 f"{tag}:risk": "zset", f"{tag}:dep": "zset",
                 **self.memory_keys(tag, b, write)}  # fmt: skip
        lock = self._user_locks.get(tag)
        if lock is None:
            lock = self._user_locks.setdefault(tag, asyncio.Lock())
        with self._guard("apply_event"):
            async with lock, self._r.pipeline(transaction=True) as pipe:
                for attempt in range(_WATCH_RETRIES):
                    if attempt:
                        await asyncio.sleep(random.uniform(0, 0.002 * attempt))
                    try:
                        await pipe.watch(seen, consent, first)
                        state = await pipe.eval(
                            _EVENT_STATE, len(typed), *typed, b, *list(typed.values())[3:]
                        )
                        if state[0] == "type":
                            raise StoreUnavailable(
                                f"Redis at {self._where}: key {state[1]} holds a {state[2]}"
                            )
                        _, mark, flat, first_ts = state
                        todo: EventWrite | None = write
                        reused = write.seen_key is not None and bool(mark)
                        if reused:
                            todo = _opt_out_only(write, mark)
                        if todo is None:
                            await pipe.unwatch()  # type: ignore[no-untyped-call]
                            return EventApplied(duplicate=True)
                        records = await self._reserve_audit(pipe, tag, todo, flat)
                        pipe.multi()  # type: ignore[no-untyped-call]
                        outcome = self._queue_event(pipe, tag, b, epoch, todo, flat, first_ts, seen)
                        self._queue_audit(pipe, tag, records)
                        await pipe.execute()
                        return EventApplied(consent=outcome, id_reused=reused)
                    except WatchError:
                        continue
        raise StoreUnavailable(f"Redis at {self._where}: apply_event kept conflicting; retry")

    def _queue_event(
        self,
        pipe: Pipeline,
        tag: str,
        b: str,
        epoch: float,
        write: EventWrite,
        flat: list[str],
        first_ts: str | None,
        seen: str,
    ) -> ConsentOutcome | None:
        """Queue every write of one event in the open MULTI; the seen mark comes last."""
        ttls = self.ttls
        if write.user_message:
            um = f"{tag}:um:{b}"
            pipe.zadd(um, {uuid.uuid4().hex: epoch})
            pipe.expire(um, _ttl_s(ttls.messages))
            if first_ts is None or epoch < float(first_ts):
                pipe.hset(f"{tag}:first", b, _num(epoch))
            pipe.expire(f"{tag}:first", _ttl_s(ttls.records))
        outcome = None
        if write.consent is not None:
            outcome = self._queue_consent(pipe, tag, write.consent, flat)
        if write.risk_level is not None:
            member = f"{uuid.uuid4().hex}|{int(write.risk_level)}|{b}"
            if write.risk_imminent:
                member += "|i"
            pipe.zadd(f"{tag}:risk", {member: epoch})
            pipe.expire(f"{tag}:risk", _ttl_s(ttls.risk))
        if write.recent is not None:
            r, conv, ttl = write.recent, f"{tag}:conv:{b}", write.recent_ttl
            member = f"{uuid.uuid4().hex}|{int(r.level)}|{int(r.imminent)}|{','.join(r.facts)}"
            if r.vector:
                member += f"|{base64.b64encode(r.vector).decode('ascii')}"
            pipe.zremrangebyscore(conv, "-inf", f"({_num(epoch - ttl.total_seconds())}")
            pipe.zadd(conv, {member: epoch})
            pipe.expire(conv, max(1, int(ttl.total_seconds())))
        if write.dependency_score is not None:
            member = f"{uuid.uuid4().hex}|{float(write.dependency_score):.4f}|{b}"
            pipe.zadd(f"{tag}:dep", {member: epoch})
            pipe.expire(f"{tag}:dep", _ttl_s(ttls.risk))
        self.queue_memory(pipe, tag, b, epoch, write)
        if write.seen_key is not None:
            out = write.consent is not None and write.consent.opted_out
            pipe.set(seen, SEEN_OPT_OUT if out else "1", ex=EVENT_DEDUPE_TTL)
        return outcome

    def _queue_consent(
        self, pipe: Pipeline, tag: str, change: ConsentChange, flat: list[str]
    ) -> ConsentOutcome:
        records = {
            unquote(field): ConsentRecord.decode(value)
            for field, value in zip(flat[0::2], flat[1::2], strict=True)
        }
        outcome = decide_consent(change, records)
        if outcome.record is not None:
            field = ALL_BOTS if change.bot is None else _q(change.bot)
            pipe.hset(f"{tag}:consent", field, outcome.record.encode())
            pipe.expire(f"{tag}:consent", _ttl_s(self.ttls.records))
        return outcome

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        with self._guard("get_idempotent"):
            # decode_responses=True: str, never bytes.
            value = cast(str | None, await self._r.get(self._idem(tenant, bot, user, key)))
        if value is None:
            return None
        expires, _, claim, payload = _split_stored(value)
        return payload if expires > to_epoch(now) and not claim else None

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
        marker = _idem_value(now + ttl, request_hash, token, "")
        args: list[str | int] = [_num(to_epoch(now)), request_hash, marker, _ttl_ms(ttl)]
        with self._guard("claim_idempotent"):
            result: list[Any] = await self._claim_idempotent(
                keys=[self._idem(tenant, bot, user, key)], args=args
            )
        state = cast(ClaimState, result[0])
        return IdempotencyClaim(state, str(result[1]) if state == "replay" else None)

    async def abandon_idempotent(
        self, tenant: str, bot: str, user: str, key: str, token: str, now: datetime
    ) -> None:
        with self._guard("abandon_idempotent"):
            await self._abandon_idempotent(keys=[self._idem(tenant, bot, user, key)], args=[token])

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
        stored = _idem_value(now + ttl, request_hash, "", decision_json)
        args: list[str | int] = [_num(to_epoch(now)), stored, _ttl_ms(ttl)]
        with self._guard("put_idempotent"):
            earlier: str | None = await self._put_idempotent(
                keys=[self._idem(tenant, bot, user, key)], args=args
            )
        return earlier

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        tag, b = self._tag(tenant, user), _q(bot)
        key = req.idempotency_key
        stored = _idem_value(req.ts + req.idempotency_ttl, req.request_hash, "", req.decision_json)
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
            req.request_hash or "",
            -1 if req.reply_budget is None else req.reply_budget,
            -1 if req.opted_out_replies is None else req.opted_out_replies,
            b,
            ALL_BOTS,
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
            f"{tag}:consent",
        ]
        with self._guard("commit"):
            result: list[Any] = await self._commit(keys=keys, args=args)
        return self._commit_result(req, result)

    @staticmethod
    def _commit_result(req: CommitRequest, result: list[Any]) -> CommitResult:
        outcome = result[0]
        if outcome == "ok":
            return CommitResult(committed=True)
        if outcome == "replay":
            return CommitResult(committed=False, replay_json=str(result[1]))
        if outcome == "mismatch":
            return CommitResult(committed=False, key_mismatch=True)
        if outcome == "cap":
            index = int(result[1]) - 1
            cap = req.caps[index]
            return CommitResult(
                committed=False,
                violated_cap=cap,
                violated_index=index,
                details={"count": int(result[2]), "limit": cap.limit},
            )
        if outcome == "opted_out" and req.opted_out_replies is not None:
            return CommitResult(
                committed=False,
                opted_out=True,
                details={"sent": int(result[1]), "limit": req.opted_out_replies},
            )
        if outcome == "reply_budget" and req.reply_budget is not None:
            return CommitResult(
                committed=False,
                reply_budget_spent=True,
                details={"sent": int(result[1]), "limit": req.reply_budget},
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

    async def prune(
        self,
        before: datetime,
        *,
        risk_before: datetime | None = None,
        records_before: datetime | None = None,
    ) -> int:
        cutoff = to_epoch(bounded(before))
        risk_cutoff = cutoff if risk_before is None else to_epoch(bounded(risk_before))
        removed = 0
        batch: list[tuple[str, str, str, bool]] = []  # key, mode, value, counted
        with self._guard("prune"):
            async for name in self._r.scan_iter(
                match=f"{_glob_escape(self.prefix)}:{{*", count=1000
            ):
                _, sep, rest = name.partition("}:")
                if not sep:
                    continue
                kind = rest.split(":", 1)[0]
                if kind == "conv":
                    continue  # crisis facts expire minutes after their write, by their TTL
                if kind in _ZSET_KINDS:
                    edge = risk_cutoff if kind in _RISK_KINDS else cutoff
                    batch.append((name, "z", _num(edge), kind in _COUNTED_KINDS))
                else:
                    # Hashes and strings: a TTL for any key still without one.
                    ttl = self.ttls.records if kind in _RECORD_KINDS else EVENT_DEDUPE_TTL
                    batch.append((name, "k", str(_ttl_s(ttl)), False))
                if len(batch) >= 500:
                    removed += await self._trim(batch)
                    batch = []
            if batch:
                removed += await self._trim(batch)
        return removed

    async def _trim(self, batch: list[tuple[str, str, str, bool]]) -> int:
        """One sweep script per key (keys of different users may live in different slots)."""
        async with self._r.pipeline(transaction=False) as pipe:
            for name, mode, value, _ in batch:
                await self._sweep(keys=[name], args=[mode, value], client=pipe)
            counts: list[int] = await pipe.execute()
        return sum(int(n) for (*_, counted), n in zip(batch, counts, strict=True) if counted)

    # -- the notification outbox (one hash tag: one slot, one script per step) -------------

    def _outbox(self, part: str) -> str:
        return f"{self.prefix}:{{outbox}}:{part}"

    async def outbox_put(self, item_id: str, payload_json: str, now: datetime) -> None:
        keys = [self._outbox("due"), self._outbox(f"item:{_q(item_id)}")]
        args: list[str | int] = [_q(item_id), payload_json, _num(to_epoch(now)), _ttl_s(OUTBOX_TTL)]
        with self._guard("outbox_put"):
            await self._outbox_put(keys=keys, args=args)

    async def outbox_claim(
        self, now: datetime, lease: timedelta, token: str, limit: int = 10
    ) -> list[OutboxItem]:
        epoch = to_epoch(now)
        args: list[str | int] = [
            _num(epoch),
            _num(epoch + lease.total_seconds()),
            token,
            limit,
            self._outbox("item:"),
            _ttl_s(OUTBOX_TTL),
        ]
        with self._guard("outbox_claim"):
            flat = await self._outbox_claim(keys=[self._outbox("due")], args=args)
        return [
            OutboxItem(unquote(str(flat[i])), str(flat[i + 1]), int(flat[i + 2]), token)
            for i in range(0, len(flat), 3)
        ]

    async def outbox_settle(self, item_id: str, token: str, retry_at: datetime | None) -> bool:
        keys = [self._outbox("due"), self._outbox(f"item:{_q(item_id)}")]
        when = "" if retry_at is None else _num(to_epoch(retry_at))
        with self._guard("outbox_settle"):
            done = await self._outbox_settle(
                keys=keys, args=[_q(item_id), token, when, _ttl_s(OUTBOX_TTL)]
            )
        return bool(done)

    async def outbox_next_due(self) -> datetime | None:
        with self._guard("outbox_next_due"):
            first = await self._r.zrange(self._outbox("due"), 0, 0, withscores=True)
        return from_epoch(float(first[0][1])) if first else None

    # -- the audit outbox: records kept with their state change until the log has them -----
    # The record lives under the user's hash tag, written in the event's MULTI; its place
    # in the order is reserved just before, in the {auditq} slot (one MULTI cannot span
    # both slots on a Cluster). A place whose record never came (the MULTI failed or was
    # retried under new record ids, the process died) holds the ones after it back for
    # AUDIT_IN_FLIGHT_MS, then is dropped: the order is kept, nothing is lost.

    def _auditq(self, part: str) -> str:
        return f"{self.prefix}:{{auditq}}:{part}"

    async def _reserve_audit(
        self, pipe: Pipeline, tag: str, write: EventWrite, flat: list[str]
    ) -> Sequence[tuple[str, str]]:
        """The event's audit records, their places in the outbox reserved (not in the MULTI)."""
        if write.audit is None:
            return ()
        outcome = None
        if write.consent is not None:
            records = {
                unquote(field): ConsentRecord.decode(value)
                for field, value in zip(flat[0::2], flat[1::2], strict=True)
            }
            outcome = decide_consent(write.consent, records)  # as _queue_consent will
        kept = write.audit(outcome)
        if kept:
            ms = int(time.time() * 1000)
            members = [json.dumps([ms, tag, record_id]) for record_id, _ in kept]
            ttl = _ttl_s(self.ttls.records)
            await pipe.eval(
                _AUDIT_INDEX, 2, self._auditq("seq"), self._auditq("idx"), ttl, *members
            )
        return kept

    def _queue_audit(self, pipe: Pipeline, tag: str, records: Sequence[tuple[str, str]]) -> None:
        if records:
            pipe.hset(f"{tag}:auditq", mapping=dict(records))
            pipe.expire(f"{tag}:auditq", _ttl_s(self.ttls.records))

    async def audit_pending(self, limit: int = 100) -> list[PendingRecord]:
        now_ms = time.time() * 1000  # wall clock, as the reservation's
        with self._guard("audit_pending"):
            members = await self._r.zrange(self._auditq("idx"), 0, limit - 1)
            places = [(str(member), *json.loads(str(member))) for member in members]
            async with self._r.pipeline(transaction=False) as pipe:
                for _, _, tag, record_id in places:
                    pipe.hget(f"{tag}:auditq", record_id)
                bodies = await pipe.execute()
            pending: list[PendingRecord] = []
            for (member, ms, _, record_id), body in zip(places, bodies, strict=True):
                if body is not None:
                    pending.append(PendingRecord(str(record_id), str(body), member))
                elif now_ms - float(ms) > AUDIT_IN_FLIGHT_MS:
                    await self._r.zrem(self._auditq("idx"), member)  # its write never came
                else:
                    break  # still in flight: what follows waits for it
        return pending

    async def audit_done(self, records: Sequence[PendingRecord]) -> None:
        with self._guard("audit_done"):
            async with self._r.pipeline(transaction=False) as pipe:
                for record in records:
                    _, tag, record_id = json.loads(record.handle)
                    pipe.hdel(f"{tag}:auditq", record_id)
                    pipe.zrem(self._auditq("idx"), record.handle)
                await pipe.execute()

    async def user_profile(self, tenant: str, user: str) -> UserProfile:
        with self._guard("user_profile"):
            key = f"{self._tag(tenant, user)}:profile"
            found = cast(dict[str, str], await self._r.hgetall(key))
            age = cast(dict[str, str], await self._r.hgetall(self._age_key(tenant, user)))
        minor = found.get("minor")
        profile = UserProfile(
            jurisdiction=found.get("j") or None,
            jurisdiction_source=cast(ProfileSource | None, found.get("j_src")),
            is_minor=None if minor is None else minor == "1",
            minor_source=cast(ProfileSource | None, found.get("m_src")),
            timezone=found.get("tz") or None,
            timezone_source=cast(ProfileSource | None, found.get("tz_src")),
        )
        return _with_age(profile, age) if age else profile

    def _age_key(self, tenant: str, user: str) -> str:
        return f"{self._tag(tenant, user)}:age"

    async def mark_likely_minor(
        self, tenant: str, user: str, ts: datetime, source: str, cues: tuple[str, ...]
    ) -> bool:
        args: list[str | int] = [
            _num(to_epoch(ts)),
            source,
            ",".join(cues),
            _ttl_s(self.ttls.records),
        ]
        with self._guard("mark_likely_minor"):
            done = await self._r.eval(_MARK_LIKELY_MINOR, 1, self._age_key(tenant, user), *args)
        return bool(done)

    async def assure_age(
        self, tenant: str, user: str, ts: datetime, adult: bool, source: str, method: str | None
    ) -> None:
        args: list[str | int] = [
            _num(to_epoch(ts)),
            "1" if adult else "0",
            source,
            method or "",
            _ttl_s(self.ttls.records),
        ]
        with self._guard("assure_age"):
            await self._r.eval(_ASSURE_AGE, 1, self._age_key(tenant, user), *args)

    async def remember_user(
        self,
        tenant: str,
        user: str,
        jurisdiction: str | None,
        is_minor: bool | None,
        source: ProfileSource,
        timezone: str | None = None,
    ) -> None:
        args = [
            source,
            "" if jurisdiction is None else jurisdiction.upper(),
            "" if is_minor is None else ("1" if is_minor else "0"),
            "" if timezone is None else timezone,
        ]
        with self._guard("remember_user"):
            await self._r.eval(_REMEMBER_USER, 1, f"{self._tag(tenant, user)}:profile", *args)


# KEYS: the user's age key; ARGV: ts, source, cues, TTL s. 1 when the mark was set or moved.
_MARK_LIKELY_MINOR = """
local f = redis.call('HMGET', KEYS[1], 'la', 'aa', 'adult')
local ts = tonumber(ARGV[1])
if f[3] == '1' and f[2] and ts <= tonumber(f[2]) then return 0 end
if f[1] and tonumber(f[1]) <= ts then return 0 end
redis.call('HSET', KEYS[1], 'la', ARGV[1], 'ls', ARGV[2], 'lc', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS: the user's age key; ARGV: ts, adult (1/0), source, method, TTL s
_ASSURE_AGE = """
local f = redis.call('HMGET', KEYS[1], 'la', 'aa')
local ts = tonumber(ARGV[1])
if f[2] and tonumber(f[2]) > ts then return 0 end
if ARGV[2] == '1' and f[1] and tonumber(f[1]) <= ts then
  redis.call('HDEL', KEYS[1], 'la', 'ls', 'lc')
end
redis.call('HSET', KEYS[1], 'aa', ARGV[1], 'adult', ARGV[2], 'as', ARGV[3], 'am', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def _with_age(profile: UserProfile, found: dict[str, str]) -> UserProfile:
    """The profile with the age evidence of the user's ``age`` hash."""
    likely, assured = found.get("la"), found.get("aa")
    return replace(
        profile,
        likely_minor_at=None if likely is None else from_epoch(float(likely)),
        likely_minor_source=found.get("ls") if likely is not None else None,
        likely_minor_cues=tuple(c for c in found.get("lc", "").split(",") if c)
        if likely is not None
        else (),
        age_assured_at=None if assured is None else from_epoch(float(assured)),
        age_assured_adult=None if "adult" not in found else found["adult"] == "1",
        age_assurance_source=found.get("as"),
        age_assurance_method=found.get("am") or None,
    )


_REMEMBER_USER = """
local ingest = ARGV[1] == 'ingest'
if ARGV[2] ~= '' and (ingest or redis.call('HEXISTS', KEYS[1], 'j') == 0) then
  redis.call('HSET', KEYS[1], 'j', ARGV[2], 'j_src', ARGV[1])
end
if ARGV[3] ~= '' and (ingest or ARGV[3] == '1' or redis.call('HEXISTS', KEYS[1], 'minor') == 0) then
  redis.call('HSET', KEYS[1], 'minor', ARGV[3], 'm_src', ARGV[1])
end
if ARGV[4] ~= '' and ingest then
  redis.call('HSET', KEYS[1], 'tz', ARGV[4], 'tz_src', ARGV[1])
end
return 1
"""
