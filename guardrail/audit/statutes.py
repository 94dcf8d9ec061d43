"""Reports each companion-chatbot statute asks for, from the audit log: crisis referrals by
period and type, with the protocol text, and the AI disclosures given.

- ``ca-sb243-osp``: California Bus. & Prof. Code § 22603: from 2027-07-01, yearly, to the
  Office of Suicide Prevention: (a)(1) the number of crisis service provider referral
  notifications of the preceding calendar year, (a)(2)-(3) two protocols; (b) nothing else,
  no identifiers or personal information. The ``submission`` object holds exactly that.
- ``wa-hb2225``: Washington HB 2225 Sec. 5 (UNVERIFIED, secondary sources): public, yearly,
  the number of crisis referral notifications and the protocol (by type: not known to be
  required; given since eating disorders are named).
- ``or-sb1546``: Oregon SB 1546 (UNVERIFIED: introduced digest): a yearly public report of
  incidents in which the operator referred a user to resources (the same numbers serve an
  Oregon Health Authority submission, which one source names).
- ``disclosures``: AI disclosures given, by policy, trigger, audience and month.

A referral counts where the statute reaches: a delivered decision (allow or rewrite) on
which an enforced crisis rule acted (``reports.is_crisis_referral``), for a user whose
jurisdiction (the decision's ``user_context``) is the statute's state. Its type is the
severity the referral answered (the ``crisis_resources`` reason's label: indicator,
ideation, behavior, attempt); decisions recorded before reasons carried it count as
``unknown``. Like every report: counts and policy versions, never a user or a text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from guardrail.audit.records import AuditRecord
from guardrail.audit.reports import (
    CRISIS_RULES,
    Period,
    Report,
    _is_crisis_rule,
    _month,
    _protocol,
    _records,
    _sorted,
    is_crisis_referral,
)
from guardrail.audit.reports import REPORTS as BASE_REPORTS
from guardrail.audit.trail import AuditTrail

SIGNAL_TYPES: Final = {
    "attempt": "suicide_attempt",
    "behavior": "self_harm_or_suicidal_behavior",
    "ideation": "suicidal_ideation",
    "indicator": "risk_indicator_incl_disordered_eating",
}
"""Referral types by the C-SSRS level the referral answered (the crisis lexicon and heads
grade on that scale; disordered eating is an indicator-level category)."""

DETECTION = (
    "User messages are assessed as they arrive for suicidal ideation, suicidal behaviour, "
    "self-harm and disordered eating, on the Columbia scale (C-SSRS): an English and French "
    "crisis lexicon fused with trained classifier heads on a multilingual sentence encoder "
    "(evidence-based grading: the Columbia Suicide Severity Rating Scale levels). A signal at "
    "the policy's level is recorded with the user (risk data kept for a limited time), counted, "
    "logged in a tamper-evident audit log (without the text) and sent to the operator's "
    "reviewers."
)
RESPONSE = (
    "After a signal, the next message the companion sends the user carries a referral to "
    "crisis service providers for the user's jurisdiction (in the United States the 988 "
    "Suicide and Crisis Lifeline, call or text, and a crisis text line), and engagement "
    "outreach is held: only replies go out, for a set period."
)
PREVENTION = (
    "Every message of the companion is checked before it is sent: a lexicon floor, always "
    "on, and a trained classifier block messages that encourage, instruct or romanticise "
    "suicide, self-harm or disordered eating; they are never delivered. A message that "
    "cannot be checked because a component is down fails closed for outreach."
)


@dataclass(frozen=True)
class Statute:
    name: str
    title: str
    jurisdiction: str
    in_force: str
    sections: str
    recipient: str
    verified: bool
    note: str


STATUTES: Final = {
    "ca-sb243-osp": Statute(
        "ca-sb243-osp",
        "California SB 243 (Stats. 2025, ch. 677), Business and Professions Code § 22603",
        "US-CA",
        "2026-01-01; reports yearly from 2027-07-01, for the preceding calendar year",
        "§ 22603(a)(1)-(3), (b), (c)",
        "Office of Suicide Prevention (Health and Safety Code § 131300), which posts the data",
        True,
        "The submission holds only what § 22603(a) lists ((b): nothing else, no identifiers "
        "or personal information). The count covers delivered messages that carried a crisis "
        "referral to users in California.",
    ),
    "wa-hb2225": Statute(
        "wa-hb2225",
        "Washington HB 2225 (ch. 168, Laws of 2026)",
        "US-WA",
        "2027-01-01",
        "Sec. 5 (UNVERIFIED: secondary sources only)",
        "the public, on the operator's website or app, yearly",
        False,
        "Counts by type are not known to be required; they are given because eating "
        "disorders are named. The statute's text was not read: check Sec. 5 before "
        "publishing.",
    ),
    "or-sb1546": Statute(
        "or-sb1546",
        "Oregon SB 1546 (2026 Regular Session)",
        "US-OR",
        "2027-01-01",
        "section 1 (UNVERIFIED: introduced bill's digest and secondary sources)",
        "the public, on a publicly accessible website, yearly (one source: the Oregon Health "
        "Authority; the same numbers serve both)",
        False,
        "Incidents in which the operator referred a user to resources to prevent suicidal "
        "ideation, suicide or self-harm. The enrolled text was not read: check it before "
        "publishing.",
    ),
}


def in_state(record: AuditRecord, jurisdiction: str) -> bool:
    """Whether the decision's user was in the statute's state (``US-CA`` or deeper)."""
    context = record.body.get("user_context") or {}
    found = str(context.get("jurisdiction") or "").upper()
    return found == jurisdiction or found.startswith(jurisdiction + "-")


def referral_types(record: AuditRecord) -> list[str]:
    """The types of the referral a decision carried (one per enforced crisis reason)."""
    out = []
    for reason in record.body.get("reasons", []):
        if not _is_crisis_rule(str(reason.get("rule"))) or reason.get("effect") == "shadow":
            continue
        labels = [str(label) for label in reason.get("labels") or ()]
        out.append(next((SIGNAL_TYPES[x] for x in labels if x in SIGNAL_TYPES), "unknown"))
    return out[:1] or ["unknown"]


async def referrals(
    trail: AuditTrail, tenant: str | None, period: Period, jurisdiction: str
) -> dict[str, Any]:
    """Crisis-referral notifications to users of ``jurisdiction``: total, by type, month."""
    by_type: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    by_policy: Counter[str] = Counter()
    total = 0
    async for record in _records(trail, period.filter(tenant, rule=CRISIS_RULES)):
        if not is_crisis_referral(record) or not in_state(record, jurisdiction):
            continue
        total += 1
        by_type.update(referral_types(record))
        by_month[_month(record)] += 1
        by_policy[str(record.body.get("policy"))] += 1
    return {
        "total": total,
        "by_type": _sorted(by_type),
        "by_month": _sorted(by_month),
        "by_policy": _sorted(by_policy),
    }


def protocol_text() -> dict[str, str]:
    """The crisis protocol as the gateway runs it (the operator reviews it before filing:
    the helplines, the levels and the hold come from the policies in force, listed apart)."""
    return {"detection": DETECTION, "response": RESPONSE, "prevention": PREVENTION}


async def _statute_report(
    name: str, trail: AuditTrail, tenant: str | None, period: Period
) -> dict[str, Any]:
    statute = STATUTES[name]
    counts = await referrals(trail, tenant, period, statute.jurisdiction)
    text = protocol_text()
    about = {
        "statute": statute.title,
        "sections": statute.sections,
        "in_force": statute.in_force,
        "recipient": statute.recipient,
        "text_verified": statute.verified,
        "tenant": tenant,
        "period": period.to_json(),
        "policies_in_force": await _protocol(trail, tenant, period),
        "note": statute.note,
    }
    if name == "ca-sb243-osp":
        submission: dict[str, Any] = {
            "crisis_referral_notifications": counts["total"],
            "protocol_detect_remove_respond_suicidal_ideation": f"{DETECTION} {RESPONSE}",
            "protocol_prohibit_responses_about_suicidal_ideation": PREVENTION,
        }
        detail = {"by_month": counts["by_month"], "by_type": counts["by_type"]}
        return {
            "report": name,
            "submission": submission,
            "about": about,
            "internal_detail_not_for_submission": detail,
        }
    publication = {
        "year": period.since.year if period.since else None,
        "crisis_referral_notifications": {"total": counts["total"], "by_type": counts["by_type"]},
        "protocol": text,
    }
    return {
        "report": name,
        "publication": publication,
        "about": about,
        "internal_detail_not_for_publication": {
            "by_month": counts["by_month"],
            "by_policy": counts["by_policy"],
        },
    }


async def ca_sb243_osp(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """California SB 243 § 22603: the yearly report to the Office of Suicide Prevention."""
    return await _statute_report("ca-sb243-osp", trail, tenant, period)


async def wa_hb2225(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Washington HB 2225: the yearly public count of crisis referral notifications."""
    return await _statute_report("wa-hb2225", trail, tenant, period)


