"""Toxic bot messages: insults, hate against a group, harassment, threats, sexual insults.

Reads the toxicity head's scores (``classifiers.toxicity``, fused with a configured Detoxify
checkpoint) from the analysis stage, for the whole message and each sentence. On by default
at the head's own calibrated decision (at most 1% of held-out everyday chat flagged, English
and French apart): conservative, so ordinary messages pass. Policies tune it per label and
per language (``thresholds``, ``language_thresholds``). What happens when it fires is
``action``:

- ``block``: the message is not sent;
- ``rewrite``: the offending sentences are dropped when the rest stands
  (``min_remaining_chars``, ``min_remaining_ratio``); else, or when the message is toxic as
  a whole but no sentence alone is, it is blocked;
- ``review``: sent, with a ``review:`` reason, and the review webhook is told.

Reasons name the labels (``Reason.labels``: ``classifiers.results.TOXICITY_LABELS``) and the
score. ``on_error`` says what happens when no toxicity classifier answers. Because the rule is
on by default, a deployment that runs no classifiers at all (no stack, or a stack without the
toxicity head) is not told so on every decision: unless the policy sets ``on_error``, the
rule then stays silent. Classifiers that are still loading, failed to load, fail or time
out always give their reason: by default a proactive message is deferred (``retry_after``)
and a reply sent with an ``info`` reason naming the check that did not run.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator
from pydantic.config import JsonDict

from classifiers.results import TOXICITY_LABELS, ToxicityResult
from guardrail.analysis import AnalysisRequest
from guardrail.locales import language_of
from guardrail.models import Kind
from guardrail.rewrite import drop
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.content import OnError, classifier_missing, degraded, sentence_action

LABEL = "TOXICITY"
KEYS = ("any", *TOXICITY_LABELS)


_BARS_SCHEMA: JsonDict = {
    "propertyNames": {"enum": list(KEYS)},
    "additionalProperties": {"type": "number", "minimum": 0.0, "maximum": 1.0},
}
"""What ``_check_keys`` accepts, for the published schema (editors complete the labels)."""


def _check_keys(value: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown toxicity labels {unknown}; known: {list(KEYS)}")
    bad = [k for k, v in value.items() if not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"thresholds must lie in [0, 1]: {bad}")
    return value


class ToxicityParams(RuleParams):
    enabled: bool = Field(
        default=True, description="on by default for bot messages, at the head's threshold"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="score that fires, by label (insult, hate, harassment, threat, sexual) "
        "or `any` (the overall score); a label not set uses the head's calibrated decision",
        json_schema_extra=_BARS_SCHEMA,
    )
    language_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="the same, by the message's language (from user.locale), e.g. "
        "{fr: {insult: 0.9}}; overrides `thresholds` for that language",
        json_schema_extra={"additionalProperties": {"type": "object", **_BARS_SCHEMA}},
    )
    action: Literal["block", "rewrite", "review"] = Field(
        default="block",
        description="block; rewrite (drop the offending sentences when the rest stands); "
        "review (send, tell the review webhook)",
    )
    labels: list[str] | None = Field(
        default=None,
        description="fire only for these labels (default: any label)",
        json_schema_extra={"items": {"enum": list(TOXICITY_LABELS), "type": "string"}},
    )
    min_remaining_chars: int = Field(
        default=40, ge=0, description="rewrite: block instead when fewer characters are left"
    )
    min_remaining_ratio: float = Field(
        default=0.4, ge=0.0, le=1.0, description="rewrite: ...or less than this share of the text"
    )
    on_error: OnError | None = Field(
        default=None,
        description="while the classifiers load, failed or time out: fail_closed (defer a "
        "proactive message, block a reply) or fail_open (send, named unchecked), per kind; "
        "unset: proactive closed, replies open, and a gateway run without classifiers is not "
        "checked (no reason recorded)",
    )

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_keys(value)

    @field_validator("language_thresholds")
    @classmethod
    def _known_languages(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for bars in value.values():
            _check_keys(bars)
        return value

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(TOXICITY_LABELS))
        if unknown:
            raise ValueError(f"unknown toxicity labels {unknown}; known: {list(TOXICITY_LABELS)}")
        return value


def fired(result: ToxicityResult, bars: dict[str, float], only: list[str] | None) -> set[str]:
    """The labels that fire for ``result`` under ``bars`` (head decisions where unset)."""
    hit = result.score >= bars["any"] if "any" in bars else result.flagged
    labels: set[str] = set()
    if hit:
        # The head's labels; the most probable one when a lower `any` bar fired alone.
        labels = set(result.labels) or {
            max(TOXICITY_LABELS, key=lambda n: result.scores.get(n, 0.0))
        }
    for name in TOXICITY_LABELS:
        if name in bars:
            labels.discard(name)
            if result.scores.get(name, 0.0) >= bars[name]:
                labels.add(name)
    if only is not None:
        labels &= set(only)
    return labels


class Toxicity(Rule[ToxicityParams]):
    id = "toxicity"
    params_model = ToxicityParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def needs(self, params: ToxicityParams) -> AnalysisRequest:
        return AnalysisRequest(classifiers=True)

    def check(self, ctx: RuleContext, params: ToxicityParams) -> Finding | None:
        analysis = ctx.analysis
        whole = analysis.scores.toxicity if analysis and analysis.scores else None
        if analysis is not None and analysis.scores is not None and whole is None:
            if params.on_error is None:
                return None  # no toxicity head in this set-up; the policy did not ask
            why = "no toxicity head is loaded"
            return degraded(self.id, "toxicity classifier", why, params.on_error, ctx.kind)
        if analysis is None or whole is None:
            return classifier_missing(
                self.id,
                "toxicity classifier",
                analysis,
                params.on_error,
                ctx.kind,
                ctx.now,
                explicit=params.on_error is not None,
            )
        lang = language_of(ctx.request.user.locale, default="")
        bars = {**params.thresholds, **params.language_thresholds.get(lang, {})}
        flagged = []
        for s in analysis.sentences:
            if s.scores.toxicity is not None:
                found = fired(s.scores.toxicity, bars, params.labels)
                if found:
                    flagged.append((s.start, s.end, s.scores.toxicity, found))
        found_whole = fired(whole, bars, params.labels)
        if not flagged and not found_whole:
            return None
        names = found_whole.union(*(f for *_, f in flagged))
        labels = tuple(n for n in TOXICITY_LABELS if n in names)
        score = float(np.max([whole.score, *(t.score for _, _, t, _ in flagged)]))
        what = f"{', '.join(labels)} (score {score:.2f})"
        edits = tuple(drop(self.id, LABEL, (s, e), t.score) for s, e, t, _ in flagged)
        return sentence_action(
            self.id,
            "toxic",
            params.action,
            analysis.text,
            edits,
            what,
            labels,
            min_chars=params.min_remaining_chars,
            min_ratio=params.min_remaining_ratio,
        )
