"""Manipulative bot messages: guilt at leaving, FOMO hooks, pressure to respond, ...

Reads the manipulation head's scores from the analysis stage, for the whole message and
for each sentence. What happens when it fires is the policy's ``action``:

- ``block``: the message is not sent;
- ``rewrite``: the flagged sentences are dropped (the rewrite engine applies it with the
  other edits); when the rest is too short to be worth sending (``min_remaining_chars``,
  ``min_remaining_ratio``), or the message is flagged as a whole but no sentence alone
  is, it is blocked instead;
- ``review``: sent, with a ``review:`` reason, and the review webhook is told;
- ``info``: sent, the score recorded.

Reasons name the tactics (``classifiers.results.MANIPULATION_TACTICS``) and the score.
Off by default; the EU AI Act pack turns the block on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema, field_validator

from classifiers.results import MANIPULATION_TACTICS, ManipulationResult
from guardrail.analysis import AnalysisRequest
from guardrail.locales import language_of
from guardrail.models import Kind
from guardrail.rewrite import drop
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.content import (
    FAIL_OPEN,
    OnError,
    classifier_missing,
    degraded,
    sentence_action,
)

LABEL = "MANIPULATION"
Tactic = Annotated[str, WithJsonSchema({"type": "string", "enum": list(MANIPULATION_TACTICS)})]
"""A tactic name, checked by ``_known`` (the schema lists them for editors)."""


class ManipulationParams(RuleParams):
    enabled: bool = Field(default=False, description="off unless a pack turns it on")
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="score that fires; null: the head's own calibrated decision (flagged)",
    )
    language_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="score needed by the message's language (from user.locale), e.g. "
        "{fr: 0.95}, where the head has seen little of a language and over-flags; a "
        "hand-written cue fires whatever the score",
    )
    action: Literal["block", "rewrite", "review", "info"] = Field(
        default="block",
        description="block; rewrite (drop the flagged sentences); review (send, tell the "
        "review webhook); info (send, record the score)",
    )
    tactics: list[Tactic] | None = Field(
        default=None, description="fire only for these tactics (default: any, or none named)"
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
        "unset: closed for proactive, open for replies, and a gateway run without "
        "classifiers says the check did not run",
    )

    @field_validator("tactics")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(MANIPULATION_TACTICS))
        if unknown:
            raise ValueError(f"unknown tactics {unknown}; known: {list(MANIPULATION_TACTICS)}")
        return value


class Manipulation(Rule[ManipulationParams]):
    id = "manipulation"
    params_model = ManipulationParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def needs(self, params: ManipulationParams) -> AnalysisRequest:
        return AnalysisRequest(classifiers=True)

    def check(self, ctx: RuleContext, params: ManipulationParams) -> Finding | None:
        analysis = ctx.analysis
        whole = analysis.scores.manipulation if analysis and analysis.scores else None
        if analysis is not None and analysis.scores is not None and whole is None:
            why = "no manipulation head is loaded"  # the operator's set-up: nothing to wait for
            return degraded(self.id, "manipulation classifier", why, FAIL_OPEN, ctx.kind)
        if analysis is None or whole is None:
            return classifier_missing(
                self.id,
                "manipulation classifier",
                analysis,
                params.on_error,
                ctx.kind,
                ctx.now,
                explicit=params.on_error is not None,
                quiet_when_off=False,
            )
        bar = _language_bar(ctx.request.user.locale, params)
        flagged = [
            (s.start, s.end, s.scores.manipulation)
            for s in analysis.sentences
            if s.scores.manipulation is not None and _fires(s.scores.manipulation, params, bar)
        ]
        if not flagged and not _fires(whole, params, bar):
            return None
        results = [whole, *(m for _, _, m in flagged)]
        tactics = sorted({t for m in results for t in m.tactics}) or ["unnamed tactic"]
        score = max(m.score for m in results)
        over = "the head's threshold" if params.threshold is None else f"{params.threshold:g}"
        if bar is not None:
            over += f" and the language's {bar:g} (or a cue)"
        what = f"{', '.join(tactics)} (score {score:.2f}, over {over})"
        labels = tuple(t for t in tactics if t in MANIPULATION_TACTICS)
        edits = tuple(drop(self.id, LABEL, (s, e), m.score) for s, e, m in flagged)
        return sentence_action(
            self.id,
            "manipulative",
            params.action,
            analysis.text,
            edits,
            what,
            labels,
            min_chars=params.min_remaining_chars,
            min_ratio=params.min_remaining_ratio,
        )


def _language_bar(locale: str | None, params: ManipulationParams) -> float | None:
    """The language threshold for ``locale`` (``fr-FR`` → ``fr``), if the policy sets one."""
    return params.language_thresholds.get(language_of(locale, default=""))


def _fires(result: ManipulationResult, params: ManipulationParams, bar: float | None) -> bool:
    if not (result.flagged if params.threshold is None else result.score >= params.threshold):
        return False
    if bar is not None and result.score < bar and not result.cued:
        return False
    return params.tactics is None or bool(set(result.tactics) & set(params.tactics))