async def or_sb1546(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """Oregon SB 1546: the yearly public report of referrals to crisis resources."""
    return await _statute_report("or-sb1546", trail, tenant, period)


async def disclosures(trail: AuditTrail, tenant: str | None, period: Period) -> dict[str, Any]:
    """AI disclosures added to delivered messages, by policy, trigger (``start`` of an
    interaction or ``cadence``), audience (``adult``, ``minor``) and month."""
    by_policy: Counter[str] = Counter()
    by_trigger: Counter[str] = Counter()
    by_audience: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    total = 0
    async for record in _records(trail, period.filter(tenant, rule="disclosure")):
        if record.body.get("verdict") not in ("allow", "rewrite"):
            continue
        for reason in record.body.get("reasons", []):
            if reason.get("rule") != "disclosure" or reason.get("effect") != "rewrite":
                continue
            labels = [str(x) for x in reason.get("labels") or ()]
            trigger, audience = (*labels, "unknown", "unknown")[:2]
            total += 1
            by_policy[str(record.body.get("policy"))] += 1
            by_trigger[trigger] += 1
            by_audience[audience] += 1
            by_month[_month(record)] += 1
    return {
        "report": "disclosures",
        "tenant": tenant,
        "period": period.to_json(),
        "total": total,
        "by_policy": _sorted(by_policy),
        "by_trigger": _sorted(by_trigger),
        "by_audience": _sorted(by_audience),
        "by_month": _sorted(by_month),
    }


def rows(report: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A report flattened to (path, value) pairs, for CSV: nested keys joined by dots."""
    out: list[tuple[str, str]] = []
    for key, value in report.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out += rows(value, path + ".")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                out += rows(item, f"{path}.{i}.") if isinstance(item, dict) else [
                    (f"{path}.{i}", "" if item is None else str(item))
                ]  # fmt: skip
        else:
            out.append((path, "" if value is None else str(value)))
    return out


def to_csv(report: dict[str, Any]) -> str:
    """The report as CSV (``field,value`` rows), formatted as the audit export's CSV."""
    from guardrail.audit.export import csv_line

    return csv_line(("field", "value")) + "".join(csv_line(row) for row in rows(report))


REPORTS: Final[dict[str, Report]] = {
    **BASE_REPORTS,
    "ca-sb243-osp": ca_sb243_osp,
    "wa-hb2225": wa_hb2225,
    "or-sb1546": or_sb1546,
    "disclosures": disclosures,
}
"""Every report by name: the general ones of :mod:`guardrail.audit.reports` and these."""
STATUTE_YEAR_BEFORE: Final = frozenset({"sb243", "ca-sb243-osp", "wa-hb2225", "or-sb1546"})
"""Reports about the preceding calendar year when no period is given."""
