"""Shared runtime of the two wellbeing heads: dependency (user) and manipulation (bot).

Both are multi-label heads on the shared sentence embedding: one sigmoid for ``any`` (the
score: P(any signal/tactic present)) and one per signal/tactic, each with its own threshold
in the weight file's metadata. Cheap English and French regular-expression cues
(``classifiers/lexicons/{dependency,manipulation}_{en,fr}.yaml``) are fused by OR: a cue
sets its label, and lifts the score to at least ``cue_score``. A text is flagged when the
``any`` output passes its threshold (its labels: those passing their own thresholds, else
the most probable one) or a cue matches; flagged texts always name at least one label. The
cues cover explicit wording, in particular French, where the English MiniLM encoder is weak.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import yaml

from classifiers.heads import FloatArray, HeadFormatError, MLPHead
from classifiers.lexicons import LEXICON_DIR

ANY: Final = "any"
"""The head's first output: any signal/tactic present."""
CUE_LANGUAGES: Final[tuple[str, ...]] = ("en", "fr")
APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


@dataclass(frozen=True)
class CueLexicon:
    """Label → compiled patterns, matched on normalised text (see ``lexicons.normalise``)."""

    patterns: dict[str, re.Pattern[str]]
    """One alternation per label (labels without patterns are absent)."""
    topic: re.Pattern[str] | None = None
    """The files' ``topic:`` vocabulary: words a message on the subject tends to use."""

    @classmethod
    def load(
        cls,
        name: str,
        labels: Sequence[str],
        folder: Path = LEXICON_DIR,
        languages: Sequence[str] = CUE_LANGUAGES,
    ) -> CueLexicon:
        out: dict[str, list[re.Pattern[str]]] = {label: [] for label in labels}
        topic: list[str] = []
        for lang in languages:
            path = folder / f"{name}_{lang}.yaml"
            spec: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(spec, dict) or not isinstance(spec.get("labels"), dict):
                raise HeadFormatError(f"{path.name}: expected a mapping with 'labels'")
            for label, pats in spec["labels"].items():
                if label not in out:
                    raise HeadFormatError(f"{path.name}: unknown label {label!r}")
                if not isinstance(pats, list) or not all(isinstance(p, str) for p in pats):
                    raise HeadFormatError(f"{path.name}: {label} needs a list of patterns")
                out[label].extend(re.compile(p) for p in pats)  # refuses a bad pattern here
            words = spec.get("topic", [])
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise HeadFormatError(f"{path.name}: 'topic' needs a list of patterns")
            topic.extend(re.compile(w).pattern for w in words)
        combined = {
            k: re.compile("|".join(rf"(?<!\w)(?:{p.pattern})(?!\w)" for p in v))
            for k, v in out.items()
            if v
        }
        vocabulary = "|".join(rf"(?<!\w)(?:{w})(?!\w)" for w in topic)
        return cls(combined, re.compile(vocabulary) if topic else None)

    def on_topic(self, text: str) -> bool:
        """Whether ``text`` uses a word of the topic vocabulary (True when there is none)."""
        return self.topic is None or bool(self.topic.search(fast_normalise(text)))

    def scan(self, text: str) -> tuple[str, ...]:
        """Labels whose cue matches ``text``, in label order."""
        norm = fast_normalise(text)
        return tuple(k for k, pat in self.patterns.items() if pat.search(norm))


_COMBINING: Final = re.compile(r"[\u0300-\u036f]")
_SPACES: Final = re.compile(r"\s+")


def fast_normalise(text: str) -> str:
    """``lexicons.normalise``'s text (lower case, no accents, straight apostrophes, single
    spaces) without its character map: the cues need no spans, and this runs per message."""
    folded = unicodedata.normalize("NFKD", text.translate(APOSTROPHES).lower())
    return _SPACES.sub(" ", _COMBINING.sub("", folded)).strip()


@dataclass(frozen=True)
class Decision:
    score: float
    labels: tuple[str, ...]
    flagged: bool
    cued: bool = False
    """A hand-written cue matched (high precision, any language the cues cover)."""


@dataclass(frozen=True)
class MultiLabelHead:
    """A loaded multi-label head with its thresholds and cues."""

    head: MLPHead
    names: tuple[str, ...]
    """Signal/tactic names, in output order after ``any``."""
    thresholds: dict[str, float]
    """``any`` (the flag threshold) and one per name."""
    cue_score: float
    cues: CueLexicon | None

    @classmethod
    def load(cls, path: Path, names: Sequence[str], cues: CueLexicon | None) -> MultiLabelHead:
        head = MLPHead.load(path)
        expected = (ANY, *names)
        if head.labels != expected:
            raise HeadFormatError(f"{path.name}: labels {head.labels} are not {expected}")
        if not head.multilabel or head.feature_names:
            raise HeadFormatError(f"{path.name}: not a multi-label head on the embedding")
        thr = head.metadata.get("thresholds", {})
        missing = [k for k in expected if k not in thr]
        if missing:
            raise HeadFormatError(f"{path.name}: no threshold for {missing}")
        return cls(
            head=head,
            names=tuple(names),
            thresholds={k: float(thr[k]) for k in expected},
            cue_score=float(head.metadata.get("cue_score", 0.9)),
            cues=cues,
        )

    @property
    def order(self) -> tuple[str, ...]:
        """Every label a decision may name: the head's, then those only cues find."""
        extra = tuple(k for k in (self.cues.patterns if self.cues else ()) if k not in self.names)
        return (*self.names, *extra)

    def probabilities(self, embeddings: FloatArray, n_texts: int) -> FloatArray:
        """Per-output sigmoids, shape (n, 1 + len(names)); refuses malformed input."""
        emb = np.asarray(embeddings)
        dim = self.head.input_dim
        if emb.ndim != 2 or emb.shape != (n_texts, dim):
            raise ValueError(f"expected embeddings of shape ({n_texts}, {dim}), got {emb.shape}")
        if not np.issubdtype(emb.dtype, np.floating) or not np.isfinite(emb).all():
            raise ValueError("embeddings must be finite floating-point numbers")
        with np.errstate(over="ignore"):  # sigmoid of a very negative logit: exactly 0
            return self.head.predict_proba(emb.astype(np.float32))

    def decide(self, embeddings: FloatArray, texts: Sequence[str]) -> list[Decision]:
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        probs = self.probabilities(embeddings, len(texts))
        order = self.order
        out = []
        for text, p in zip(texts, probs, strict=True):
            score = float(p[0])
            found: set[str] = set()
            if score >= self.thresholds[ANY]:
                # Per-label decisions; the most probable label when none passes its own.
                found = {n for j, n in enumerate(self.names) if p[j + 1] >= self.thresholds[n]}
                found = found or {self.names[int(np.argmax(p[1:]))]}
            cued = set(self.cues.scan(text)) if self.cues else set()
            if cued:
                score = max(score, self.cue_score)
            labels = tuple(n for n in order if n in found | cued)
            out.append(Decision(score, labels, bool(labels), bool(cued)))
        return out
