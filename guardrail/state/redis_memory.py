"""Redis: what users confided (categories and times, never words), their wishes about it,
and the erasure of a user. Mixed into :class:`guardrail.state.redis.RedisStore`.

Keys, under the user's hash tag like everything else of the user::

    {prefix}:{T|U}:sens:B     sorted set  category -> latest disclosure to bot B (epoch s)
    {prefix}:{T|U}:topics     hash        "B|category" (B or "*") -> "<state>|<ts>|<source>"

Disclosures live as long as risk signals (their TTL, and the prune's cutoff), preferences
as long as consent records. A preference is written by a script that keeps the later of
two (events may arrive out of order), queued in the event's ``MULTI`` with its other writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import cast
from urllib.parse import quote

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from guardrail.state.base import (
    ALL_TOPICS,
    EventWrite,
    SensitiveMemory,
)
from guardrail.state.common import ALL_BOTS, KeyTtls, to_epoch

# KEYS: the topics hash; ARGV: field, state, ts, source, TTL s
PREFER = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local s1 = string.find(cur, '|', 1, true)
  local s2 = string.find(cur, '|', s1 + 1, true)
  if tonumber(string.sub(cur, s1 + 1, s2 - 1)) > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# KEYS: the consent hash; drops every field but the opt-outs ("out|..."), returns how many
KEEP_OPT_OUTS = """
local dropped = 0
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if string.sub(flat[i + 1], 1, 4) ~= 'out|' then
    redis.call('HDEL', KEYS[1], flat[i])
    dropped = dropped + 1
  end
end
return dropped
"""


def _q(value: str) -> str:
    return quote(value, safe="")


def _ttl_s(seconds: float) -> int:
    return max(1, int(seconds))


class RedisMemory:
    """The :class:`~guardrail.state.base.SensitiveMemoryStore` and
    :class:`~guardrail.state.base.ErasureStore` halves of the Redis store."""

    ttls: KeyTtls
    prefix: str
    _r: aioredis.Redis

    def _guard(self, operation: str) -> AbstractContextManager[None]:
        raise NotImplementedError  # the store's own

    def _tag(self, tenant: str, user: str) -> str:
        raise NotImplementedError  # the store's own

    def memory_keys(self, tag: str, b: str, write: EventWrite) -> dict[str, str]:
        """Keys an event's memory writes touch, with their type (the event's type check)."""
        keys: dict[str, str] = {}
        if write.disclosed:
            keys[f"{tag}:sens:{b}"] = "zset"
        if write.forget:
            keys[f"{tag}:topics"] = "hash"
        return keys

    def queue_memory(self, pipe: Pipeline, tag: str, b: str, epoch: float, w: EventWrite) -> None:
        """Queue an event's disclosures and forget requests in its open ``MULTI``."""
        if w.disclosed:
            key = f"{tag}:sens:{b}"
            pipe.zadd(key, dict.fromkeys(w.disclosed, epoch), gt=True)
            pipe.expire(key, _ttl_s(self.ttls.risk.total_seconds()))
        for category in w.forget:
            args: list[str | int] = [f"{b}|{category}", "forget", repr(epoch), "user",
                                     self._records_ttl()]  # fmt: skip
            pipe.eval(PREFER, 1, f"{tag}:topics", *args)

    def _records_ttl(self) -> int:
        return _ttl_s(self.ttls.records.total_seconds())

    async def sensitive_memory(self, tenant: str, bot: str, user: str) -> SensitiveMemory:
        tag, b = self._tag(tenant, user), _q(bot)
        with self._guard("sensitive_memory"):
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.zrange(f"{tag}:sens:{b}", 0, -1, withscores=True)
                pipe.hgetall(f"{tag}:topics")
                disclosed, topics = await pipe.execute()
        found: list[tuple[str, str, float, str]] = []
        for name, value in cast(dict[str, str], topics).items():
            owner, _, category = name.partition("|")
            if owner not in (b, ALL_BOTS):
                continue
            state, ts, source = value.split("|", 2)
            found.append((category, state, float(ts), source))
        return SensitiveMemory.from_rows(disclosed, found)

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
        epoch = to_epoch(ts)
        tag = self._tag(tenant, user)
        owner = ALL_BOTS if bot is None else _q(bot)
        state = "allow" if allowed else "deny"
        with self._guard("set_follow_ups"):
            async with self._r.pipeline(transaction=True) as pipe:
                for category in categories or (ALL_TOPICS,):
                    args: list[str | int] = [f"{owner}|{category}", state, repr(epoch), source,
                                             self._records_ttl()]  # fmt: skip
                    pipe.eval(PREFER, 1, f"{tag}:topics", *args)
                await pipe.execute()

    async def erase_user(self, tenant: str, user: str) -> int:
        tag = self._tag(tenant, user)
        with self._guard("erase_user"):
            names = [n async for n in self._r.scan_iter(match=f"{_glob(tag)}:*", count=1000)]
            consent = f"{tag}:consent"
            others = [n for n in names if n != consent]
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.eval(KEEP_OPT_OUTS, 1, consent)
                for chunk in _chunks(others, 500):
                    pipe.delete(*chunk)
                counts = await pipe.execute()
        return sum(int(n) for n in counts)


def _glob(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
