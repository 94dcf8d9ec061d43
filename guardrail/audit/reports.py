"""Compliance reports and console charts, computed from the audit records.

Reports hold counts, bots, rule ids, policy versions and times: never a user id, not
even a pseudonym, and never text, so they can be handed to a regulator as they are.
They page through the records of the period (fine for a year of one tenant; a
warehouse is the place for more).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from classifiers.results import MANIPULATION_TACTICS
from guardrail.audit.backend import RecordFilter
from guardrail.audit.records import AuditRecord, iso, parse_iso
from guardrail.audit.trail import AuditTrail

CRISIS_RULES = "crisis*"
"""Crisis rules: ``crisis.*`` and ``crisis_*`` (the resources rule is ``crisis_resources``)."""
MANIPULATION_PREFIX = "manipulation."
DEPENDENCY_RULES = "dependency*"
"""The ``dependency`` rule (lower caps for dependent users) and any ``dependency.*`` family."""
QUIET_HOURS_RULE = "quiet_hours"


def parse_when(value: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time (UTC when it has no offset)."""
    value = value.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))

    def to_json(self) -> dict[str, str | None]:
        return {
            "since": iso(self.since) if self.since else None,
            "until": iso(self.until) if self.until else None,
        }

    def filter(self, tenant: str | None, **narrow: Any) -> RecordFilter:
        return RecordFilter(tenant=tenant, since=self.since, until=self.until, **narrow)


def is_crisis_referral(record: AuditRecord) -> bool:
    """A delivered message (allow or rewrite) that an enforced crisis rule acted on.

    Shadow findings were never enforced and a blocked message reached no one, so neither
    counts as a notification.
    """
    if record.body.get("verdict") not in ("allow", "rewrite"):
        return False
    return any(
        _is_crisis_rule(str(reason.get("rule"))) and reason.get("effect") != "shadow"
        for reason in record.body.get("reasons", [])
    )


def _is_crisis_rule(rule: str) -> bool:
    return rule == "crisis" or rule.startswith(("crisis.", "crisis_"))


def _month(record: AuditRecord) -> str:
    return record.ts.strftime("%Y-%m")


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


async def _records(trail: AuditTrail, flt: RecordFilter) -> AsyncIterator[AuditRecord]:
    async for record in trail.iter_records(flt):
        yield record


