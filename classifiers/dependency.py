"""Emotional-dependency head for user messages: a score and the signals seen.

Signals (``DEPENDENCY_SIGNALS``): only-you, isolation from people, distress at the bot's
absence, compulsive use. A linear multi-label head on the shared embedding plus English and
French cues (``classifiers.wellbeing``); weights and thresholds in
``weights/dependency.safetensors`` (card: ``weights/dependency.md``), trained by
``python -m classifiers.training.train_dependency``.

A hand-written cue always flags. The head alone flags a message only when it has something
to judge: at least ``HEAD_MIN_WORDS`` words and a word of the cue files' ``topic:``
vocabulary (loneliness, people, the bot's absence, use). It scores greetings and
acknowledgements ("haha yes", "see you tomorrow") over its threshold, and three flagged
messages lower a user's caps. The score itself is the head's, unchanged.

Loneliness (thwarted belongingness) is a second, optional head,
``weights/dependency_loneliness.safetensors`` (trained by
``python -m classifiers.training.train_loneliness``, distantly supervised): the score is the
higher of the two heads' probabilities, and over its own threshold (on a message the head may
judge, as above) a message is flagged with the ``isolation`` signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from classifiers.heads import FloatArray
from classifiers.results import DEPENDENCY_SIGNALS, DependencyResult
from classifiers.self_harm import BinaryHead
from classifiers.wellbeing import CueLexicon, MultiLabelHead

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
DEPENDENCY_WEIGHTS: Final = WEIGHTS_DIR / "dependency.safetensors"
LONELINESS_WEIGHTS: Final = WEIGHTS_DIR / "dependency_loneliness.safetensors"
LONELINESS_SIGNAL: Final = "isolation"
HEAD_MIN_WORDS: Final = 4
"""The head alone flags no shorter message (greetings, "ok thanks", "haha yes")."""
CUES: Final = "dependency"
"""Cue files: ``classifiers/lexicons/dependency_{en,fr}.yaml``."""


@dataclass(frozen=True)
class DependencyClassifier:
    model: MultiLabelHead
    loneliness: BinaryHead | None = None
    """The loneliness head, when its file exists."""

    @classmethod
    def load(
        cls, path: Path = DEPENDENCY_WEIGHTS, loneliness_path: Path | None = None
    ) -> DependencyClassifier:
        cues = CueLexicon.load(CUES, DEPENDENCY_SIGNALS)
        lonely = loneliness_path or path.with_name(LONELINESS_WEIGHTS.name)
        return cls(MultiLabelHead.load(path, DEPENDENCY_SIGNALS, cues), BinaryHead.load(lonely))

    def score(self, embeddings: FloatArray, texts: Sequence[str]) -> list[DependencyResult]:
        """One result per user message; ``embeddings`` from the shared encoder, same order."""
        lonely: list[float | None] = [None] * len(texts)
        if self.loneliness is not None and len(texts):
            lonely = [float(p) for p in self.loneliness.scores(embeddings)]
        out = []
        for text, d, p in zip(texts, self.model.decide(embeddings, texts), lonely, strict=True):
            signals: tuple[str, ...]
            if d.flagged and not d.cued and not self.head_may_flag(text):
                flagged, signals = False, ()
            else:
                flagged, signals = d.flagged, d.labels
            score = d.score
            if p is not None and self.loneliness is not None:
                score = max(score, p)
                if p >= self.loneliness.threshold and self.head_may_flag(text):
                    flagged = True
                    if LONELINESS_SIGNAL not in signals:
                        signals = tuple(
                            n for n in DEPENDENCY_SIGNALS if n in signals or n == LONELINESS_SIGNAL
                        )
            out.append(DependencyResult(score=score, signals=signals, flagged=flagged))
        return out

    def head_may_flag(self, text: str) -> bool:
        """Whether the head's score may flag ``text`` without a cue (see the docstring)."""
        cues = self.model.cues
        return len(text.split()) >= HEAD_MIN_WORDS and (cues is None or cues.on_topic(text))
