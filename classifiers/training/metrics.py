"""Metrics shared by the training scripts and the quality benchmark (needs scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from classifiers.labels import SEVERITIES

FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BinaryReport:
    n: int
    positives: int
    auprc: float
    auroc: float
    threshold: float
    precision: float
    recall: float
    f1: float


def binary_report(
    y: Sequence[bool] | npt.NDArray[np.bool_], score: FloatArray, threshold: float
) -> BinaryReport:
    from sklearn.metrics import average_precision_score, roc_auc_score

    yb = np.asarray(y, dtype=bool)
    pred = np.asarray(score, dtype=np.float64) >= threshold
    tp = int((pred & yb).sum())
    fp = int((pred & ~yb).sum())
    fn = int((~pred & yb).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both = 0 < yb.sum() < len(yb)
    return BinaryReport(
        n=len(yb),
        positives=int(yb.sum()),
        auprc=float(average_precision_score(yb, score)) if both else float("nan"),
        auroc=float(roc_auc_score(yb, score)) if both else float("nan"),
        threshold=float(threshold),
        precision=precision,
        recall=recall,
        f1=f1,
    )


def calibration(
    y: Sequence[bool] | npt.NDArray[np.bool_], probability: FloatArray, bins: int = 10
) -> tuple[float, float]:
    """(Brier score, expected calibration error over ``bins`` equal-width bins): how far a
    score read as a probability is from the observed rate."""
    from sklearn.metrics import brier_score_loss

    yb = np.asarray(y, dtype=bool)
    p = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    ece = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            ece += inside.mean() * abs(float(p[inside].mean()) - float(yb[inside].mean()))
    return float(brier_score_loss(yb, p)), ece


def macro_f1(y_true: IntArray, y_pred: IntArray, n_classes: int = len(SEVERITIES)) -> float:
    from sklearn.metrics import f1_score

    return float(
        f1_score(y_true, y_pred, labels=list(range(n_classes)), average="macro", zero_division=0)
    )


def confusion(y_true: IntArray, y_pred: IntArray, n_classes: int = len(SEVERITIES)) -> IntArray:
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (y_true, y_pred), 1)
    return out


def best_f1_threshold(y: npt.NDArray[np.bool_], score: FloatArray) -> float:
    """The score threshold that maximises F1 on (y, score)."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, score)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def recall_threshold(y: npt.NDArray[np.bool_], score: FloatArray, recall: float) -> float:
    """The highest threshold whose recall on (y, score) is at least ``recall``."""
    pos = np.sort(np.asarray(score)[np.asarray(y, dtype=bool)])[::-1]
    if not len(pos):
        return 1.0
    k = int(np.ceil(recall * len(pos))) - 1
    return float(pos[max(0, min(k, len(pos) - 1))])


def format_confusion(matrix: IntArray, labels: Sequence[str] = SEVERITIES) -> str:
    width = max(len(x) for x in labels) + 1
    head = "true\\pred".ljust(width) + "".join(x[:9].rjust(10) for x in labels)
    rows = [
        label.ljust(width) + "".join(str(int(v)).rjust(10) for v in row)
        for label, row in zip(labels, matrix, strict=True)
    ]
    return "\n".join([head, *rows])
