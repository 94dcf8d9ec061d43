"""Response models of the JSON routes that build their answers as dicts (audit, policies,
classify, probes, webhooks), so that ``/openapi.json`` publishes what each route sends.

The models are lenient where the answer is a stored record or a report: ``extra="allow"``
keeps fields a newer record type or report adds, and fields older records may lack are
optional. Routes declare them with ``response_model_exclude_unset=True``, so validating
an answer never adds a field it did not have (an absent field stays absent, not null).
The fuzz test (``tests/test_fuzz_openapi.py``) checks every answer against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardrail.models import ErrorBody, Verdict

Counts = dict[str, int]
"""How many, by a name (bot, rule, month, category...)."""


class _Open(BaseModel):
    """A view of stored data: fields added later pass through."""

    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------------------ probes


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(_Open):
    """``/readyz``: 200 when ready; 503 with ``ready: false`` and what is wrong."""

    ready: bool
    store: str = Field(description="the state store: sqlite or redis")
    classifiers: str = Field(description="off, loading, ready or failed: <type>")
    error: str | None = Field(default=None, description="what is not ready (503 only)")


# ------------------------------------------------------------------------------ webhooks


class WebhookReceipt(BaseModel):
    """A signed webhook's payload, applied: events recorded, and what was skipped."""

    recorded: int = Field(description="events recorded now (redeliveries are not counted)")
    warnings: list[str] = Field(description="events skipped, each with why")


# ------------------------------------------------------------------------------ classify


class SelfHarmScore(_Open):
    score: float
    severity: str = Field(description="none, indicator, ideation, behavior or attempt")
    flagged: bool
    encourages: bool | None = Field(
        default=None, description="bot role: the text encourages or instructs self-harm"
    )


class DependencyScore(_Open):
    score: float
    signals: list[str]
    flagged: bool


class ManipulationScore(_Open):
    score: float
    tactics: list[str]
    flagged: bool


class ToxicityScore(_Open):
    score: float
    labels: list[str]
    flagged: bool


class SensitiveScore(_Open):
    score: float
    categories: list[str]
    flagged: bool


class TextScores(_Open):
    """One text's scores; ``manipulation`` is there for the bot role only."""

    self_harm: SelfHarmScore
    dependency: DependencyScore | None = Field(description="null when not run")
    manipulation: ManipulationScore | None = Field(
        default=None, description="bot role only (absent for user texts)"
    )
    toxicity: ToxicityScore | None = None
    sensitive: SensitiveScore | None = None
    other: dict[str, float] | None = Field(
        default=None, description="configured backends' labels, as '<name>.<label>'"
    )


class Classification(BaseModel):
    role: Literal["user", "bot"]
    results: list[TextScores] = Field(description="one per text, in order")


# ------------------------------------------------------------------------------ policies


class ReloadView(_Open):
    at: str
    ok: bool
    trigger: str = Field(description="startup, file, api or signal")
    actor: str | None = Field(default=None, description="the API key name that asked for it")
    errors: list[str] = Field(description="file:line:column: message, for a refused reload")


class PolicyEntry(_Open):
    name: str
    version: str
    source: str
    applies: str = Field(description="match, fallback, shadow or none (a parent only)")
    match: dict[str, Any]
    mode: str
    extends: str | None = None
    shadow: list[str]
    policy: dict[str, Any] = Field(description="the resolved policy (policy.schema.json)")


class PoliciesView(_Open):
    """The active set as the key's tenant sees it; the top-level fields are the fallback's."""

    name: str
    version: str
    source: str
    policy: dict[str, Any] = Field(description="the fallback policy, resolved")
    set_source: str | None = None
    policies: list[PolicyEntry]
    last_reload: ReloadView


class InvalidPolicyBody(ErrorBody):
    """A reload refused (``invalid_policy``): the problems, and the reload's status (the
    running set stays); or a request refused as any other (``invalid_request``)."""

    last_reload: ReloadView | None = Field(
        default=None, description="the refused reload (error invalid_policy)"
    )


