"""What a user wants done with what they confided: follow-up consent, and erasure.

Both speak for the user, so both need platform or operator evidence (an ``ingest`` or
``admin`` key): a bot's key may neither open the door to personal follow-ups about a
special category nor erase the record that restrains it.

- :func:`set_follow_ups`: personal follow-ups about some categories welcome (or no longer)
  with one bot or every bot of the tenant; the ``sensitive_reference`` rule lets those
  categories through when its policy says ``allow_consented`` (never for a known minor).
- :func:`erase`: a user's right to erasure in guardrail: every piece of state about the user
  goes (``ErasureStore.erase_user``) but the opt-out records, and the erasure itself is
  appended to the audit log, whose chain keeps its pseudonyms and holds no text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from classifiers.results import SENSITIVE_CATEGORIES
from guardrail.audit import AuditUnavailable
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.service.access import authorise_bot, evidence_role, require_role
from guardrail.service.errors import STORE_UNAVAILABLE, Invalid, Unavailable
from guardrail.state.base import ALL_TOPICS, StoreUnavailable
from guardrail.state.common import TimestampOutOfRange

log = logging.getLogger("guardrail")

USER_ROLES = ("ingest", "admin")
"""Keys that speak for the user (the platform's side, the tenant's admin; an operator
key passes as an admin)."""


@dataclass(frozen=True)
class FollowUps:
    bot_id: str | None
    categories: tuple[str, ...]
    allowed: bool
    source: str


@dataclass(frozen=True)
class Erasure:
    removed: int
    audit_id: str | None


async def set_follow_ups(
    gateway: Gateway,
    principal: Principal,
    user_id: str,
    *,
    bot_id: str | None,
    categories: Sequence[str],
    allowed: bool,
    ts: datetime | None = None,
) -> FollowUps:
    """Record the user's personal-follow-up consent; Forbidden for a bot's key."""
    require_role(principal, *USER_ROLES)
    if bot_id is not None:
        authorise_bot(gateway, principal, bot_id, roles=USER_ROLES)
    unknown = sorted(set(categories) - set(SENSITIVE_CATEGORIES) - {ALL_TOPICS})
    if unknown:
        raise Invalid(f"unknown categories {unknown}; known: {list(SENSITIVE_CATEGORIES)}",
                      field="categories")  # fmt: skip
    chosen = tuple(dict.fromkeys(categories)) or (ALL_TOPICS,)
    try:
        await gateway.store.set_follow_ups(
            principal.tenant, bot_id, user_id, chosen, allowed, ts or gateway.clock(),
            evidence_role(principal),
        )  # fmt: skip
    except TimestampOutOfRange as exc:
        raise Invalid(str(exc), field="ts") from exc
    except StoreUnavailable as exc:
        log.warning("follow-up consent not recorded: %s", exc)
        raise Unavailable(STORE_UNAVAILABLE) from exc
    return FollowUps(bot_id, chosen, allowed, evidence_role(principal))


async def erase(gateway: Gateway, principal: Principal, user_id: str) -> Erasure:
    """Erase the user's state of the key's tenant (the opt-out stays), then record it."""
    require_role(principal, *USER_ROLES)
    try:
        removed = await gateway.store.erase_user(principal.tenant, user_id)
    except StoreUnavailable as exc:
        log.warning("erasure not done: %s", exc)
        raise Unavailable(STORE_UNAVAILABLE) from exc
    try:
        record = await gateway.audit.record_erasure(
            principal.tenant, user_id, removed=removed, actor=principal.name, via=principal.role
        )
    except AuditUnavailable as exc:  # erased; the record is what is missing: say so, retry
        log.error("erasure done but not recorded: %s", exc)
        raise Unavailable(
            "erased, but the audit log is unavailable and the erasure is not recorded; "
            "retry (erasing again is harmless)"
        ) from exc
    return Erasure(removed, None if record is None else record.id)
