"""A user's jurisdiction, minor status and time zone, kept with the user record once known.

The bot is not trusted to re-describe a user on every request: it could pick the mildest
policy by leaving the facts out or changing them. So the first time the platform (an
event, with ``ingest`` weight) or a request (``bot`` weight) says where the user is or
that they are a minor, the store remembers it, and later requests are decided with the
recorded facts. Platform evidence may correct a record; the bot may only fill gaps, or
mark a user a minor (the stricter answer). A time zone is recorded from platform evidence
only. See the README.

A claim that conflicts with the evidence (the record, the country of a phone-number user
id) is not simply ignored: the strictest reading decides. A minor on either side is a
minor; of the jurisdictions the claim and the evidence give, the one whose policy is the
strictest (:func:`choose_strictest`); a zone, in the quiet-hours rule (quiet in any).
Each conflict is noted in the decision's reasons.
"""

from __future__ import annotations

import logging

from guardrail.evidence import UserEvidence
from guardrail.gateway import Gateway
from guardrail.models import Event, OutreachRequest, UserContext
from guardrail.policy.policyset import PolicySet, Selection
from guardrail.service.errors import STORE_UNAVAILABLE, Unavailable
from guardrail.state.base import ProfileSource, StoreUnavailable, UserProfile
from guardrail.timezones import phone_region

log = logging.getLogger("guardrail")

INGEST_ROLES = frozenset({"ingest", "admin"})
"""Keys whose word on a user counts as platform evidence; a bot key's counts as a claim."""


def effective(
    profile: UserProfile, claim: UserContext, region: str | None = None
) -> tuple[UserContext, list[str], list[str]]:
    """The user as the decision sees them, notes for the decision's reasons where claim and
    evidence disagree, and the other jurisdictions a conflict leaves in play (the decision
    takes the strictest; see :func:`choose_strictest`). ``region``: the country of a
    phone-number user id."""
    notes: list[str] = []
    jurisdiction = claim.jurisdiction.upper() if claim.jurisdiction else None
    others: list[str] = []
    if profile.jurisdiction is not None:
        if jurisdiction is not None and jurisdiction != profile.jurisdiction:
            others.append(jurisdiction)
            notes.append(
                f"the request says jurisdiction {jurisdiction}; the user record says "
                f"{profile.jurisdiction} (from {profile.jurisdiction_source}): the stricter "
                "of the two decides"
            )
        jurisdiction = profile.jurisdiction
    if region is not None and jurisdiction is not None and not _within(jurisdiction, region):
        others.append(region)
        notes.append(
            f"the user's phone number is from {region}, not {jurisdiction}: the strictest "
            "policy of the two decides"
        )
    minor = claim.is_minor
    if profile.is_minor is True or claim.is_minor is True:
        if claim.is_minor is False:
            notes.append(
                f"the request says the user is an adult; the user record says minor "
                f"(from {profile.minor_source}), which decides"
            )
        elif claim.is_minor is True and profile.is_minor is False:
            notes.append(
                f"the request says the user is a minor; the user record says adult (from "
                f"{profile.minor_source}): decided as for a minor (the stricter reading)"
            )
        minor = True
    elif profile.is_minor is not None:
        minor = profile.is_minor
    user = claim.model_copy(update={"jurisdiction": jurisdiction, "is_minor": minor})
    return user, notes, [j for j in dict.fromkeys(others) if j != jurisdiction]


def _within(jurisdiction: str, region: str) -> bool:
    """``US-CA`` is within ``US``; ``FR`` is not within ``JP``."""
    return jurisdiction == region or jurisdiction.startswith(f"{region}-")


def choose_strictest(
    policies: PolicySet, tenant: str, req: OutreachRequest, others: list[str]
) -> tuple[Selection, list[str]]:
    """The policy for ``req``, or, when a conflict leaves other jurisdictions in play, the
    strictest one any of them selects (ties: the request's own, which is the record's)."""
    best = policies.choose(tenant, req)
    if not others:
        return best, []
    chosen = req.user.jurisdiction
    for jurisdiction in others:
        probe = req.model_copy(
            update={"user": req.user.model_copy(update={"jurisdiction": jurisdiction})}
        )
        found = policies.choose(tenant, probe)
        if found.loaded.policy.strictness > best.loaded.policy.strictness:
            best, chosen = found, jurisdiction
    policy, every = best.loaded.policy, ", ".join([str(req.user.jurisdiction), *others])
    return best, [
        f"decided as for jurisdiction {chosen}: policy {policy.name} (strictness "
        f"{policy.strictness}) is the strictest of {every}"
    ]


def evidence_of(profile: UserProfile) -> UserEvidence:
    """What the record holds on platform evidence, for the rules that check claims."""
    return UserEvidence(timezone=profile.timezone, timezone_source=profile.timezone_source)


def news(profile: UserProfile, claim: UserContext) -> bool:
    """Whether a bot's claim adds something the record would keep (see remember_user)."""
    new_place = claim.jurisdiction is not None and profile.jurisdiction is None
    new_minor = claim.is_minor is not None and profile.is_minor is None
    now_minor = claim.is_minor is True and profile.is_minor is not True
    return new_place or new_minor or now_minor


def region_of(req: OutreachRequest) -> str | None:
    """The country of a phone-number user id, if it is one."""
    return phone_region(req.user_id, req.channel)


async def remember_user(gateway: Gateway, tenant: str, event: Event, role: str) -> None:
    """Record the user facts an event carries (Unavailable when the store cannot, so the
    sender retries); a zone only on platform evidence."""
    source: ProfileSource = "ingest" if role in INGEST_ROLES else "bot"
    zone = event.timezone if source == "ingest" else None
    try:
        await gateway.store.remember_user(
            tenant, event.user_id, event.jurisdiction, event.is_minor, source, zone
        )
    except StoreUnavailable as exc:
        log.warning("user facts of bot %s not recorded: %s", event.bot_id, exc)
        raise Unavailable(STORE_UNAVAILABLE) from exc
