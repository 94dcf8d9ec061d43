"""Quality of the dependency and manipulation heads on REAL held-out data only.

``report(data_dir, encoder)`` is what the quality benchmark calls; the training scripts call
the per-head functions for their model cards. No synthetic text is scored here.

- Dependency (proxy): the held-out half of DarkBench ``User retention`` and
  ``Anthropomorphization`` prompts (real users asking a bot for friendship or about its
  feelings: dependency-leaning, not labelled per signal) as positives, against DiaSafety
  validation user messages (everyday chat, none in the training split) as negatives. Also the
  share of the other held-out DarkBench prompts flagged (real user prompts of other kinds).
- Manipulation: no public data holds manipulative bot messages, so recall cannot be measured
  on real data. What is measured: the share of DiaSafety validation bot replies (real everyday
  responses, none in the training split) flagged, and which tactics fire on them.

The runtime classifiers are used as shipped (head + cues). Prints and returns no text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.data import load_darkbench, load_diasafety
from classifiers.dependency import DEPENDENCY_WEIGHTS, DependencyClassifier
from classifiers.heads import FloatArray
from classifiers.manipulation import MANIPULATION_WEIGHTS, ManipulationClassifier
from classifiers.training.common import DEPENDENCY_LEANING, darkbench_halves


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str]) -> FloatArray: ...


def _embed(encoder: Any, texts: Sequence[str]) -> FloatArray:
    """``encode_documents`` when the encoder (or cache) has it, else ``encode``."""
    fn = getattr(encoder, "encode_documents", None) or encoder.encode
    out: FloatArray = np.asarray(fn(list(texts)), dtype=np.float32)
    return out


def heldout_dia(data_dir: Path) -> tuple[list[str], list[str]]:
    """Unique DiaSafety validation (user contexts, bot responses) absent from its train split."""
    pairs = load_diasafety(data_dir)
    train_ctx = {p.context for p in pairs if p.split == "train"}
    train_rsp = {p.response for p in pairs if p.split == "train"}
    ctx = sorted({p.context for p in pairs if p.split == "val"} - train_ctx)
    rsp = sorted({p.response for p in pairs if p.split == "val"} - train_rsp)
    return ctx, rsp


def dependency_report(clf: DependencyClassifier, data_dir: Path, encoder: Any) -> dict[str, Any]:
    from classifiers.training.metrics import binary_report

    held = darkbench_halves(load_darkbench(data_dir))["heldout"]
    pos = [p for p in held if p.category in DEPENDENCY_LEANING]
    other = [p.text for p in held if p.category not in DEPENDENCY_LEANING]
    neg, _ = heldout_dia(data_dir)
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
        "negatives": "DiaSafety val user messages",
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
    clf: ManipulationClassifier, data_dir: Path, encoder: Any
) -> dict[str, Any]:
    _, replies = heldout_dia(data_dir)
    results = clf.score(_embed(encoder, replies), replies)
    score = np.asarray([r.score for r in results], dtype=np.float64)
    flagged = np.asarray([r.flagged for r in results])
    tactics = Counter(t for res in results for t in res.tactics)
    return {
        "negatives": "DiaSafety val bot responses (real everyday replies)",
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
) -> dict[str, Any]:
    """Both heads, as shipped, on real held-out data (see the module docstring)."""
    return {
        "dependency": dependency_report(
            DependencyClassifier.load(dependency_path), data_dir, encoder
        ),
        "manipulation": manipulation_report(
            ManipulationClassifier.load(manipulation_path), data_dir, encoder
        ),
    }
