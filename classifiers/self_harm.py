"""Self-harm head: a score and a C-SSRS severity for user messages, encouragement for bot ones.

User messages: the head is a multinomial logistic regression over [sentence embedding,
lexicon features] with five outputs (none, indicator, ideation, behavior, attempt). It is
trained at user level on the mean of a user's message features; being linear, the mean of a
user's per-message logits is exactly the logits of the user's mean features, so
``UserRisk`` keeps only a count and five logit sums per user and reproduces the trained
user-level model message by message.

``score`` is P(ideation or worse). ``severity`` is the argmax of the logits plus per-class
decision offsets chosen for macro-F1 on training data (out of fold). The lexicon gives a
floor: ``fused_severity`` is the higher of the model's severity and the lexicon's hint, for
the languages where the encoder is weak (French) and for explicit statements.

Bot messages: no trained head yet; the lexicon's ``encouragement`` category flags messages
that encourage or instruct self-harm (EN, FR).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from classifiers.heads import FloatArray, MLPHead, softmax
from classifiers.labels import AT_RISK_FROM, SEVERITIES, Severity, severity_index
from classifiers.lexicons import (
    FEATURE_NAMES,
    Lexicon,
    LexiconResult,
    default_lexicon,
    feature_row,
)

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
SELF_HARM_WEIGHTS: Final = WEIGHTS_DIR / "self_harm.safetensors"
_RISK_FROM: Final = severity_index(AT_RISK_FROM)


def head_inputs(embeddings: FloatArray, lexicon_features: FloatArray) -> FloatArray:
    """The head's input rows: the embedding, then the lexicon features."""
    if embeddings.shape[0] != lexicon_features.shape[0]:
        raise ValueError("one lexicon row per embedding row is needed")
    out: FloatArray = np.hstack([embeddings, lexicon_features]).astype(np.float32)
    return out


def at_risk_score(probabilities: FloatArray) -> npt.NDArray[np.float64]:
    """P(ideation or worse) per row."""
    return np.asarray(probabilities[..., _RISK_FROM:].sum(axis=-1), dtype=np.float64)


def max_severity(a: Severity, b: Severity) -> Severity:
    return a if severity_index(a) >= severity_index(b) else b


@dataclass(frozen=True)
class SelfHarmScore:
    score: float
    """P(ideation or worse) for this message alone."""
    severity: Severity
    """The model's severity for this message alone."""
    probabilities: tuple[float, ...]
    """Over ``SEVERITIES``."""
    logits: tuple[float, ...]
    """For ``UserRisk`` (user-level aggregation)."""
    lexicon: LexiconResult
    flagged: bool
    """score over the chosen threshold, or an explicit ideation-or-worse lexicon hit."""

    @property
    def fused_severity(self) -> Severity:
        return max_severity(self.severity, self.lexicon.severity)


@dataclass(frozen=True)
class BotSelfHarm:
    encourages: bool
    """The message encourages or instructs self-harm (lexicon)."""
    lexicon: LexiconResult


@dataclass(frozen=True)
class SelfHarmClassifier:
    head: MLPHead
    lexicon: Lexicon
    threshold: float
    """At-risk score threshold (user level) from the model card."""
    message_threshold: float
    """At-risk score threshold for a single message."""
    decision_bias: FloatArray

    @classmethod
    def load(
        cls, path: Path = SELF_HARM_WEIGHTS, lexicon: Lexicon | None = None
    ) -> SelfHarmClassifier:
        head = MLPHead.load(path)
        if head.labels != SEVERITIES:
            raise ValueError(f"{path.name}: labels {head.labels} are not {SEVERITIES}")
        if head.feature_names != FEATURE_NAMES:
            raise ValueError(f"{path.name}: lexicon features differ from this code's")
        meta = head.metadata
        bias = np.asarray(meta.get("decision_bias", [0.0] * len(SEVERITIES)), dtype=np.float32)
        return cls(
            head=head,
            lexicon=lexicon or default_lexicon(),
            threshold=float(meta["thresholds"]["user_at_risk"]),
            message_threshold=float(meta["thresholds"]["message_at_risk"]),
            decision_bias=bias,
        )

    def severity_from_logits(self, logits: FloatArray) -> list[Severity]:
        return [SEVERITIES[int(i)] for i in np.argmax(logits + self.decision_bias, axis=-1)]

    def logits(
        self, embeddings: FloatArray, texts: Sequence[str]
    ) -> tuple[FloatArray, list[LexiconResult]]:
        scans = [self.lexicon.scan(t, role="user") for t in texts]
        lex = np.asarray([feature_row(s) for s in scans], dtype=np.float32).reshape(
            len(scans), len(FEATURE_NAMES)
        )
        return self.head.logits(head_inputs(embeddings, lex)), scans

    def score_user_messages(
        self, embeddings: FloatArray, texts: Sequence[str]
    ) -> list[SelfHarmScore]:
        """One score per user message; ``embeddings`` from the shared encoder, same order."""
        logits, scans = self.logits(embeddings, texts)
        probs = softmax(logits)
        risk = at_risk_score(probs)
        severities = self.severity_from_logits(logits)
        out = []
        for i, scan in enumerate(scans):
            explicit = scan.flagged and severity_index(scan.severity) >= _RISK_FROM
            out.append(
                SelfHarmScore(
                    score=float(risk[i]),
                    severity=severities[i],
                    probabilities=tuple(float(p) for p in probs[i]),
                    logits=tuple(float(z) for z in logits[i]),
                    lexicon=scan,
                    flagged=bool(risk[i] >= self.message_threshold or explicit),
                )
            )
        return out

    def score_bot_messages(self, texts: Sequence[str]) -> list[BotSelfHarm]:
        out = []
        for text in texts:
            scan = self.lexicon.scan(text, role="bot")
            out.append(BotSelfHarm(encourages=scan.encouragement, lexicon=scan))
        return out


@dataclass
class UserRisk:
    """Running user-level risk: the trained user-level model, message by message.

    State: a message count and five logit sums (store ``to_state()`` anywhere), plus the
    highest lexicon severity seen.
    """

    count: int = 0
    logit_sum: list[float] = field(default_factory=lambda: [0.0] * len(SEVERITIES))
    lexicon_severity: Severity = "none"

    def add(self, message: SelfHarmScore) -> None:
        self.count += 1
        self.logit_sum = [a + b for a, b in zip(self.logit_sum, message.logits, strict=True)]
        self.lexicon_severity = max_severity(self.lexicon_severity, message.lexicon.severity)

    def mean_logits(self) -> FloatArray:
        out: FloatArray = (np.asarray(self.logit_sum) / max(self.count, 1)).astype(np.float32)
        return out

    def probabilities(self) -> FloatArray:
        out: FloatArray = softmax(self.mean_logits()[None, :])[0]
        return out

    def score(self) -> float:
        return float(at_risk_score(self.probabilities()))

    def severity(self, classifier: SelfHarmClassifier) -> Severity:
        if not self.count:
            return "none"
        return classifier.severity_from_logits(self.mean_logits()[None, :])[0]

    def to_state(self) -> dict[str, object]:
        return {
            "count": self.count,
            "logit_sum": list(self.logit_sum),
            "lexicon": self.lexicon_severity,
        }
