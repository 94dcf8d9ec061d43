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

A user whose own message gave a minor away (the ``minor`` signal on user messages, see
:mod:`guardrail.service.ingest`) carries a likely-minor mark: a "reason to believe" (Oregon
SB 1546), decided as a minor by every policy. Neither the bot's word nor a platform's plain
``is_minor: false`` clears it: only the operator's age assurance (``age_assurance`` on an
event from an ingest or admin key) does, for the evidence dated before it.
"""

from __future__ import annotations

import logging

from guardrail.evidence import UserEvidence
from guardrail.gateway import Gateway
from guardrail.models import Event, OutreachRequest, UserContext
from guardrail.policy.policyset import PolicySet, Selection
from guardrail.service.errors import STORE_UNAVAILABLE, Forbidden, Unavailable
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
    if profile.likely_minor and minor is not True:
        notes.append(likely_minor_note(profile, claim))
        minor = True
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


def likely_minor_note(profile: UserProfile, claim: UserContext) -> str:
    """Why a user no one said was a minor is decided as one: the mark and its evidence."""
    at = profile.likely_minor_at.isoformat() if profile.likely_minor_at else "?"
    cues = ", ".join(profile.likely_minor_cues) or "minor signal"
    said = "the request says the user is an adult; " if claim.is_minor is False else ""
    return (
        f"{said}the user record marks a likely minor ({cues}, in a user message of {at}, "
        f"on the word of {profile.likely_minor_source}): decided as a minor until the "
        "operator's age assurance says otherwise"
    )


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
    sender retries); a zone only on platform evidence; Forbidden for age assurance from a
    key that may not give it."""
    source: ProfileSource = "ingest" if role in INGEST_ROLES else "bot"
    zone = event.timezone if source == "ingest" else None
    assurance = event.age_assurance
    if assurance is not None and source != "ingest":
        raise Forbidden(
            "age_assurance is the operator's evidence: post it with an ingest or admin key. A "
            "bot key may not clear what the user's own words said (a likely minor stays one)"
        )
    try:
        minor = event.is_minor
        if assurance is not None:  # the operator's verdict on the age is also minor status
            minor = not assurance.verified_adult
        if event.jurisdiction is not None or minor is not None or zone:
            await gateway.store.remember_user(
                tenant, event.user_id, event.jurisdiction, minor, source, zone
            )
        if assurance is not None:
            await gateway.store.assure_age(
                tenant, event.user_id, event.ts, assurance.verified_adult, role,
                assurance.method,
            )  # fmt: skip
    except StoreUnavailable as exc:
        log.warning("user facts of bot %s not recorded: %s", event.bot_id, exc)
        raise Unavailable(STORE_UNAVAILABLE) from exc