# ------------------------------------------------------------------------------ audit


class Whoami(BaseModel):
    """The key the console signed in with, and the tenants it may read."""

    name: str
    tenant: str = Field(description="the tenant this request acts in")
    role: str
    home_tenant: str = Field(description="the key's own tenant")
    tenants: list[str] = Field(
        description="tenants this key may act in: every configured one for an operator key "
        "(named per request with X-Guardrail-Tenant), else its own"
    )


class AuditRecordView(_Open):
    """One audit record: its body (the fields depend on ``type``) and its seal."""

    id: str
    type: str = Field(
        description="decision, consent, crisis, delivery, notification, erasure, access, "
        "policy_reload, purge"
    )
    ts: str = Field(description="UTC ISO 8601")
    tenant: str = Field(description="'*' for records of no single tenant")
    hash: str
    seq: int | None = None
    prev_hash: str | None = None
    bot: str | None = None
    user: str | None = Field(default=None, description="the user's pseudonym, never the raw id")


class AuditReason(_Open):
    rule: str
    detail: str
    policy: str | None = None
    effect: str | None = Field(default=None, description="block, defer, rewrite, info, shadow")
    labels: list[str] | None = None


class AuditUserContext(_Open):
    jurisdiction: str | None = None
    is_minor: bool | None = None
    timezone: str | None = None


class DecisionRecord(AuditRecordView):
    """A decision with its whole explanation."""

    type: Literal["decision"]
    bot: str
    user: str
    verdict: Verdict
    rules: list[str]
    reasons: list[AuditReason]
    policy: str
    policy_version: str
    channel: str | None = None
    kind: str | None = None
    claimed_kind: str | None = None
    recorded_at: str | None = None
    retry_after: str | None = None
    scores: dict[str, float] | None = None
    user_context: AuditUserContext | None = None
    delivered_text: str | None = Field(
        default=None, description="the delivered text, PII-redacted; null when not stored"
    )


class DecisionsPage(BaseModel):
    items: list[DecisionRecord] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")


class RecordsPage(BaseModel):
    items: list[AuditRecordView] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")


class ChainHead(_Open):
    seq: int
    hash: str


class BadRecord(_Open):
    problem: str
    seq: int | None = None
    id: str | None = None


class Verification(_Open):
    ok: bool
    checked: int = Field(description="records checked (for a tenant: those it can read)")
    first_bad: BadRecord | None
    tenant: str | None = None
    unkeyed: int | None = None
    head: ChainHead | None = None
    checkpoint: dict[str, Any] | None = None


class DayVerdicts(BaseModel):
    day: str
    allow: int
    rewrite: int
    defer: int
    block: int


class RuleCount(BaseModel):
    rule: str
    count: int


class MonthCount(BaseModel):
    month: str
    count: int


class ChartData(_Open):
    """What the console charts."""

    total: int
    verdicts_by_day: list[DayVerdicts]
    top_rules: list[RuleCount]
    crisis_by_month: list[MonthCount]


class PseudonymView(BaseModel):
    pseudonym: str = Field(description="the user as audit records name them, in this tenant")


class TextHashView(BaseModel):
    text_hash: str = Field(description="the text's keyed hash as records hold it (current key)")
    text_hashes: list[str] = Field(description="the same under every key of the ring")


class ReportInfo(BaseModel):
    name: str
    summary: str = Field(description="what the report counts")


class ReportList(BaseModel):
    reports: list[ReportInfo]


class PeriodView(BaseModel):
    since: str | None
    until: str | None


class Report(_Open):
    """Every report: its name, then counts (never a user, never text); the general ones
    name their tenant and period at the top, the statute ones under ``about``."""

    report: str
    tenant: str | None = None
    period: PeriodView | None = None


class CrisisReferrals(_Open):
    total: int
    by_bot: Counts
    by_month: Counts
    by_rule: Counts


class PolicyVersionUse(_Open):
    policy: str
    policy_version: str
    first: str
    last: str
    decisions: int


