"""Bot messages the trained bot-encouragement check flags, beside the lexicon floor.

``self_harm_content`` (the floor: the crisis lexicon, always on, first) blocks explicit
encouragement before anything else runs. This rule adds the classifier stack's bot-role
decision (``SelfHarmResult.encourages``: the lexicon OR the trained bot head over its
calibrated threshold, unless every act the lexicon sees is plainly forbidden; see
``classifiers.self_harm``), which also catches encouragement worded apart from the
lexicon ("nobody would even notice if you were gone, so go ahead"). It reads the content
analysis the message gets anyway (the toxicity rule is on by default), so it adds no model
pass. Measured on held-out real bot replies (``classifiers/weights/self_harm_bot.md``):
0.1% / 0.4% of everyday English / French chat and 0.4% of DiaSafety's safe replies
flagged, 1.1% of safe replies to risk disclosures; every supportive reply of the
adversarial tests passes.

``action``: ``block`` (default) or ``review`` (sent, the review webhook is told). When no
classifier answers, the lexicon floor has already run: nothing more is recorded unless the
policy sets ``on_error``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from guardrail.analysis import CLASSIFIERS, NO_STACK, AnalysisRequest
from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.content import OnError, degraded


class SelfHarmClassifierParams(RuleParams):
    enabled: bool = Field(
        default=True,
        description="on by default: the trained check beside the lexicon floor "
        "(self_harm_content), which stays on whatever this says",
    )
    action: Literal["block", "review"] = Field(
        default="block", description="block; review (send, tell the review webhook)"
    )
    on_error: OnError | None = Field(
        default=None,
        description="when no classifier answers: fail_closed or fail_open, per kind; unset, "
        "the lexicon floor alone decides and nothing is recorded",
    )


class SelfHarmClassifier(Rule[SelfHarmClassifierParams]):
    id = "self_harm_classifier"
    params_model = SelfHarmClassifierParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def needs(self, params: SelfHarmClassifierParams) -> AnalysisRequest:
        return AnalysisRequest(classifiers=True)

    def check(self, ctx: RuleContext, params: SelfHarmClassifierParams) -> Finding | None:
        analysis = ctx.analysis
        if analysis is None or analysis.scores is None:
            failed = analysis.unavailable.get(CLASSIFIERS) if analysis else None
            if params.on_error is None:
                return None  # the lexicon floor ran; the policy asked for nothing more
            why = failed or NO_STACK
            return degraded(self.id, "self-harm classifier", why, params.on_error, ctx.kind)
        result = analysis.scores.self_harm
        if not result.encourages:
            return None
        what = f"the trained bot check finds encouragement of self-harm (score {result.score:.2f})"
        if params.action == "review":
            return self.finding("info", f"review: {what}")
        return self.finding("block", what)
