"""A user's jurisdiction and minor status, kept with the user record once known.

The bot is not trusted to re-describe a user on every request: it could pick the mildest
policy by leaving the facts out or changing them. So the first time the platform (an
event, with ``ingest`` weight) or a request (``bot`` weight) says where the user is or
that they are a minor, the store remembers it, and later requests are decided with the
recorded facts: a different jurisdiction claimed by the bot is ignored, and a recorded
minor stays a minor whatever the bot says. Platform evidence may correct a record; the
bot may only fill gaps, or mark a user a minor (the stricter answer). See the README.
"""

from __future__ import annotations

import logging

from guardrail.gateway import Gateway
from guardrail.models import Event, UserContext
from guardrail.service.errors import STORE_UNAVAILABLE, Unavailable
from guardrail.state.base import ProfileSource, StoreUnavailable, UserProfile

log = logging.getLogger("guardrail")

INGEST_ROLES = frozenset({"ingest", "admin"})
"""Keys whose word on a user counts as platform evidence; a bot key's counts as a claim."""


def effective(profile: UserProfile, claim: UserContext) -> tuple[UserContext, list[str]]:
    """The user as the decision sees them: the record first, the claim where it is silent;
    and notes for the decision's reasons where the two disagree."""
    notes: list[str] = []
    jurisdiction = claim.jurisdiction
    if profile.jurisdiction is not None:
        if claim.jurisdiction is not None and claim.jurisdiction.upper() != profile.jurisdiction:
            notes.append(
                f"the request says jurisdiction {claim.jurisdiction}; the user record says "
                f"{profile.jurisdiction} (from {profile.jurisdiction_source}), which decides"
            )
        jurisdiction = profile.jurisdiction
    minor = claim.is_minor
    if profile.is_minor is True or claim.is_minor is True:
        if claim.is_minor is False:
            notes.append(
                f"the request says the user is an adult; the user record says minor "
                f"(from {profile.minor_source}), which decides"
            )
        minor = True
    elif profile.is_minor is not None:
        minor = profile.is_minor
    user = claim.model_copy(update={"jurisdiction": jurisdiction, "is_minor": minor})
    return user, notes


def news(profile: UserProfile, claim: UserContext) -> bool:
    """Whether a bot's claim adds something the record would keep (see remember_user)."""
    new_place = claim.jurisdiction is not None and profile.jurisdiction is None
    new_minor = claim.is_minor is not None and profile.is_minor is None
    now_minor = claim.is_minor is True and profile.is_minor is not True
    return new_place or new_minor or now_minor


async def remember_user(gateway: Gateway, tenant: str, event: Event, role: str) -> None:
    """Record the user facts an event carries (Unavailable when the store cannot, so the
    sender retries)."""
    source: ProfileSource = "ingest" if role in INGEST_ROLES else "bot"
    try:
        await gateway.store.remember_user(
            tenant, event.user_id, event.jurisdiction, event.is_minor, source
        )
    except StoreUnavailable as exc:
        log.warning("user facts of bot %s not recorded: %s", event.bot_id, exc)
        raise Unavailable(STORE_UNAVAILABLE) from exc
