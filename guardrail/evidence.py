"""What evidence, not the bot, says of the user a message goes to.

A request's ``user`` block is the bot's claim, and the bot is the party the rules
restrain: it could claim a time zone where it is day to dodge quiet hours. Rules hold
such claims against evidence: the user id itself when it is a phone number (its zones and
country, :mod:`guardrail.timezones`), and what the platform or an ingest key recorded
earlier (:mod:`guardrail.service.profile`), carried here. A claim that conflicts with
the evidence gets the strictest reading, and the decision says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserEvidence:
    """The user facts on record from platform evidence, for rules that check claims."""

    timezone: str | None = None
    """The user's IANA zone as the platform or an ingest key reported it."""
    timezone_source: str | None = None
    """Who reported it (``ingest``: a signed webhook, an ingest or admin key)."""


NO_EVIDENCE = UserEvidence()
