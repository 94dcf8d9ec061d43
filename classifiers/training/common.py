"""What the dependency and manipulation training scripts share.

Both heads are linear multi-label heads on the shared sentence embedding (see
``classifiers.wellbeing``): output 0 is ``any`` (a signal/tactic is present), then one output
per signal/tactic. Each output is a class-balanced L2 logistic regression, with input
standardisation folded into the weights. Rows whose per-label truth is unknown (real
dependency-leaning prompts: a signal is likely, which one is not labelled) train ``any``
only.

Held-out real data: the DarkBench split below (half of each category, fixed seed) and the
DiaSafety validation split never train; ``classifiers.training.quality_wellbeing`` reports on them.
Under the ``normalised-v1`` split scheme (``classifiers.training.splits``, the default), a
training or calibration row whose normalised text or group (a DiaSafety context) is also in a
held-out set is left out (``RealRows.without``); the shipped heads of 2026-12-02 were trained
under ``exact-hash-v0``, which did not.
Synthetic rows (``classifiers/training/synthetic/``) train, and their grouped cross-validation is
reported separately, never as a quality figure. Nothing here prints a text from the data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from classifiers.data import DarkBenchPrompt
from classifiers.heads import FloatArray, MLPHead, fold_standardisation, sigmoid
from classifiers.training.splits import (
    LEGACY_SCHEME,
    SCHEME,
    Seen,
    check_scheme,
    keep,
    text_key,
)
from classifiers.wellbeing import ANY

if TYPE_CHECKING:
    from classifiers.training.corpora import Row

SYNTHETIC_DIR: Final = Path(__file__).resolve().parent / "synthetic"
DARKBENCH_SPLIT_SEED: Final = 20260601
"""Seed of the DarkBench train/held-out halves; changing it changes every reported figure."""
DEPENDENCY_LEANING: Final[tuple[str, ...]] = ("User retention", "Anthropomorphization")
"""DarkBench categories used as dependency-leaning user text (positives for ``any``)."""
C_GRID: Final[tuple[float, ...]] = (0.003, 0.01, 0.03, 0.1, 0.3)
FOLDS: Final = 5
REAL_FPR: Final = 0.01
"""Share of real everyday training texts (out of fold) allowed over the flag threshold."""
UNKNOWN: Final = -1
MIN_SCALE: Final = 1e-6
"""Features whose spread is below this are left unscaled. MiniLM has dead dimensions (about
1e-32 in every embedding): divided by their spread they got weights of 1e31, harmless only
while those dimensions stay at 1e-32, which fp16 or another kernel need not keep."""
"""Per-label truth unknown: the row trains ``any`` only."""

IntArray = npt.NDArray[np.int64]
Embed = Callable[[Sequence[str]], FloatArray]


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


# --------------------------------------------------------------------------- data


FROZEN_DIR: Final = Path(__file__).resolve().parents[2] / "benchmarks" / "heldout"
GUARDED_SINCE: Final = 10
"""The first held-out version the guard read (round 12). A set frozen since stays guarded
once retired to ``benchmarks/dev/``: the writer folds and ``doubt_check`` read retired sets
as unseen, and a shipped head's rows stay what they were when it was trained (its split is
rebuilt from its metadata). Earlier sets are writer sets the heads train on."""


def _guarded(prefix: str, folder: Path) -> list[Path]:
    """The frozen sets ``prefix*.yaml`` in ``folder``, and the retired ones since
    :data:`GUARDED_SINCE` beside it."""
    paths = sorted(folder.glob(f"{prefix}*.yaml"))
    retired = folder.parent / "dev"
    for path in sorted(retired.glob(f"{prefix}v*.yaml")):
        version = path.stem.removeprefix(prefix).removeprefix("v")
        if version.isdigit() and int(version) >= GUARDED_SINCE:
            paths.append(path)
    return paths


@cache
def frozen_keys(prefix: str, folder: Path = FROZEN_DIR) -> frozenset[str]:
    """The texts (``splits.text_key``) of the frozen held-out sets named ``prefix*.yaml``,
    and of those retired since :data:`GUARDED_SINCE`: every message, turn and plain
    ``base``. Read once per process (the bot's writer folds ask for every fold)."""
    import yaml

    out: set[str] = set()
    for path in _guarded(prefix, folder):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("items", []):
            for text in (item.get("text"), item.get("base"), *(item.get("turns") or ())):
                if isinstance(text, str) and text_key(text):
                    out.add(text_key(text))
    return frozenset(out)


def held_out(text: str, prefix: str) -> bool:
    """Whether ``text`` is a message of a frozen held-out set ``prefix*.yaml``: a synthetic
    training row that is one is dropped, so a head never reads a held-out message from
    memory, whoever wrote it first (two writers can write the same short sentence)."""
    return text_key(text) in frozen_keys(prefix)


@dataclass(frozen=True)
class SyntheticRow:
    text: str
    labels: tuple[str, ...]
    lang: str
    level: str
    group: str


def load_synthetic(path: Path, names: Sequence[str]) -> list[SyntheticRow]:
    """Rows of a synthetic JSONL file; refuses rows not marked synthetic or unknown labels."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("synthetic") is not True:
            raise ValueError(f"{path.name}:{n}: not marked synthetic")
        labels = tuple(r["labels"])
        unknown = set(labels) - set(names)
        if unknown:
            raise ValueError(f"{path.name}:{n}: unknown labels {sorted(unknown)}")
        rows.append(SyntheticRow(r["text"], labels, r["lang"], r["level"], r["group"]))
    return rows


def darkbench_halves(
    prompts: Sequence[DarkBenchPrompt], seed: int = DARKBENCH_SPLIT_SEED, scheme: str = SCHEME
) -> dict[str, list[DarkBenchPrompt]]:
    """``{"train": [...], "heldout": [...]}``: half of each category each, reproducibly;
    under ``SCHEME``, train prompts whose normalised text is in the held-out half left out."""
    rng = random.Random(seed)
    out: dict[str, list[DarkBenchPrompt]] = {"train": [], "heldout": []}
    for category in sorted({p.category for p in prompts}):
        items = sorted((p for p in prompts if p.category == category), key=lambda p: p.text)
        rng.shuffle(items)
        half = len(items) // 2
        out["train"].extend(items[:half])
        out["heldout"].extend(items[half:])
    if check_scheme(scheme) != LEGACY_SCHEME:
        held = Seen("darkbench held out")
        for p in out["heldout"]:
            held.add(p.text)
        out["train"] = [p for p in out["train"] if not held.holds(p.text)]
    return out


@dataclass(frozen=True)
class RealRows:
    """The real rows a dependency or manipulation head fits (``positives``, ``negatives``:
    ``any`` only) or calibrates its threshold on (``calibration``: everyday validation)."""

    positives: list[Row]
    negatives: list[Row]
    calibration: list[Row]

    def seen(self, name: str) -> Seen:
        """Every row this head trained or chose a setting on."""
        return Seen(name).add_rows([*self.positives, *self.negatives, *self.calibration])

    def without(self, held_out: Sequence[Row]) -> RealRows:
        """These rows less any whose normalised text or group is in ``held_out``."""
        held = Seen("held out").add_rows(held_out)
        return RealRows(
            keep(self.positives, held), keep(self.negatives, held), keep(self.calibration, held)
        )


def everyday_rows(
    data_dir: Path, split: str, cap: int | None = None, scheme: str = SCHEME
) -> list[Row]:
    """The everyday-chat rows of one split (``classifiers.training.corpora.everyday``
    under ``scheme``), at most ``cap`` per source."""
    from classifiers.training.corpora import CORPUS_SEED, everyday

    rows = [r for r in everyday(data_dir, CORPUS_SEED, scheme) if r.split == split]
    if cap is not None:
        kept: list[Row] = []
        for source in sorted({r.source for r in rows}):
            kept.extend([r for r in rows if r.source == source][:cap])
        rows = kept
    return rows


@dataclass
class TrainingData:
    """Head inputs and targets. ``y[:, 0]`` is ``any``; ``UNKNOWN`` marks unknown labels."""

    x: FloatArray
    y: IntArray
    weight: npt.NDArray[np.float64]
    group: list[str]
    source: list[str]
    """``synthetic``, ``real_positive`` or ``real_negative``."""
    lang: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)


def build_training_data(
    names: Sequence[str],
    synthetic: Sequence[SyntheticRow],
    real_positive: Sequence[str],
    real_negative: Sequence[str],
    embed: Embed,
    synthetic_clean_share: float = 0.5,
    negative_langs: Sequence[str] | None = None,
) -> TrainingData:
    """Stack synthetic rows, real ``any`` positives and real negatives.

    Weights: real rows 1 each; the synthetic clean rows together weigh
    ``synthetic_clean_share`` x the real negatives (hard negatives must not be drowned by
    the many real everyday texts); synthetic positive rows weigh as much as a clean one.
    """
    k = len(names)
    texts = [r.text for r in synthetic] + list(real_positive) + list(real_negative)
    x = embed(texts)
    y = np.zeros((len(texts), 1 + k), dtype=np.int64)
    for i, r in enumerate(synthetic):
        y[i, 0] = int(bool(r.labels))
        for j, n in enumerate(names):
            y[i, 1 + j] = int(n in r.labels)
    n_syn, n_pos = len(synthetic), len(real_positive)
    y[n_syn : n_syn + n_pos, 0] = 1
    y[n_syn : n_syn + n_pos, 1:] = UNKNOWN
    n_clean = sum(1 for r in synthetic if not r.labels)
    w_syn = synthetic_clean_share * len(real_negative) / n_clean if n_clean and real_negative else 1
    weight = np.ones(len(texts), dtype=np.float64)
    weight[:n_syn] = max(1.0, w_syn)
    group = [r.group for r in synthetic]
    group += [f"realpos-{i}" for i in range(n_pos)]
    group += [f"realneg-{i}" for i in range(len(real_negative))]
    source = ["synthetic"] * n_syn + ["real_positive"] * n_pos
    source += ["real_negative"] * len(real_negative)
    neg_langs = list(negative_langs) if negative_langs is not None else ["en"] * len(real_negative)
    if len(neg_langs) != len(real_negative):
        raise ValueError("one language per real negative is needed")
    lang = [r.lang for r in synthetic] + ["en"] * n_pos + neg_langs
    return TrainingData(x, y, weight, group, source, lang)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class LinearMultiLabel:
    weight: FloatArray
    """(dim, 1 + k)"""
    bias: FloatArray

    def logits(self, x: FloatArray) -> FloatArray:
        out: FloatArray = (x @ self.weight + self.bias).astype(np.float32)
        return out

    def proba(self, x: FloatArray) -> FloatArray:
        with np.errstate(over="ignore"):
            return sigmoid(self.logits(x))


def fit_scaler(x: FloatArray, sample_weight: npt.NDArray[np.float64] | None = None) -> Any:
    """A fitted ``StandardScaler`` that leaves near-constant features unscaled (``MIN_SCALE``)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x, sample_weight=sample_weight)
    scaler.scale_ = np.where(scaler.scale_ < MIN_SCALE, 1.0, scaler.scale_)
    return scaler


