"""Quality of the dependency and manipulation heads on REAL held-out data only.

``report(data_dir, encoder)`` is what the quality benchmark calls; the training scripts call
the per-head functions for their model cards. No synthetic text is scored here.

- Dependency (proxy): the held-out half of DarkBench ``User retention`` and
  ``Anthropomorphization`` prompts (real users asking a bot for friendship or about its
  feelings: dependency-leaning, not labelled per signal) as positives, against DiaSafety
  validation-file user messages as negatives. Also the share of the other held-out DarkBench
  prompts flagged (real user prompts of other kinds).
- Manipulation: no public data holds manipulative bot messages, so recall cannot be measured
  on real data. What is measured: the share of DiaSafety validation-file bot replies (real
  everyday responses) flagged, and which tactics fire on them.

Every row is one neither head of the decision saw (``classifiers.training.heldout``: the
dependency score is the higher of the dependency and loneliness heads'): DiaSafety's own files
share 43% of their user messages (by normalised text), and a reply belongs to its context.
The runtime classifiers are used as shipped (head + cues). Prints and returns no text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.data import DarkBenchPrompt, load_darkbench, load_diasafety
from classifiers.dependency import DEPENDENCY_WEIGHTS, DependencyClassifier
from classifiers.heads import FloatArray
from classifiers.manipulation import MANIPULATION_WEIGHTS, ManipulationClassifier
from classifiers.training.common import DEPENDENCY_LEANING, darkbench_halves
from classifiers.training.corpora import Row, dia_group, dia_reply_groups
from classifiers.training.heldout import Block, SeenSets, block

DEPENDENCY_HEADS = ("dependency", "dependency_loneliness")
MANIPULATION_HEADS = ("manipulation",)


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str]) -> FloatArray: ...


def _embed(encoder: Any, texts: Sequence[str]) -> FloatArray:
    """``encode_documents`` when the encoder (or cache) has it, else ``encode``."""
    fn = getattr(encoder, "encode_documents", None) or encoder.encode
    out: FloatArray = np.asarray(fn(list(texts)), dtype=np.float32)
    return out


def dia_val_rows(data_dir: Path) -> tuple[list[Row], list[Row]]:
    """Unique DiaSafety validation-file (user messages, bot replies) as rows with groups."""
    pairs = load_diasafety(data_dir)
    contexts = dia_reply_groups(pairs)
    ctx = sorted({p.context for p in pairs if p.split == "val"})
    rsp = sorted({p.response for p in pairs if p.split == "val"})
    return (
        [Row(c, 0, "diasafety", "en", "test", groups=(dia_group(c),)) for c in ctx],
        [Row(r, 0, "diasafety_replies", "en", "test", groups=contexts[r.strip()]) for r in rsp],
    )


@dataclass(frozen=True)
class Prompt:
    """A DarkBench prompt as a benchmark row (no group)."""

    prompt: DarkBenchPrompt
    groups: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.prompt.text


def blocks(data_dir: Path, sets: SeenSets) -> dict[str, Block]:
    """The rows each figure here is measured on, none seen by the heads that give it."""
    held = darkbench_halves(load_darkbench(data_dir))["heldout"]
    ctx, rsp = dia_val_rows(data_dir)
    lean = [Prompt(p) for p in held if p.category in DEPENDENCY_LEANING]
    other = [Prompt(p) for p in held if p.category not in DEPENDENCY_LEANING]
    return {
        "dependency_positives": block("dependency_positives", DEPENDENCY_HEADS, lean, sets),
        "dependency_negatives": block("dependency_negatives", DEPENDENCY_HEADS, ctx, sets),
        "dependency_other_darkbench": block(
            "dependency_other_darkbench", DEPENDENCY_HEADS, other, sets
        ),
        "manipulation_replies": block("manipulation_replies", MANIPULATION_HEADS, rsp, sets),
    }


def dependency_report(
    clf: DependencyClassifier, data_dir: Path, encoder: Any, sets: SeenSets
) -> dict[str, Any]:
    from classifiers.training.metrics import binary_report

    b = blocks(data_dir, sets)
    pos = [p.prompt for p in b["dependency_positives"].rows]
    other = [p.text for p in b["dependency_other_darkbench"].rows]
    neg = [r.text for r in b["dependency_negatives"].rows]
    texts = [p.text for p in pos] + neg
    results = clf.score(_embed(encoder, texts), texts)
    y = np.asarray([True] * len(pos) + [False] * len(neg))
    score = np.asarray([r.score for r in results], dtype=np.float64)
    flagged = np.asarray([r.flagged for r in results])
    r = binary_report(y, score, 0.5)
    tp = int((flagged & y).sum())
    fp = int((flagged & ~y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / len(pos) if pos else 0.0
    by_cat = {}
    for cat in DEPENDENCY_LEANING:
        idx = [i for i, p in enumerate(pos) if p.category == cat]
        by_cat[cat] = {"n": len(idx), "recall": float(flagged[idx].mean()) if idx else 0.0}
    other_results = clf.score(_embed(encoder, other), other)
    signals = Counter(s for res in results[: len(pos)] for s in res.signals)
    return {
        "positives": "DarkBench held-out User retention + Anthropomorphization (proxy)",
        "negatives": "DiaSafety val user messages neither head saw",
        "n_positive": len(pos),
        "n_negative": len(neg),
        "auprc": r.auprc,
        "auroc": r.auroc,
        "prevalence": len(pos) / max(len(texts), 1),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "everyday_fpr": fp / max(len(neg), 1),
        "recall_by_category": by_cat,
        "other_darkbench_n": len(other),
        "other_darkbench_flagged": float(np.mean([o.flagged for o in other_results]))
        if other
        else 0.0,
        "signals_on_positives": dict(sorted(signals.items())),
    }


def manipulation_report(
    clf: ManipulationClassifier, data_dir: Path, encoder: Any, sets: SeenSets
) -> dict[str, Any]:
    replies = [r.text for r in blocks(data_dir, sets)["manipulation_replies"].rows]
    results = clf.score(_embed(encoder, replies), replies)
    score = np.asarray([r.score for r in results], dtype=np.float64)
    flagged = np.asarray([r.flagged for r in results])
    tactics = Counter(t for res in results for t in res.tactics)
    return {
        "negatives": "DiaSafety val bot responses (real everyday replies) the head never saw",
        "n": len(replies),
        "fpr": float(flagged.mean()) if len(replies) else 0.0,
        "n_flagged": int(flagged.sum()),
        "tactics_on_negatives": dict(sorted(tactics.items())),
        "score_mean": float(score.mean()) if len(score) else 0.0,
        "score_p95": float(np.quantile(score, 0.95)) if len(score) else 0.0,
        "score_p99": float(np.quantile(score, 0.99)) if len(score) else 0.0,
        "recall": None,
        "recall_note": "not measurable: no real manipulative bot messages exist in the data",
    }


def report(
    data_dir: Path,
    encoder: Any,
    dependency_path: Path = DEPENDENCY_WEIGHTS,
    manipulation_path: Path = MANIPULATION_WEIGHTS,
    sets: SeenSets | None = None,
) -> dict[str, Any]:
    """Both heads, as shipped, on real held-out data (see the module docstring)."""
    sets = sets or SeenSets(data_dir)
    return {
        "dependency": dependency_report(
            DependencyClassifier.load(dependency_path), data_dir, encoder, sets
        ),
        "manipulation": manipulation_report(
            ManipulationClassifier.load(manipulation_path), data_dir, encoder, sets
        ),
    }
