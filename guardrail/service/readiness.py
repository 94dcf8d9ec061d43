"""Whether the state store may be trusted with opt-outs: checked at start and by /readyz.

A Redis with a memory limit and an LRU policy (the default of several managed offerings)
evicts keys under load, and an evicted opt-out is a user messaged again after STOP. So the
gateway refuses to start on a store that says it may drop keys (:meth:`~guardrail.state.
base.Durability.durability`), and ``/readyz`` fails while it does, unless the operator set
``redis_allow_eviction: true`` (then it is logged, once at start).
"""

from __future__ import annotations

import logging

from guardrail.gateway import Gateway
from guardrail.state.base import StoreUnavailable

log = logging.getLogger("guardrail")


class UnsafeStore(RuntimeError):
    """The store may drop what it keeps (opt-outs included); the gateway will not start."""


async def store_problem(gateway: Gateway) -> str | None:
    """Why the store may not be trusted with opt-outs, unless the operator accepted it;
    None when it may. Raises StoreUnavailable when the store cannot be asked."""
    problem = await gateway.store.durability()
    if problem is None or gateway.settings.redis_allow_eviction:
        return None
    return problem


async def refuse_unsafe_store(gateway: Gateway) -> None:
    """At start: UnsafeStore when the store may evict opt-outs. A store that cannot be
    reached yet is no reason to refuse (``/readyz`` says so, and checks again)."""
    try:
        problem = await gateway.store.durability()
    except StoreUnavailable as exc:
        log.warning("could not check the state store at start: %s", exc)
        return
    if problem is None:
        return
    if gateway.settings.redis_allow_eviction:
        log.warning("redis_allow_eviction is set: %s", problem)
        return
    raise UnsafeStore(f"refusing to start: {problem}")
