"""Toxicity head for bot (and user) messages: insult, hate, harassment, threat, sexual.

A small multi-label head on the shared embedding (one hidden layer; ``any`` plus one sigmoid
per label of ``TOXICITY_LABELS``, thresholds in the weight file), trained by
``python -m classifiers.training.train_toxicity`` (card: ``weights/toxicity.md``). It
works out of the box, English and French, with no extra model.

An operator who brings a Detoxify checkpoint (``classifiers/backends/detoxify.py``, by
configuration) gets a fused score: ``fuse`` takes the maximum of this head's ``any`` and
Detoxify's ``toxicity``, and of the matching labels (Detoxify's ``insult``, ``threat``,
``identity_attack`` -> hate, ``sexual_explicit`` -> sexual); a Detoxify score at or over
``DETOXIFY_THRESHOLD`` flags the text as well. The maximum keeps either model's detection:
the two err on different texts, and a guardrail prefers a review to a miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from classifiers.heads import FloatArray
from classifiers.results import TOXICITY_LABELS, ToxicityResult
from classifiers.wellbeing import ANY, MultiLabelHead

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
TOXICITY_WEIGHTS: Final = WEIGHTS_DIR / "toxicity.safetensors"
DETOXIFY_THRESHOLD: Final = 0.5
"""A Detoxify score that flags on its own (Detoxify's own convention)."""
DETOXIFY_LABELS: Final[Mapping[str, str]] = {
    "insult": "insult",
    "threat": "threat",
    "identity_attack": "hate",
    "sexual_explicit": "sexual",
}
"""Detoxify class -> this head's label, for the fused score."""


@dataclass(frozen=True)
class ToxicityClassifier:
    model: MultiLabelHead

    @classmethod
    def load(cls, path: Path = TOXICITY_WEIGHTS) -> ToxicityClassifier:
        return cls(MultiLabelHead.load(path, TOXICITY_LABELS, None))

    @property
    def thresholds(self) -> Mapping[str, float]:
        return self.model.thresholds

    def score(self, embeddings: FloatArray, texts: Sequence[str]) -> list[ToxicityResult]:
        """One result per text; ``embeddings`` from the shared encoder."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        probs = self.model.probabilities(embeddings, len(texts))
        thr = self.model.thresholds
        out = []
        for p in probs:
            per = {n: float(p[j + 1]) for j, n in enumerate(TOXICITY_LABELS)}
            labels: tuple[str, ...] = ()
            if p[0] >= thr[ANY]:
                labels = tuple(n for n in TOXICITY_LABELS if per[n] >= thr[n]) or (
                    TOXICITY_LABELS[int(np.argmax(p[1:]))],
                )
            out.append(ToxicityResult(float(p[0]), labels, bool(labels), per))
        return out


def fuse(head: ToxicityResult | None, detoxify: Mapping[str, float]) -> ToxicityResult | None:
    """The head's result fused with one Detoxify backend's scores (maximum per label)."""
    if not detoxify:
        return head
    d_any = float(detoxify.get("toxicity", max(detoxify.values())))
    per = dict(head.scores) if head is not None else {n: 0.0 for n in TOXICITY_LABELS}
    d_labels = []
    for d_name, label in DETOXIFY_LABELS.items():
        if d_name in detoxify:
            per[label] = max(per.get(label, 0.0), float(detoxify[d_name]))
            if detoxify[d_name] >= DETOXIFY_THRESHOLD:
                d_labels.append(label)
    flagged_d = d_any >= DETOXIFY_THRESHOLD
    labels = set(head.labels if head is not None else ())
    if flagged_d:
        labels |= set(d_labels) or {max(DETOXIFY_LABELS.values(), key=lambda n: per.get(n, 0))}
    score = max(head.score if head is not None else 0.0, d_any)
    ordered = tuple(n for n in TOXICITY_LABELS if n in labels)
    return ToxicityResult(score, ordered, bool(ordered), per)
