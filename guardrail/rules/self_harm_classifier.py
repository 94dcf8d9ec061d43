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

A message longer than the encoder's window is pooled over its chunks, so one sentence of
encouragement after paragraphs of film talk would be diluted: each of its sentences is
judged alone too (shorter messages are judged whole, as the head was calibrated: judging
every sentence of short replies doubles the flags on real supportive replies).

``action``: ``block`` (default) or ``review`` (sent, the review webhook is told). When no
classifier answers (still loading, failed to load, timed out), the floor has already run;
``on_error`` then decides: by default a proactive message is deferred with ``retry_after``
and a reply is sent, decided by the floors, with an ``info`` reason naming the check that
did not run (``on_error: {reply: fail_closed}`` blocks it instead). A gateway run without
classifiers (``classifiers: false``) records nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from classifiers.encoder import CHUNK_WORDS
from guardrail.analysis import AnalysisRequest
from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.content import OnError, classifier_missing


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
        description="while the classifiers load, failed or time out: fail_closed (defer a "
        "proactive message, block a reply) or fail_open (send it, decided by the floors, "
        "named unchecked), per kind; unset: closed for proactive, open for replies, and a "
        "gateway run without classifiers records nothing",
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
            return classifier_missing(
                self.id,
                "self-harm classifier",
                analysis,
                params.on_error,
                ctx.kind,
                ctx.now,
                explicit=params.on_error is not None,
            )
        results = [analysis.scores.self_harm]
        if len(analysis.text.split()) > CHUNK_WORDS:  # pooled over chunks: each sentence too
            results += [s.scores.self_harm for s in analysis.sentences]
        found = [r for r in results if r.encourages]
        if not found:
            return None
        score = max(r.score for r in found)
        what = f"the trained bot check finds encouragement of self-harm (score {score:.2f})"
        if params.action == "review":
            return self.finding("info", f"review: {what}")
        return self.finding("block", what)
