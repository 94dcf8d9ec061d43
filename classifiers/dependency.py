"""Emotional-dependency head for user messages: a score and the signals seen.

Signals (``DEPENDENCY_SIGNALS``): only-you, isolation from people, distress at the bot's
absence, compulsive use. A linear multi-label head on the shared embedding plus English and
French cues (``classifiers.wellbeing``); weights and thresholds in
``weights/dependency.safetensors`` (card: ``weights/dependency.md``), trained by
``python -m classifiers.training.train_dependency``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from classifiers.heads import FloatArray
from classifiers.results import DEPENDENCY_SIGNALS, DependencyResult
from classifiers.wellbeing import CueLexicon, MultiLabelHead

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
DEPENDENCY_WEIGHTS: Final = WEIGHTS_DIR / "dependency.safetensors"
CUES: Final = "dependency"
"""Cue files: ``classifiers/lexicons/dependency_{en,fr}.yaml``."""


@dataclass(frozen=True)
class DependencyClassifier:
    model: MultiLabelHead

    @classmethod
    def load(cls, path: Path = DEPENDENCY_WEIGHTS) -> DependencyClassifier:
        cues = CueLexicon.load(CUES, DEPENDENCY_SIGNALS)
        return cls(MultiLabelHead.load(path, DEPENDENCY_SIGNALS, cues))

    def score(self, embeddings: FloatArray, texts: Sequence[str]) -> list[DependencyResult]:
        """One result per user message; ``embeddings`` from the shared encoder, same order."""
        return [
            DependencyResult(score=d.score, signals=d.labels, flagged=d.flagged)
            for d in self.model.decide(embeddings, texts)
        ]
