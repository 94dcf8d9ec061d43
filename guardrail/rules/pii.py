"""PII in bot messages: redact it (typed placeholder, mask, drop the sentence) or block.

The parameters are :class:`classifiers.pii_redact.PiiConfig`'s (entities, threshold, one
operator per entity, allow list, custom recognizers declared in YAML, phone regions) plus
``on_error``. Detection happens in the analysis stage (spaCy by locale, batched in a
worker); this rule only turns findings into edits for the rewrite engine, so reasons name
entity types and operators, never the values.
"""

from __future__ import annotations

from collections import Counter

from pydantic import ConfigDict, Field

from classifiers.pii_redact import PiiConfig, PiiFinding, PiiOperator, redact
from guardrail.analysis import PII, AnalysisRequest
from guardrail.models import Kind
from guardrail.rewrite import Edit, outside_placeholders
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.content import OnError, degraded

DEFAULT_OPERATORS: dict[str, PiiOperator] = {
    "EMAIL_ADDRESS": PiiOperator(type="replace"),
    "PHONE_NUMBER": PiiOperator(type="replace"),
    "CREDIT_CARD": PiiOperator(type="block"),
    "IBAN_CODE": PiiOperator(type="mask"),
    "IP_ADDRESS": PiiOperator(type="replace"),
    "STREET_ADDRESS": PiiOperator(type="replace"),
    "PERSON": PiiOperator(type="keep"),
}
"""Built-in operators (``policies/default.yaml`` spells them out, with the reasons)."""


class PiiParams(RuleParams, PiiConfig):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operators: dict[str, PiiOperator] = Field(
        default_factory=lambda: dict(DEFAULT_OPERATORS),
        description="per entity type: an operator, or its bare type (PHONE_NUMBER: mask)",
    )
    on_error: OnError = Field(
        default_factory=OnError,
        description="when PII detection is down: fail_closed (defer a proactive message, "
        "block a reply) or fail_open (send it, named unchecked), per kind; default closed "
        "for proactive messages, open for replies",
    )


class Pii(Rule[PiiParams]):
    id = "pii"
    params_model = PiiParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def needs(self, params: PiiParams) -> AnalysisRequest:
        return AnalysisRequest(pii=params)

    def check(self, ctx: RuleContext, params: PiiParams) -> Finding | None:
        analysis = ctx.analysis
        if analysis is None or analysis.pii is None:
            why = analysis.unavailable.get(PII, "not analysed") if analysis else "not analysed"
            return degraded(self.id, "PII detection", why, params.on_error, ctx.kind, ctx.now)
        findings = outside_placeholders(analysis.text, analysis.pii)
        if not findings:
            return None
        result = redact(analysis.text, findings, params.operators, params.default_operator)
        summary = _summary(findings, params)
        labels = tuple(sorted({f.entity_type for f in findings}))
        if result.blocked:
            blocked = ", ".join(result.blocked_entities)
            return self.finding("block", f"the message carries {blocked}, which the policy "
                                f"blocks ({summary})", labels=labels)  # fmt: skip
        if result.text == analysis.text:
            return self.finding("info", f"PII left as the policy says: {summary}", labels=labels)
        edits = tuple(
            Edit(
                self.id, f.entity_type, f.start, f.end, f.score, params.operator_for(f.entity_type)
            )
            for f in findings
        )
        return Finding(self.id, "rewrite", f"PII redacted: {summary}", edits=edits, labels=labels)


def _summary(findings: list[PiiFinding], params: PiiParams) -> str:
    """``PHONE_NUMBER x2 replace, PERSON keep``: types and operators, never values."""
    counts = Counter(f.entity_type for f in findings)
    parts = []
    for entity, n in counts.items():
        times = f" x{n}" if n > 1 else ""
        parts.append(f"{entity}{times} {params.operator_for(entity).type}")
    return ", ".join(parts)
