"""Per-tenant admission for work one tenant can pile up for everyone (bulk classify).

A tenant may have at most ``limit`` units (texts) in flight at once; a request that
would go over is refused at once (the caller retries later) instead of queueing behind
its own backlog and everyone else's. One process counts its own: each worker of
``serve --workers`` and each replica admits up to the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class QuotaExceeded(Exception):
    """The tenant already has this much in flight; retry when it has drained."""

    def __init__(self, tenant: str, in_flight: int, asked: int, limit: int) -> None:
        super().__init__(
            f"tenant {tenant!r} has {in_flight} text(s) being classified and asks for "
            f"{asked} more; at most {limit} at once"
        )


class TenantQuota:
    """Units in flight per tenant, bounded by ``limit`` (event-loop use: no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight: dict[str, int] = {}

    def in_flight(self, tenant: str) -> int:
        return self._in_flight.get(tenant, 0)

    @contextmanager
    def admit(self, tenant: str, units: int) -> Iterator[None]:
        """Hold ``units`` for ``tenant`` while the block runs; QuotaExceeded when over."""
        held = self.in_flight(tenant)
        if held + units > self.limit:
            raise QuotaExceeded(tenant, held, units, self.limit)
        self._in_flight[tenant] = held + units
        try:
            yield
        finally:
            left = self._in_flight[tenant] - units
            if left:
                self._in_flight[tenant] = left
            else:
                del self._in_flight[tenant]
