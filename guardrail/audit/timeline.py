"""One user's history as the audit log holds it: what the console's timeline sums up.

The records of one pseudonym in one tenant (decisions, consent changes, crises,
deliveries, review notices, an erasure) are read oldest first and summed up: how many of
each, the verdicts, the crises and the highest level among them, and the last applied
consent change per bot and scope (what stands now). Like the reports, the summary holds no text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from guardrail.audit.backend import RecordFilter
from guardrail.audit.trail import AuditTrail

RISK_ORDER = ("indicator", "ideation", "behavior", "attempt")
"""Crisis levels from the lowest; a level not listed ranks above them (a newer, graver one)."""


def _rank(level: str) -> int:
    return RISK_ORDER.index(level) if level in RISK_ORDER else len(RISK_ORDER)


async def user_summary(trail: AuditTrail, flt: RecordFilter) -> dict[str, Any]:
    """The summary of every record ``flt`` selects (one user's, in one tenant)."""
    by_type: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    consent: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    first = last = highest = None
    crises = 0
    async for record in trail.iter_records(flt):
        body = record.body
        by_type[record.type] += 1
        first = first or str(body["ts"])
        last = str(body["ts"])
        if record.type == "decision":
            verdicts[str(body.get("verdict"))] += 1
        elif record.type == "crisis":
            crises += 1
            level = str(body.get("level"))
            if highest is None or _rank(level) >= _rank(highest):
                highest = level
        elif record.type == "consent" and body.get("applied") is not False:
            key = (body.get("bot"), body.get("scope"))  # a refused opt-in changed nothing
            consent[key] = {
                "bot": body.get("bot"),
                "scope": body.get("scope"),
                "action": body.get("action"),
                "at": str(body["ts"]),
            }
    return {
        "records": sum(by_type.values()),
        "first": first,
        "last": last,
        "by_type": dict(sorted(by_type.items())),
        "verdicts": dict(sorted(verdicts.items())),
        "crises": crises,
        "highest_risk": highest,
        "consent": sorted(consent.values(), key=lambda c: (str(c["bot"]), str(c["scope"]))),
    }