async def sb243(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """California SB 243: crisis-referral notifications in the period and the protocol.

    A referral is a delivered decision on which a crisis rule (``crisis.*`` or
    ``crisis_*``, e.g. ``crisis_resources``) acted; see :func:`is_crisis_referral`.
    """
    by_bot: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    total = 0
    async for record in _records(trail, period.filter(tenant, rule=CRISIS_RULES)):
        if not is_crisis_referral(record):
            continue
        total += 1
        by_bot[str(record.body.get("bot"))] += 1
        by_month[_month(record)] += 1
        for rule in set(record.body.get("rules", [])):
            if _is_crisis_rule(rule):
                by_rule[rule] += 1
    return {
        "report": "sb243",
        "tenant": tenant,
        "period": period.to_json(),
        "crisis_referrals": {
            "total": total,
            "by_bot": _sorted(by_bot),
            "by_month": _sorted(by_month),
            "by_rule": _sorted(by_rule),
        },
        "protocol": await _protocol(trail, tenant, period),
        "crises": await _crises(trail, tenant, period),
        "note": (
            "Crisis-referral notifications are delivered messages (allow or rewrite) to which "
            "an enforced crisis rule (rule id 'crisis.*' or 'crisis_*', such as "
            "crisis_resources, which adds the crisis line of the user's locale) applied."
        ),
    }


async def _crises(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """User messages that started the crisis protocol, and how many were imminent (an act
    under way or within hours, means at hand, a goodbye: emergency numbers first)."""
    by_level: Counter[str] = Counter()
    by_bot: Counter[str] = Counter()
    imminent_by_bot: Counter[str] = Counter()
    total = imminent = notified = 0
    async for record in _records(trail, period.filter(tenant, types=("crisis",))):
        total += 1
        by_level[str(record.body.get("level"))] += 1
        by_bot[str(record.body.get("bot"))] += 1
        notified += bool(record.body.get("review_notified"))
        if record.body.get("imminent"):
            imminent += 1
            imminent_by_bot[str(record.body.get("bot"))] += 1
    return {
        "total": total,
        "imminent": imminent,
        "review_notified": notified,
        "by_level": _sorted(by_level),
        "by_bot": _sorted(by_bot),
        "imminent_by_bot": _sorted(imminent_by_bot),
    }


async def _protocol(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Policies in force: the one loaded before the period, reloads in it, and every
    policy version that decided something in it."""
    reloads: list[dict[str, Any]] = []
    at_start: dict[str, Any] | None = None
    loads = RecordFilter(tenant=tenant, include_global=True, types=("policy_reload",))
    async for record in _records(trail, loads):
        entry = {k: record.body.get(k) for k in ("ts", "policy", "policy_version", "reason")}
        if period.since is not None and record.ts < period.since:
            at_start = entry
        elif period.until is None or record.ts < period.until:
            reloads.append(entry)
    versions: dict[tuple[str, str], dict[str, Any]] = {}
    async for record in _records(trail, period.filter(tenant)):
        key = (str(record.body.get("policy")), str(record.body.get("policy_version")))
        ts = str(record.body["ts"])
        seen = versions.setdefault(
            key,
            {"policy": key[0], "policy_version": key[1], "first": ts, "last": ts, "decisions": 0},
        )
        seen["first"], seen["last"] = min(seen["first"], ts), max(seen["last"], ts)
        seen["decisions"] += 1
    return {
        "in_force_at_start": at_start,
        "reloads": reloads,
        "versions_used": sorted(versions.values(), key=lambda v: (v["first"], v["policy"])),
    }


async def opt_outs(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Every opt-out with the time the platform received it and the time it was honoured."""
    items: list[dict[str, Any]] = []
    by_bot: Counter[str] = Counter()
    by_scope: Counter[str] = Counter()
    opt_ins = 0
    async for record in _records(trail, period.filter(tenant, types=("consent",))):
        body = record.body
        if body.get("action") != "opt_out":
            opt_ins += 1
            continue
        received, honoured = parse_iso(body["received_at"]), parse_iso(body["honoured_at"])
        items.append(
            {
                "bot": body.get("bot"),
                "scope": body.get("scope"),
                "source": body.get("source"),
                "channel": body.get("channel"),
                "received_at": body["received_at"],
                "honoured_at": body["honoured_at"],
                "delay_seconds": round((honoured - received).total_seconds(), 3),
            }
        )
        by_bot[str(body.get("bot"))] += 1
        by_scope[str(body.get("scope"))] += 1
    delays = [item["delay_seconds"] for item in items]
    return {
        "report": "opt-outs",
        "tenant": tenant,
        "period": period.to_json(),
        "total": len(items),
        "by_bot": _sorted(by_bot),
        "by_scope": _sorted(by_scope),
        "opt_ins": opt_ins,
        "delay_seconds": {
            "max": max(delays) if delays else None,
            "median": statistics.median(delays) if delays else None,
        },
        "items": items,
    }


async def quiet_hours(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Proactive messages deferred by quiet hours."""
    by_bot: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    flt = period.filter(tenant, rule=QUIET_HOURS_RULE, verdict="defer")
    async for record in _records(trail, flt):
        by_bot[str(record.body.get("bot"))] += 1
        by_month[_month(record)] += 1
    return {
        "report": "quiet-hours",
        "tenant": tenant,
        "period": period.to_json(),
        "deferrals": sum(by_bot.values()),
        "by_bot": _sorted(by_bot),
        "by_month": _sorted(by_month),
    }


def _tactics(reason: dict[str, Any]) -> list[str]:
    """Tactics of a manipulation reason: ``manipulation.<tactic>`` rule ids, or the
    ``manipulation`` rule's ``labels``; records written before reasons had labels name
    them in the detail (``manipulative: fomo_hook, ...``)."""
    rule = str(reason.get("rule"))
    if rule.startswith(MANIPULATION_PREFIX):
        return [rule.removeprefix(MANIPULATION_PREFIX)]
    if rule != "manipulation":
        return []
    labels = [str(label) for label in reason.get("labels") or ()]
    if labels:
        return labels
    detail = str(reason.get("detail", ""))
    return [t for t in MANIPULATION_TACTICS if t in detail] or ["unnamed"]


async def manipulation(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Messages blocked for manipulation, by tactic (a message may carry several) and by bot."""
    blocks: Counter[tuple[str, str]] = Counter()
    by_bot: Counter[str] = Counter()
    other: Counter[str] = Counter()
    decisions = 0
    async for record in _records(trail, period.filter(tenant, rule="manipulation*")):
        bot = str(record.body.get("bot"))
        blocked = record.body.get("verdict") == "block"
        decisions += blocked
        tactics: set[str] = set()
        for reason in record.body.get("reasons", []):
            for tactic in _tactics(reason):
                if blocked and reason.get("effect") == "block":
                    tactics.add(tactic)
                else:
                    other[str(reason.get("effect"))] += 1
        for tactic in tactics:
            blocks[(tactic, bot)] += 1
        by_bot[bot] += bool(tactics)  # messages, however many tactics each carried
    by_tactic: Counter[str] = Counter()
    for (tactic, _bot), count in blocks.items():
        by_tactic[tactic] += count
    return {
        "report": "manipulation",
        "tenant": tenant,
        "period": period.to_json(),
        "blocked_messages": decisions,
        "blocks_by_tactic": _sorted(by_tactic),
        "blocks_by_bot": _sorted(by_bot),
        "blocks_by_tactic_and_bot": [
            {"tactic": tactic, "bot": bot, "count": count}
            for (tactic, bot), count in sorted(blocks.items())
        ],
        "other_effects": _sorted(other),
    }


async def toxicity(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Activations of the ``toxicity`` rule, by label (a message may carry several), by bot
    and by effect (block, rewrite, review/info)."""
    by_label_bot: Counter[tuple[str, str]] = Counter()
    by_bot: Counter[str] = Counter()
    by_effect: Counter[str] = Counter()
    messages = 0
    async for record in _records(trail, period.filter(tenant, rule="toxicity")):
        bot = str(record.body.get("bot"))
        hit = False
        for reason in record.body.get("reasons", []):
            if reason.get("rule") != "toxicity" or "unavailable" in str(reason.get("detail")):
                continue
            hit = True
            by_effect[str(reason.get("effect"))] += 1
            for label in reason.get("labels") or ["unnamed"]:
                by_label_bot[(str(label), bot)] += 1
        messages += hit
        by_bot[bot] += hit
    by_label: Counter[str] = Counter()
    for (label, _bot), count in by_label_bot.items():
        by_label[label] += count
    return {
        "report": "toxicity",
        "tenant": tenant,
        "period": period.to_json(),
        "messages": messages,
        "by_label": _sorted(by_label),
        "by_bot": _sorted(+by_bot),
        "by_label_and_bot": [
            {"label": label, "bot": bot, "count": count}
            for (label, bot), count in sorted(by_label_bot.items())
        ],
        "by_effect": _sorted(by_effect),
    }


async def dependency(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Activations of the dependency rules (``dependency``, ``dependency.*``), any effect."""
    by_rule: Counter[str] = Counter()
    by_bot: Counter[str] = Counter()
    by_effect: Counter[str] = Counter()
    async for record in _records(trail, period.filter(tenant, rule=DEPENDENCY_RULES)):
        for reason in record.body.get("reasons", []):
            rule = str(reason.get("rule"))
            if rule == "dependency" or rule.startswith("dependency."):
                by_rule[rule] += 1
                by_bot[str(record.body.get("bot"))] += 1
                by_effect[str(reason.get("effect"))] += 1
    return {
        "report": "dependency",
        "tenant": tenant,
        "period": period.to_json(),
        "activations": sum(by_rule.values()),
        "by_rule": _sorted(by_rule),
        "by_bot": _sorted(by_bot),
        "by_effect": _sorted(by_effect),
    }


SENSITIVE_RULE = "sensitive_reference"


def sensitive_outcome(reason: dict[str, Any]) -> str | None:
    """What the ``sensitive_reference`` rule did with one message (None: no reference)."""
    effect, detail = str(reason.get("effect")), str(reason.get("detail"))
    if "unavailable" in detail:
        return None
    if "asked this bot to forget" in detail:
        return f"forgotten_{effect}"
    if effect == "info":
        if detail.startswith("review:"):
            return "review"
        return "consented" if "welcomed personal follow-ups" in detail else "recorded"
    return {"rewrite": "opener", "block": "blocked"}.get(effect, effect)


async def sensitive(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """References to a special category (``sensitive_reference``), by bot, category and
    outcome: sent as the neutral opener, blocked, sent for review, recorded, let through on
    the user's follow-up consent, refused because the user asked the bot to forget it. The
    categories are counts: neither the reports nor the records they read hold the words."""
    counts: Counter[tuple[str, str, str]] = Counter()
    messages = 0
    async for record in _records(trail, period.filter(tenant, rule=SENSITIVE_RULE)):
        bot = str(record.body.get("bot"))
        hit = False
        for reason in record.body.get("reasons", []):
            outcome = sensitive_outcome(reason) if reason.get("rule") == SENSITIVE_RULE else None
            if outcome is None:
                continue
            hit = True
            for category in reason.get("labels") or ["unnamed"]:
                counts[(bot, str(category), outcome)] += 1
        messages += hit
    by: dict[str, Counter[str]] = {"bot": Counter(), "category": Counter(), "outcome": Counter()}
    for (bot, category, outcome), n in counts.items():
        by["bot"][bot] += n
        by["category"][category] += n
        by["outcome"][outcome] += n
    return {
        "report": "sensitive",
        "tenant": tenant,
        "period": period.to_json(),
        "messages": messages,
        "by_bot": _sorted(by["bot"]),
        "by_category": _sorted(by["category"]),
        "by_outcome": _sorted(by["outcome"]),
        "by_bot_category_outcome": [
            {"bot": bot, "category": category, "outcome": outcome, "count": n}
            for (bot, category, outcome), n in sorted(counts.items())
        ],
    }


Report = Callable[[AuditTrail, str | None, Period], Awaitable[dict[str, Any]]]

REPORTS: dict[str, Report] = {
    "sb243": sb243,
    "opt-outs": opt_outs,
    "quiet-hours": quiet_hours,
    "manipulation": manipulation,
    "dependency": dependency,
    "toxicity": toxicity,
    "sensitive": sensitive,
}


async def stats(
    trail: AuditTrail, tenant: str | None, period: Period, *, bot: str | None = None
) -> dict[str, Any]:
    """What the console charts: verdicts per day, the most frequent rules, crisis
    referrals per month."""
    days: dict[str, Counter[str]] = {}
    rules: Counter[str] = Counter()
    crisis: Counter[str] = Counter()
    total = 0
    async for record in _records(trail, period.filter(tenant, bot=bot)):
        total += 1
        day = record.ts.strftime("%Y-%m-%d")
        days.setdefault(day, Counter())[str(record.body.get("verdict"))] += 1
        fired = set(record.body.get("rules", []))
        rules.update(fired)
        if is_crisis_referral(record):
            crisis[_month(record)] += 1
    verdicts = ("allow", "rewrite", "defer", "block")
    return {
        "total": total,
        "verdicts_by_day": [
            {"day": day, **{v: days[day][v] for v in verdicts}} for day in sorted(days)
        ],
        "top_rules": [{"rule": r, "count": c} for r, c in rules.most_common(10)],
        "crisis_by_month": [{"month": m, "count": c} for m, c in sorted(crisis.items())],
    }