class Protocol(_Open):
    in_force_at_start: dict[str, Any] | None
    reloads: list[dict[str, Any]]
    versions_used: list[PolicyVersionUse]


class StatuteAbout(_Open):
    statute: str
    sections: str
    in_force: str
    recipient: str
    text_verified: bool = Field(description="false: the statute's text was read second-hand")
    tenant: str | None
    period: PeriodView
    policies_in_force: Protocol
    note: str


class StatuteReport(Report):
    """A statute's yearly report: what the recipient gets (``submission`` or
    ``publication``), what it rests on (``about``) and internal detail kept apart."""

    report: Literal["ca-sb243-osp", "wa-hb2225", "or-sb1546"]
    about: StatuteAbout
    submission: dict[str, Any] | None = None
    publication: dict[str, Any] | None = None


class DisclosuresReport(Report):
    report: Literal["disclosures"]
    total: int
    by_policy: Counts
    by_trigger: Counts
    by_audience: Counts
    by_month: Counts


class Sb243Report(Report):
    report: Literal["sb243"]
    crisis_referrals: CrisisReferrals
    protocol: Protocol
    note: str


class OptOutItem(_Open):
    bot: str | None
    scope: str | None
    source: str | None
    channel: str | None
    received_at: str
    honoured_at: str
    delay_seconds: float


class Delays(BaseModel):
    max: float | None
    median: float | None


class OptOutsReport(Report):
    report: Literal["opt-outs"]
    total: int
    by_bot: Counts
    by_scope: Counts
    opt_ins: int
    delay_seconds: Delays
    items: list[OptOutItem]


class QuietHoursReport(Report):
    report: Literal["quiet-hours"]
    deferrals: int
    by_bot: Counts
    by_month: Counts


class TacticBlocks(BaseModel):
    tactic: str
    bot: str
    count: int


class ManipulationReport(Report):
    report: Literal["manipulation"]
    blocked_messages: int
    blocks_by_tactic: Counts
    blocks_by_bot: Counts
    blocks_by_tactic_and_bot: list[TacticBlocks]
    other_effects: Counts


class LabelCount(BaseModel):
    label: str
    bot: str
    count: int


class ToxicityReport(Report):
    report: Literal["toxicity"]
    messages: int
    by_label: Counts
    by_bot: Counts
    by_label_and_bot: list[LabelCount]
    by_effect: Counts


class DependencyReport(Report):
    report: Literal["dependency"]
    activations: int
    by_rule: Counts
    by_bot: Counts
    by_effect: Counts


class SensitiveCount(BaseModel):
    bot: str
    category: str
    outcome: str
    count: int


class SensitiveReport(Report):
    report: Literal["sensitive"]
    messages: int
    by_bot: Counts
    by_category: Counts
    by_outcome: Counts
    by_bot_category_outcome: list[SensitiveCount]


AnyReport = (
    Sb243Report
    | OptOutsReport
    | QuietHoursReport
    | ManipulationReport
    | ToxicityReport
    | DependencyReport
    | SensitiveReport
    | StatuteReport
    | DisclosuresReport
    | Report
)
"""A report: one of the known shapes, or (a report added since) the common fields."""


class ConsentState(BaseModel):
    bot: str | None
    scope: str | None = Field(description="bot: this bot; all: every bot of the tenant")
    action: Literal["opt_out", "opt_in"]
    at: str


class TimelineSummary(BaseModel):
    """The user's whole history in the period, whatever the page holds."""

    records: int
    first: str | None
    last: str | None
    by_type: Counts
    verdicts: Counts
    crises: int
    highest_risk: str | None = Field(description="the highest crisis level recorded")
    consent: list[ConsentState] = Field(
        description="the last applied consent change per bot and scope: what stands now"
    )


class Timeline(BaseModel):
    """One user's records (decisions, consent, crises, deliveries, notices, erasure)."""

    user: str = Field(description="the user's pseudonym in this tenant")
    summary: TimelineSummary
    items: list[AuditRecordView] = Field(description="newest first, a page at a time")
    next_cursor: str | None
