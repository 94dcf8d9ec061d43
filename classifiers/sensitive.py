"""Sensitive-category head, both roles: does a text name a special category, and which?

A linear multi-label head on the shared embedding (``any`` plus one sigmoid per category of
``SENSITIVE_CATEGORIES``, thresholds in the weight file), fused by OR with the English and
French term lexicon (``classifiers.sensitive_terms``): a term flags its category, lifts the
score to at least ``cue_score`` and gives its span. Trained by
``python -m classifiers.training.train_sensitive`` (card: ``weights/sensitive.md``).

What it is for: a companion bot's friendly follow-up that would show a confidence on a lock
screen ("How did your chemo session go?"), and, on user messages, which categories a user
disclosed to which bot (never the words). What it is not: a judgement of whether the user
minds, nor a detector of every personal detail (a concert, a job interview are not special
categories and must stay unflagged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from classifiers.heads import FloatArray
from classifiers.results import SENSITIVE_CATEGORIES, SensitiveResult
from classifiers.sensitive_terms import SensitiveLexicon, sensitive_lexicon
from classifiers.wellbeing import ANY, MultiLabelHead

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
SENSITIVE_WEIGHTS: Final = WEIGHTS_DIR / "sensitive.safetensors"


@dataclass(frozen=True)
class SensitiveClassifier:
    model: MultiLabelHead
    lexicon: SensitiveLexicon

    @classmethod
    def load(cls, path: Path = SENSITIVE_WEIGHTS) -> SensitiveClassifier:
        return cls(MultiLabelHead.load(path, SENSITIVE_CATEGORIES, None), sensitive_lexicon())

    @property
    def thresholds(self) -> Mapping[str, float]:
        return self.model.thresholds

    def score(self, embeddings: FloatArray, texts: Sequence[str]) -> list[SensitiveResult]:
        """One result per text; ``embeddings`` from the shared encoder."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        probs = self.model.probabilities(embeddings, len(texts))
        thr = self.model.thresholds
        out = []
        for text, p in zip(texts, probs, strict=True):
            per = {c: float(p[j + 1]) for j, c in enumerate(SENSITIVE_CATEGORIES)}
            found: set[str] = set()
            if p[0] >= thr[ANY]:
                found = {c for c in SENSITIVE_CATEGORIES if per[c] >= thr[c]} or {
                    SENSITIVE_CATEGORIES[int(np.argmax(p[1:]))]
                }
            spans = self.lexicon.find(text)
            found |= {s.category for s in spans}
            score = max(float(p[0]), self.model.cue_score if spans else 0.0)
            categories = tuple(c for c in SENSITIVE_CATEGORIES if c in found)
            out.append(SensitiveResult(score, categories, bool(categories), per, spans))
        return out