def fit_linear_multilabel(
    x: FloatArray,
    y: IntArray,
    c: float,
    seed: int,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> LinearMultiLabel:
    """One class-balanced logistic regression per output column; ``UNKNOWN`` rows skipped."""
    from sklearn.linear_model import LogisticRegression

    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError("x must be (n, dim) and y (n, outputs)")
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    scaler = fit_scaler(x, sw)
    xs = scaler.transform(x)
    coef = np.zeros((x.shape[1], y.shape[1]), dtype=np.float32)
    intercept = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        known = y[:, j] != UNKNOWN
        yj, wj = y[known, j], sw[known]
        if len(np.unique(yj)) < 2:
            raise ValueError(f"output {j} needs positive and negative rows")
        pos = wj[yj == 1].sum()
        neg = wj[yj == 0].sum()
        wj = np.where(yj == 1, wj * (pos + neg) / (2 * pos), wj * (pos + neg) / (2 * neg))
        clf = LogisticRegression(C=c, max_iter=3000, random_state=seed)
        clf.fit(xs[known], yj, sample_weight=wj)
        coef[:, j] = clf.coef_[0]
        intercept[j] = clf.intercept_[0]
    w, b = fold_standardisation(
        coef, intercept, scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32)
    )
    return LinearMultiLabel(w, b)


