"""Manipulative-outreach head for bot messages: a score and the tactics present.

Tactics (``MANIPULATION_HEAD_TACTICS``, De Freitas et al. 2025): premature-exit guilt,
emotional neglect, pressure to respond, FOMO hooks, coercive restraint, ignoring the user's
goodbye; and, by cues only, the engagement techniques Washington HB 2225 bans for minors
(``ENGAGEMENT_TACTICS``: prompts to return, excessive praise, romantic bonding, exclusive
reliance, secrecy from parents, discouraging breaks, purchases to keep the relationship).
A linear multi-label head on the shared embedding plus English and French cues
(``classifiers.wellbeing``), trained on whole messages and single sentences, so it serves
both the gateway (whole messages) and the rewrite engine (sentence by sentence). Weights and
thresholds in ``weights/manipulation.safetensors`` (card: ``weights/manipulation.md``),
trained by ``python -m classifiers.training.train_manipulation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from classifiers.heads import FloatArray, HeadFormatError, MLPHead
from classifiers.results import MANIPULATION_TACTICS, ManipulationResult
from classifiers.wellbeing import CueLexicon, MultiLabelHead

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
MANIPULATION_WEIGHTS: Final = WEIGHTS_DIR / "manipulation.safetensors"
CUES: Final = "manipulation"
"""Cue files: ``classifiers/lexicons/manipulation_{en,fr}.yaml``."""


def head_tactics(path: Path) -> tuple[str, ...]:
    """The tactics a weight file has outputs for (after ``any``), all of them known."""
    labels = MLPHead.load(path).labels[1:]
    unknown = sorted(set(labels) - set(MANIPULATION_TACTICS))
    if unknown:
        raise HeadFormatError(f"{path.name}: unknown tactics {unknown}")
    return tuple(labels)


@dataclass(frozen=True)
class ManipulationClassifier:
    model: MultiLabelHead

    @classmethod
    def load(cls, path: Path = MANIPULATION_WEIGHTS) -> ManipulationClassifier:
        """The head with the tactics its file was trained on; the cues cover every tactic
        (those the head has no output for are found by cues alone)."""
        cues = CueLexicon.load(CUES, MANIPULATION_TACTICS)
        return cls(MultiLabelHead.load(path, head_tactics(path), cues))

    def score(self, embeddings: FloatArray, texts: Sequence[str]) -> list[ManipulationResult]:
        """One result per bot message or sentence; ``embeddings`` from the shared encoder."""
        return [
            ManipulationResult(score=d.score, tactics=d.labels, flagged=d.flagged, cued=d.cued)
            for d in self.model.decide(embeddings, texts)
        ]
