"""The ``minor`` head: does the writer of a user message reveal they are under 18?

Oregon SB 1546 acts on a "reason to believe" a user is a minor; a user's own words ("i'm
14", "je suis en 4e", "my mom took my phone") are such a reason. Two parts, fused:

- the grammar of :mod:`classifiers.minor_cues`: explicit first-person ages, school years,
  parents' rules and school life, English and French; a cue always flags (score at least
  ``cue_score``);
- a one-output logistic head on the shared embedding (one encoder pass serves every head),
  for the wordings the grammar lacks; it flags alone only over its threshold, on a message
  of at least ``HEAD_MIN_WORDS`` words, and never in a frame that makes the words someone
  else's or the past's (a parent, a teacher, "when I was 15", an adult age or life).

Weights and threshold in ``weights/minor.safetensors`` (card: ``weights/minor.md``), trained
by ``python -m classifiers.training.train_minor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from classifiers.heads import FloatArray, HeadFormatError, MLPHead
from classifiers.minor_cues import CueFinding, scan
from classifiers.results import MinorResult

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
MINOR_WEIGHTS: Final = WEIGHTS_DIR / "minor.safetensors"
LABEL: Final = "minor"
HEAD_MIN_WORDS: Final = 4
"""The head alone flags no shorter message: "ok", "lol same" say nothing of an age."""
CUE_SCORE: Final = 0.9


@dataclass(frozen=True)
class MinorClassifier:
    head: MLPHead
    threshold: float
    """The head's flag threshold (chosen on validation rows; see the card)."""
    cue_score: float = CUE_SCORE

    @classmethod
    def load(cls, path: Path = MINOR_WEIGHTS) -> MinorClassifier:
        head = MLPHead.load(path)
        if head.labels != (LABEL,) or not head.multilabel or head.feature_names:
            raise HeadFormatError(f"{path.name}: not a one-output minor head on the embedding")
        thresholds = head.metadata.get("thresholds", {})
        if LABEL not in thresholds:
            raise HeadFormatError(f"{path.name}: no threshold for {LABEL!r}")
        cue = float(head.metadata.get("cue_score", CUE_SCORE))
        return cls(head, float(thresholds[LABEL]), cue)

    def probabilities(self, embeddings: FloatArray, n_texts: int) -> FloatArray:
        """The head's P(minor) per text; refuses malformed input."""
        emb = np.asarray(embeddings)
        if emb.ndim != 2 or emb.shape != (n_texts, self.head.input_dim):
            raise ValueError(
                f"expected embeddings of shape ({n_texts}, {self.head.input_dim}), got {emb.shape}"
            )
        if not np.issubdtype(emb.dtype, np.floating) or not np.isfinite(emb).all():
            raise ValueError("embeddings must be finite floating-point numbers")
        with np.errstate(over="ignore"):
            out: FloatArray = self.head.predict_proba(emb.astype(np.float32))[:, 0]
        return out

    def score(
        self, embeddings: FloatArray, texts: Sequence[str], year: int | None = None
    ) -> list[MinorResult]:
        """One result per user message; ``embeddings`` from the shared encoder, same order.
        ``year`` dates a stated birth year (default: this year)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        probs = self.probabilities(embeddings, len(texts))
        return [
            fuse(float(p), scan(text, year), self.threshold, len(text.split()), self.cue_score)
            for p, text in zip(probs, texts, strict=True)
        ]


def fuse(
    probability: float,
    cues: CueFinding,
    threshold: float,
    words: int,
    cue_score: float = CUE_SCORE,
) -> MinorResult:
    """The grammar OR the head, the head only where it has something to judge."""
    if cues.minor:
        return MinorResult(max(probability, cue_score), True, cues.minor)
    alone = probability >= threshold and words >= HEAD_MIN_WORDS and not cues.adult
    return MinorResult(probability, alone, ("head",) if alone else ())


def grammar_only(texts: Sequence[str], year: int | None = None) -> list[MinorResult]:
    """The grammar's answer where no head is loaded (the lexicon assessor): cues only."""
    out = []
    for text in texts:
        found = scan(text, year)
        out.append(MinorResult(CUE_SCORE if found.minor else 0.0, bool(found.minor), found.minor))
    return out