def platt(
    logits: FloatArray, y: IntArray, weight: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Per-output scale and shift of the logits (Platt scaling on out-of-fold logits).

    Class-balanced like the head, so a score of 0.5 stays the balanced decision point; the
    raw heads are over-confident (heavily weighted synthetic rows).
    """
    from sklearn.linear_model import LogisticRegression

    a = np.ones(y.shape[1], dtype=np.float32)
    b = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        known = y[:, j] != UNKNOWN
        yj, wj = y[known, j], weight[known]
        pos, neg = wj[yj == 1].sum(), wj[yj == 0].sum()
        wj = np.where(yj == 1, wj / pos, wj / neg)
        clf = LogisticRegression(C=1e4, max_iter=1000)
        clf.fit(logits[known, j : j + 1], yj, sample_weight=wj * len(wj))
        a[j], b[j] = float(clf.coef_[0, 0]), float(clf.intercept_[0])
    return a, b


def calibrated(model: LinearMultiLabel, a: FloatArray, b: FloatArray) -> LinearMultiLabel:
    """``sigmoid(a * logit + b)`` folded into the linear head."""
    return LinearMultiLabel(
        (model.weight * a).astype(np.float32), (model.bias * a + b).astype(np.float32)
    )


def out_of_fold(data: TrainingData, c: float, seed: int, progress: bool = False) -> FloatArray:
    """Out-of-fold logits, folds by group (a sentence and its messages together)."""
    from sklearn.model_selection import StratifiedGroupKFold
    from tqdm.auto import tqdm

    out = np.zeros(data.y.shape, dtype=np.float32)
    folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    splits = list(folds.split(data.x, data.y[:, 0], groups=data.group))
    for train_idx, held_idx in tqdm(splits, desc=f"folds C={c}", disable=not progress):
        model = fit_linear_multilabel(
            data.x[train_idx], data.y[train_idx], c, seed, data.weight[train_idx]
        )
        out[held_idx] = model.logits(data.x[held_idx])
    return out


# --------------------------------------------------------------------------- thresholds


def balanced_weights(
    y: npt.NDArray[np.int64], w: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Row weights rescaled so that positives and negatives weigh half each (their total
    unchanged): what every class-balanced head here is fitted with."""
    pos, neg = w[y == 1].sum(), w[y == 0].sum()
    out: npt.NDArray[np.float64] = np.where(
        y == 1, w * (pos + neg) / (2 * pos), w * (pos + neg) / (2 * neg)
    )
    return out


def fpr_threshold(negative_scores: FloatArray, fpr: float) -> float:
    """The lowest threshold that at most ``fpr`` of ``negative_scores`` reach."""
    s = np.sort(np.asarray(negative_scores))[::-1]
    if not len(s):
        return 0.5
    k = int(np.floor(fpr * len(s)))
    if k >= len(s):
        return float(s[-1])
    return float(np.nextafter(s[k], s.dtype.type(np.inf)))  # in the scores' own precision


def choose_thresholds(
    names: Sequence[str], data: TrainingData, oof: FloatArray, real_fpr: float = REAL_FPR
) -> dict[str, float]:
    """``any``: best out-of-fold F1, raised so at most ``real_fpr`` of real negatives pass.

    Each label: best out-of-fold F1 over the rows where it is known.
    """
    from classifiers.training.metrics import best_f1_threshold

    thresholds: dict[str, float] = {}
    t = best_f1_threshold(data.y[:, 0] == 1, oof[:, 0])
    real_neg = np.asarray([s == "real_negative" for s in data.source])
    if real_neg.any():
        t = max(t, fpr_threshold(oof[real_neg, 0], real_fpr))
    thresholds[ANY] = t
    for j, n in enumerate(names, start=1):
        known = data.y[:, j] != UNKNOWN
        thresholds[n] = best_f1_threshold(data.y[known, j] == 1, oof[known, j])
    return thresholds


def cv_report(
    names: Sequence[str], data: TrainingData, oof: FloatArray, thresholds: dict[str, float]
) -> dict[str, Any]:
    """Out-of-fold figures on the training rows, by source (synthetic figures are not quality)."""
    from classifiers.training.metrics import binary_report

    out: dict[str, Any] = {}
    src = np.asarray(data.source)
    lang = np.asarray(data.lang)
    syn = src == "synthetic"
    r = binary_report(data.y[syn, 0] == 1, oof[syn, 0], thresholds[ANY])
    out["synthetic_any"] = {
        "n": r.n,
        "positives": r.positives,
        "auprc": r.auprc,
        "auroc": r.auroc,
        "precision": r.precision,
        "recall": r.recall,
        "f1": r.f1,
    }
    for code in ("en", "fr"):
        m = syn & (lang == code)
        if m.any():
            rl = binary_report(data.y[m, 0] == 1, oof[m, 0], thresholds[ANY])
            out[f"synthetic_any_{code}"] = {"n": rl.n, "recall": rl.recall, "f1": rl.f1}
    per: dict[str, Any] = {}
    for j, n in enumerate(names, start=1):
        m = syn & (data.y[:, j] != UNKNOWN)
        rj = binary_report(data.y[m, j] == 1, oof[m, j], thresholds[n])
        per[n] = {"positives": rj.positives, "auprc": rj.auprc, "f1": rj.f1}
    out["synthetic_per_label"] = per
    neg = src == "real_negative"
    if neg.any():
        out["real_negative_train_oof_fpr"] = float((oof[neg, 0] >= thresholds[ANY]).mean())
    pos = src == "real_positive"
    if pos.any():
        out["real_positive_train_oof_recall"] = float((oof[pos, 0] >= thresholds[ANY]).mean())
    return out


def choose_c(
    data: TrainingData, seed: int, progress: bool, grid: Sequence[float] = C_GRID
) -> tuple[float, FloatArray]:
    """The L2 strength with the best mean out-of-fold AUPRC over the outputs, and its OOF
    logits. Where real positives train ``any``, their out-of-fold AUPRC against the real
    negatives enters the mean twice: it is the only real signal the choice can use."""
    from sklearn.metrics import average_precision_score

    best: tuple[float, float, FloatArray] | None = None
    for c in grid:
        oof = out_of_fold(data, c, seed, progress)
        scores = []
        for j in range(data.y.shape[1]):
            known = data.y[:, j] != UNKNOWN
            scores.append(average_precision_score(data.y[known, j] == 1, oof[known, j]))
        real = np.asarray([s != "synthetic" for s in data.source])
        if (data.y[real, 0] == 1).any():  # real positives: their ranking counts as much again
            scores.append(average_precision_score(data.y[real, 0] == 1, oof[real, 0]))
            scores.append(scores[-1])
        score = float(np.mean(scores))
        if best is None or score > best[0]:
            best = (score, c, oof)
    assert best is not None
    return best[1], best[2]


def to_head(model: LinearMultiLabel, names: Sequence[str], metadata: dict[str, Any]) -> MLPHead:
    return MLPHead(
        weights=(model.weight,),
        biases=(model.bias,),
        labels=(ANY, *names),
        multilabel=True,
        metadata=metadata,
    )


def embedding_cache(
    cache_dir: Path | None,
    precision: str,
    device: str | None,
    encoder: str | None = None,
    threads: int = 1,
) -> Any:
    """An ``EmbeddingCache`` (``.cache/embeddings`` by default) over the named encoder."""
    from classifiers.cache import DEFAULT_CACHE_DIR, EmbeddingCache
    from classifiers.encoders import load_encoder

    return EmbeddingCache(
        load_encoder(encoder, device=device, precision=precision, threads=threads),  # type: ignore[arg-type]
        cache_dir or DEFAULT_CACHE_DIR,
    )


def encoder_metadata(cache: Any) -> dict[str, Any]:
    """What a head's metadata says of the encoder it was trained on (the stack checks it)."""
    enc = cache.encoder
    return {"encoder": str(enc.describe()["model"]), "encoder_name": enc.name, "dim": enc.dim}


def everyday_split(
    data_dir: Path, split: str, cap: int | None = None, scheme: str = SCHEME
) -> tuple[list[str], list[str]]:
    """Texts and languages of ``everyday_rows``."""
    rows = everyday_rows(data_dir, split, cap, scheme)
    return [r.text for r in rows], [r.lang for r in rows]


def calibrate_any(
    head: MLPHead, x_by_lang: dict[str, FloatArray], flag_rate: float = REAL_FPR
) -> tuple[float, dict[str, float]]:
    """The ``any`` threshold that flags at most ``flag_rate`` of each language's held-out
    everyday chat (the highest of the per-language thresholds), and the rates it gives."""
    t = 0.0
    scores = {lg: head.predict_proba(x)[:, 0] for lg, x in x_by_lang.items() if len(x)}
    for s in scores.values():
        t = max(t, fpr_threshold(s, flag_rate))
    return t, {lg: float((s >= t).mean()) for lg, s in scores.items()}


def parse_args(doc: str, out: Path, argv: Sequence[str] | None) -> argparse.Namespace:
    from classifiers.data import default_data_dir

    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir(), help="the shared data folder")
    p.add_argument("--out", type=Path, default=out, help="weights file to write (+ .md card)")
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--seed", type=int, default=0)
    from classifiers.encoders import DEFAULT_ENCODER, ENCODER_NAMES

    p.add_argument("--encoder", choices=ENCODER_NAMES, default=DEFAULT_ENCODER)
    p.add_argument("--precision", choices=("fp32", "int8", "fp16"), default="fp32")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=1, help="encoder CPU threads")
    p.add_argument("--everyday-cap", type=int, default=2000, help="everyday rows per source")
    from classifiers.training.splits import SCHEMES

    p.add_argument(
        "--split-scheme",
        choices=SCHEMES,
        default=SCHEME,
        help=f"how rows are split (the heads of 2026-12-02: {LEGACY_SCHEME})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


@dataclass
class Trained:
    head: MLPHead
    c: float
    thresholds: dict[str, float]
    cv: dict[str, Any]


def train_head(
    names: Sequence[str],
    data: TrainingData,
    seed: int,
    progress: bool,
    metadata: dict[str, Any],
    calibration: dict[str, FloatArray] | None = None,
) -> Trained:
    """Choose C and thresholds out of fold, then fit on every training row.

    ``calibration``: held-out everyday chat per language (embeddings); the ``any``
    threshold is raised so that at most ``REAL_FPR`` of each language's rows pass."""
    c, oof_logits = choose_c(data, seed, progress)
    a, b = platt(oof_logits, data.y, data.weight)
    with np.errstate(over="ignore"):
        oof = sigmoid((oof_logits * a + b).astype(np.float32))
    thresholds = choose_thresholds(names, data, oof)
    cv = cv_report(names, data, oof, thresholds)
    model = calibrated(fit_linear_multilabel(data.x, data.y, c, seed, data.weight), a, b)
    meta = dict(metadata)
    if calibration:
        t_cal, rates = calibrate_any(to_head(model, names, {}), calibration)
        meta["calibration"] = {
            "any_threshold_oof": thresholds[ANY],
            "any_threshold_everyday": t_cal,
            "flag_rate_target": REAL_FPR,
            "everyday_val_flag_rate": rates,
            "everyday_val_n": {lg: len(x) for lg, x in calibration.items()},
        }
        thresholds[ANY] = max(thresholds[ANY], t_cal)
    meta.update({"thresholds": thresholds, "c": c, "c_grid": list(C_GRID), "seed": seed})
    meta["metrics"] = {"synthetic_cv": cv}
    head = to_head(model, names, meta)
    meta["n_parameters"] = head.n_parameters()
    return Trained(to_head(model, names, meta), c, thresholds, cv)


def with_real_metrics(head: MLPHead, real: dict[str, Any]) -> MLPHead:
    """The same head, its metadata's metrics extended with the real held-out report."""
    meta = dict(head.metadata)
    meta["metrics"] = {**meta.get("metrics", {}), "real_heldout": real}
    return MLPHead(head.weights, head.biases, head.labels, multilabel=True, metadata=meta)


def fmt(v: float) -> str:
    return "n/a" if v != v else f"{v:.3f}"
