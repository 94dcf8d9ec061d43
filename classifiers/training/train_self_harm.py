"""Train the self-harm heads: ``classifiers/weights/self_harm{,_lexical}.safetensors`` + card.

    python -m classifiers.training.train_self_harm --data ../shared/data

Data: the C-SSRS Reddit users (Gaur et al. 2019), split by user (``classifiers.data``); the
heads train on the train users only, every setting (L2 strengths, fusion weight, severity
cuts, thresholds) comes from out-of-fold predictions on those users (5-fold by user, two fold
seeds), and the card reports the validation users. The test users are left to
``benchmarks/classifier_quality.py``. With ``--everyday-negatives`` (default on), DiaSafety
user messages outside its "Risk Ignorance" category are added as one-message users of level
``none``, so everyday chat is not mistaken for distress; their total weight is a fraction of
the C-SSRS ``none`` class's.

Model (see ``classifiers.self_harm``): two class-balanced multinomial logistic regressions at
user level, on the mean per-message features of a user's posts: (1) [sentence embedding,
lexicon features], standardisation folded into the weights; (2) TF-IDF word 1-2-grams and
character 2-5-grams (``classifiers.ngrams``, vocabulary fitted on the train users' posts).
Their logits are fused by a weighted sum; severity is read ordinally (expected severity cut
at thresholds tuned for macro-F1) or by argmax with per-class offsets, whichever does better
out of fold. Only data marked ``ship: yes`` in the data README may train these weights; the
script refuses otherwise. ``--split-scheme normalised-v1`` (the default;
``classifiers.training.splits``) also leaves out any post or everyday message whose
normalised text is in a more held-out split (a few short posts recur across users);
``exact-hash-v0`` is what the shipped heads of 2026-12-02 were trained with
(``split_rows`` is what ``classifiers.training.heldout`` rebuilds to know their rows).
Embeddings are cached under ``.cache/embeddings``. Nothing here prints a text from the data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from classifiers.data import (
    SPLIT_SEED,
    CssrsData,
    DatasetInfo,
    default_data_dir,
    load_cssrs,
    load_diasafety,
    split_users,
)
from classifiers.encoders import DEFAULT_ENCODER, ENCODER_NAMES
from classifiers.heads import FloatArray, MLPHead, fold_standardisation, softmax
from classifiers.labels import AT_RISK_FROM, SEVERITIES, severity_index
from classifiers.lexicons import FEATURE_NAMES, Lexicon, default_lexicon
from classifiers.ngrams import NgramHead, NgramVocabulary
from classifiers.self_harm import (
    SELF_HARM_WEIGHTS,
    at_risk_score,
    expected_severity,
    head_inputs,
    ordinal_severity,
)
from classifiers.training.common import fit_scaler
from classifiers.training.splits import SCHEME, SCHEMES

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

IntArray = npt.NDArray[np.int64]
Matrix = Any
"""A dense float array or a scipy CSR matrix (rows are messages or users)."""

C_GRID = (0.003, 0.01)
"""L2 strengths of the embedding head (standardised inputs)."""
C_LEXICAL_GRID = (10.0, 30.0)
"""L2 strengths of the n-gram head (L2-normalised TF-IDF rows)."""
FUSION_GRID = (0.0, 0.2, 0.35, 0.5, 1.0)
"""Weight of the embedding head's logits (the n-gram head gets 1 - weight)."""
VOCAB_WORDS = 20_000
VOCAB_CHARS = 20_000
FOLDS = 5
FOLD_SEEDS = 2
"""Repeats of the k-fold split (different shuffles) for steadier choices."""
EVERYDAY_WEIGHT = 0.5
"""Total weight of the everyday (DiaSafety) negatives, relative to the C-SSRS ``none`` class."""
EVERYDAY_FPR = 0.02
"""Share of everyday (training) messages allowed over the message threshold."""
RISK = severity_index(AT_RISK_FROM)
INDICATOR = severity_index("indicator")
LEXICAL_SUFFIX = "_lexical"


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import torch

    torch.manual_seed(seed)


def mean_rows(x: Matrix, groups: Sequence[npt.NDArray[np.int64]]) -> Matrix:
    """One row per group: the mean of ``x``'s rows in that group (dense or sparse)."""
    from scipy.sparse import csr_matrix

    indptr = np.cumsum([0] + [len(g) for g in groups])
    cols = np.concatenate(groups) if groups else np.zeros(0, np.int64)
    vals = np.concatenate([np.full(len(g), 1.0 / max(len(g), 1)) for g in groups])
    avg = csr_matrix((vals, cols, indptr), shape=(len(groups), x.shape[0]))
    out = avg @ x
    return out.astype(np.float32) if isinstance(out, np.ndarray) else out.tocsr()


def vstack(a: Matrix, b: Matrix) -> Matrix:
    from scipy.sparse import issparse
    from scipy.sparse import vstack as sparse_vstack

    if issparse(a) or issparse(b):
        return sparse_vstack([a, b]).tocsr()
    return np.vstack([a, b]).astype(np.float32)


@dataclass
class Corpus:
    """Per-post inputs of both heads and labels, and which user each post belongs to."""

    x: FloatArray
    """Embedding-head rows."""
    y: IntArray
    owner: list[str]
    """User id per post."""
    user_label: dict[str, int]
    user_split: dict[str, str]
    xt: csr_matrix | None = None
    """N-gram rows (None until a vocabulary is fitted)."""
    lexicon_severity: IntArray | None = None
    """The lexicon's severity index per post (its floor under the model's severity)."""

    def user_floor(self, users: Sequence[str], rows: dict[str, IntArray]) -> IntArray | None:
        """The highest lexicon severity over each user's posts (``UserRisk`` keeps it)."""
        if self.lexicon_severity is None:
            return None
        sev = self.lexicon_severity
        return np.asarray([int(sev[rows[u]].max()) for u in users], dtype=np.int64)

    def rows(self) -> dict[str, IntArray]:
        out: dict[str, list[int]] = defaultdict(list)
        for i, u in enumerate(self.owner):
            out[u].append(i)
        return {u: np.asarray(r, dtype=np.int64) for u, r in out.items()}

    def features(self, kind: str) -> Matrix:
        if kind == "embedding":
            return self.x
        if self.xt is None:
            raise ValueError("no n-gram rows: fit a vocabulary first")
        return self.xt


def lexicon_features(lexicon: Lexicon, texts: Sequence[str], progress: bool) -> FloatArray:
    from tqdm.auto import tqdm

    rows = [lexicon.features([t])[0] for t in tqdm(texts, desc="lexicon", disable=not progress)]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), len(FEATURE_NAMES))


def build_corpus(
    data: CssrsData, embed: Any, lexicon: Lexicon, seed: int, progress: bool = True
) -> Corpus:
    texts = [p.text for p in data.posts]
    emb = embed(texts)
    x = head_inputs(emb, lexicon_features(lexicon, texts, progress))
    y = np.asarray([severity_index(p.severity) for p in data.posts], dtype=np.int64)
    split = split_users(data.users, seed=seed)
    labels = {u.user: severity_index(u.severity) for u in data.users}
    lex_sev = np.asarray(
        [severity_index(lexicon.scan(t, role="user").severity) for t in texts], dtype=np.int64
    )
    return Corpus(x, y, [p.user for p in data.posts], labels, dict(split), None, lex_sev)


def add_ngrams(
    corpus: Corpus, texts: Sequence[str], vocabulary: NgramVocabulary, progress: bool
) -> None:
    corpus.xt = vocabulary.matrix(texts, progress=progress)


def user_matrix(
    corpus: Corpus,
    users: Sequence[str],
    rows: dict[str, IntArray],
    kind: str = "embedding",
) -> tuple[Matrix, IntArray]:
    x = mean_rows(corpus.features(kind), [rows[u] for u in users])
    y = np.asarray([corpus.user_label[u] for u in users], dtype=np.int64)
    return x, y


@dataclass(frozen=True)
class Fitted:
    weight: FloatArray
    bias: FloatArray

    def logits(self, x: Matrix) -> FloatArray:
        out: FloatArray = np.asarray(x @ self.weight + self.bias, dtype=np.float32)
        return out


def class_weights(y: IntArray, sample_weight: npt.NDArray[np.float64] | None) -> dict[int, float]:
    counts = np.bincount(y, weights=sample_weight, minlength=len(SEVERITIES))
    total = counts.sum()
    return {
        k: float(total / (len(SEVERITIES) * counts[k])) if counts[k] else 1.0
        for k in range(len(SEVERITIES))
    }


def fit_logreg(
    x: FloatArray,
    y: IntArray,
    c: float,
    seed: int,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> Fitted:
    """Class-balanced multinomial logistic regression; standardisation folded in."""
    from sklearn.linear_model import LogisticRegression

    scaler = fit_scaler(x, sample_weight)
    clf = LogisticRegression(
        C=c, max_iter=5000, class_weight=class_weights(y, sample_weight), random_state=seed
    )
    clf.fit(scaler.transform(x), y, sample_weight=sample_weight)
    mean = scaler.mean_.astype(np.float32)
    scale = scaler.scale_.astype(np.float32)
    w, b = fold_standardisation(
        clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32), mean, scale
    )
    return Fitted(w, b)


def fit_sparse_logreg(
    x: Matrix,
    y: IntArray,
    c: float,
    seed: int,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> Fitted:
    """Class-balanced multinomial logistic regression on (already normalised) TF-IDF rows."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(
        C=c, max_iter=5000, class_weight=class_weights(y, sample_weight), random_state=seed
    )
    clf.fit(x, y, sample_weight=sample_weight)
    return Fitted(clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32))


FITTERS: dict[str, Callable[..., Fitted]] = {
    "embedding": fit_logreg,
    "lexical": fit_sparse_logreg,
}


def fast_macro_f1(y: IntArray, pred: IntArray, n_classes: int = len(SEVERITIES)) -> float:
    """``classifiers.training.metrics.macro_f1`` in numpy alone (the tuning loops call it
    thousands of times): per class 2TP / (2TP + FP + FN), 0 where a class is neither true nor
    predicted."""
    cm = np.bincount(y * n_classes + pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


def floored_f1(y: IntArray, pred: IntArray, floor: IntArray | None) -> float:
    """Macro-F1 of ``pred`` raised to the lexicon's severity ``floor`` (when given)."""
    return fast_macro_f1(y, pred if floor is None else np.maximum(pred, floor))


def tune_decision_bias(
    logits: FloatArray, y: IntArray, floor: IntArray | None = None
) -> FloatArray:
    """Per-class offsets added to the logits before argmax, for macro-F1 (coordinate ascent).

    With ``floor`` (the lexicon's severity per row), the F1 is that of the fused severity,
    the higher of the two: what the stack reports.
    """

    def macro_f1(y: IntArray, pred: IntArray) -> float:
        return floored_f1(y, pred, floor)

    bias = np.zeros(len(SEVERITIES), dtype=np.float32)
    grid = np.linspace(-1.5, 1.5, 31, dtype=np.float32)
    best = macro_f1(y, np.argmax(logits + bias, axis=1))
    for _ in range(3):
        for k in range(1, len(SEVERITIES)):  # class 0 stays the reference
            for v in grid:
                trial = bias.copy()
                trial[k] = v
                f1 = macro_f1(y, np.argmax(logits + trial, axis=1))
                if f1 > best + 1e-9:
                    best, bias = f1, trial
    return bias


def tune_severity_cuts(
    logits: FloatArray, y: IntArray, floor: IntArray | None = None
) -> tuple[float, ...]:
    """Cuts on the expected severity for macro-F1 (coordinate ascent over quantiles); with
    ``floor``, for the fused severity (see ``tune_decision_bias``)."""

    def macro_f1(y: IntArray, pred: IntArray) -> float:
        return floored_f1(y, pred, floor)

    score = expected_severity(softmax(logits))
    candidates = np.unique(np.quantile(score, np.linspace(0.01, 0.99, 99)))
    prior = np.cumsum(np.bincount(y, minlength=len(SEVERITIES)))[:-1] / len(y)
    cuts = np.sort(np.quantile(score, prior))

    def f1(c: npt.NDArray[np.float64]) -> float:
        return macro_f1(y, np.searchsorted(np.sort(c), score, side="right"))

    best = f1(cuts)
    for _ in range(4):
        for k in range(len(cuts)):
            for v in candidates:
                trial = cuts.copy()
                trial[k] = v
                value = f1(trial)
                if value > best + 1e-9:
                    best, cuts = value, trial
    return tuple(float(c) for c in np.sort(cuts))


@dataclass
class TrainingSet:
    x: Matrix
    y: IntArray
    weight: npt.NDArray[np.float64]


def training_set(
    corpus: Corpus,
    users: Sequence[str],
    rows: dict[str, IntArray],
    everyday: Matrix | None,
    kind: str = "embedding",
) -> TrainingSet:
    x, y = user_matrix(corpus, users, rows, kind)
    w = np.ones(len(y), dtype=np.float64)
    if everyday is not None and everyday.shape[0]:
        n_none = float((y == 0).sum())
        n = everyday.shape[0]
        x = vstack(x, everyday)
        y = np.concatenate([y, np.zeros(n, dtype=np.int64)])
        w = np.concatenate([w, np.full(n, EVERYDAY_WEIGHT * n_none / n)])
    return TrainingSet(x, y, w)


def fit_kind(
    corpus: Corpus,
    users: Sequence[str],
    rows: dict[str, IntArray],
    everyday: Matrix | None,
    kind: str,
    c: float,
    seed: int,
) -> Fitted:
    ts = training_set(corpus, users, rows, everyday, kind)
    return FITTERS[kind](ts.x, ts.y, c, seed, ts.weight)


def out_of_fold(
    corpus: Corpus,
    users: Sequence[str],
    rows: dict[str, IntArray],
    everyday: Matrix | None,
    c: float,
    seed: int,
    kind: str = "embedding",
) -> tuple[FloatArray, FloatArray]:
    """User-level and post-level out-of-fold logits over ``users`` (k-fold by user)."""
    from sklearn.model_selection import StratifiedKFold

    feats = corpus.features(kind)
    labels = np.asarray([corpus.user_label[u] for u in users])
    user_logits = np.zeros((len(users), len(SEVERITIES)), dtype=np.float32)
    post_logits = np.zeros((len(corpus.y), len(SEVERITIES)), dtype=np.float32)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train_idx, held_idx in folds.split(np.zeros(len(users)), labels):
        model = fit_kind(corpus, [users[i] for i in train_idx], rows, everyday, kind, c, seed)
        held = [users[i] for i in held_idx]
        xh, _ = user_matrix(corpus, held, rows, kind)
        user_logits[held_idx] = model.logits(xh)
        held_posts = np.concatenate([rows[u] for u in held])
        post_logits[held_posts] = model.logits(feats[held_posts])
    return user_logits, post_logits


def best_threshold(y: npt.NDArray[np.bool_], score: npt.NDArray[np.float64]) -> float:
    from classifiers.training.metrics import best_f1_threshold

    return best_f1_threshold(y, score)


@dataclass(frozen=True)
class Decision:
    """How severity is read from fused logits: ordinal cuts, or argmax + offsets."""

    cuts: tuple[float, ...] | None
    bias: FloatArray

    def __call__(self, logits: FloatArray) -> IntArray:
        if self.cuts is not None:
            return ordinal_severity(softmax(logits), self.cuts)
        return np.asarray(np.argmax(logits + self.bias, axis=1), dtype=np.int64)


def evaluate(
    logits: FloatArray,
    y: IntArray,
    bias: FloatArray | Decision,
    threshold: float,
    floor: IntArray | None = None,
) -> dict[str, Any]:
    from classifiers.training.metrics import binary_report, confusion, macro_f1

    decide = bias if isinstance(bias, Decision) else Decision(None, bias)
    probs = softmax(logits)
    risk = at_risk_score(probs)
    indicator = np.asarray(probs[:, INDICATOR:].sum(axis=1), dtype=np.float64)
    pred = decide(logits)
    r = binary_report(y >= RISK, risk, threshold)
    i = binary_report(y >= INDICATOR, indicator, 0.5)
    flagged = risk >= threshold
    positive = y >= RISK
    return {
        "n": len(y),
        "at_risk_auprc": r.auprc,
        "at_risk_auroc": r.auroc,
        "at_risk_prevalence": r.positives / max(r.n, 1),
        "at_risk_precision": r.precision,
        "at_risk_recall": r.recall,
        "at_risk_f1": r.f1,
        "at_risk_confusion": {
            "tp": int((flagged & positive).sum()),
            "fp": int((flagged & ~positive).sum()),
            "fn": int((~flagged & positive).sum()),
            "tn": int((~flagged & ~positive).sum()),
        },
        "indicator_or_worse_auprc": i.auprc,
        "indicator_or_worse_auroc": i.auroc,
        "severity_macro_f1": macro_f1(y, pred),
        "severity_macro_f1_argmax": macro_f1(y, np.argmax(logits, axis=1)),
        "confusion": confusion(y, pred).tolist(),
        **(
            {
                "severity_macro_f1_fused": macro_f1(y, np.maximum(pred, floor)),
                "confusion_fused": confusion(y, np.maximum(pred, floor)).tolist(),
            }
            if floor is not None
            else {}
        ),
    }


@dataclass
class OofRun:
    """Out-of-fold logits of one head setting, per fold seed: (users, posts)."""

    users: list[FloatArray]
    posts: list[FloatArray]


@dataclass(frozen=True)
class Choice:
    c: float
    c_lexical: float
    embedding_weight: float
    rule: str
    """``ordinal`` or ``argmax``."""
    score: float
    auprc: float
    macro_f1: float


def fuse(dense: FloatArray, lexical: FloatArray, embedding_weight: float) -> FloatArray:
    out: FloatArray = (embedding_weight * dense + (1.0 - embedding_weight) * lexical).astype(
        np.float32
    )
    return out


def tune_decision(logits: FloatArray, y: IntArray, rule: str, floor: IntArray | None) -> Decision:
    if rule == "ordinal":
        return Decision(tune_severity_cuts(logits, y, floor), np.zeros(len(SEVERITIES), np.float32))
    return Decision(None, tune_decision_bias(logits, y, floor))


def cross_seed_f1(
    runs: Sequence[FloatArray], y: IntArray, rule: str, floor: IntArray | None = None
) -> float:
    """Macro-F1 of a decision tuned on one fold seed's OOF logits, read on another's."""
    scores = []
    for a, tuned in enumerate(runs):
        decide = tune_decision(tuned, y, rule, floor)
        scores += [floored_f1(y, decide(other), floor) for b, other in enumerate(runs) if b != a]
    return float(np.mean(scores)) if scores else 0.0


def choose(
    dense: dict[float, OofRun],
    lexical: dict[float, OofRun],
    y: IntArray,
    progress: bool,
    floor: IntArray | None = None,
) -> tuple[Choice, list[Choice]]:
    """Every (C, C lexical, fusion weight, rule) by OOF at-risk AUPRC + cross-seed macro-F1
    (of the fused severity when ``floor``, the lexicon's severity per user, is given)."""
    from sklearn.metrics import average_precision_score
    from tqdm.auto import tqdm

    tried: list[Choice] = []
    grid = [(c, cl, w) for c in dense for cl in lexical for w in FUSION_GRID]
    for c, cl, w in tqdm(grid, desc="fusion grid", disable=not progress):
        if (w == 1.0 and cl != min(lexical)) or (w == 0.0 and c != min(dense)):
            continue  # one head alone: the other's C does not matter
        runs = [fuse(d, t, w) for d, t in zip(dense[c].users, lexical[cl].users, strict=True)]
        auprc = float(
            np.mean([average_precision_score(y >= RISK, at_risk_score(softmax(r))) for r in runs])
        )
        for rule in ("ordinal", "argmax"):
            f1 = cross_seed_f1(runs, y, rule, floor)
            tried.append(Choice(c, cl, w, rule, auprc + f1, auprc, f1))
    best = max(tried, key=lambda ch: ch.score)
    return best, tried


def split_rows(
    data: CssrsData,
    dia_train: Sequence[str],
    dia_val: Sequence[str],
    split_seed: int,
    scheme: str,
) -> tuple[CssrsData, list[str], list[str]]:
    """C-SSRS data and the everyday (train, val) messages under ``scheme``: for
    ``SCHEME``, a post or message whose normalised text is also in a more held-out split
    (test users' posts, then validation users' and DiaSafety's validation file) is left out."""
    from dataclasses import replace

    from classifiers.training.corpora import cssrs_group, dia_group
    from classifiers.training.splits import LEGACY_SCHEME, Split, assign_splits

    if scheme == LEGACY_SCHEME:
        return data, list(dia_train), list(dia_val)
    user_split = split_users(data.users, seed=split_seed)
    items: list[tuple[str, tuple[str, ...], Split | None]] = [
        (p.text, (cssrs_group(p.user),), user_split[p.user]) for p in data.posts
    ]
    items += [(t, (dia_group(t),), "train") for t in dia_train]
    items += [(t, (dia_group(t),), "val") for t in dia_val]
    # a row moved to a more held-out split (or left out) no longer trains or reports here
    kept = [
        s == pin for s, (_, _, pin) in zip(assign_splits(items, split_seed), items, strict=True)
    ]
    n = len(data.posts)
    posts = tuple(p for p, k in zip(data.posts, kept[:n], strict=True) if k)
    train = [t for t, k in zip(dia_train, kept[n : n + len(dia_train)], strict=True) if k]
    val = [t for t, k in zip(dia_val, kept[n + len(dia_train) :], strict=True) if k]
    return replace(data, posts=posts), train, val


def everyday_texts(data_dir: Path) -> tuple[list[str], list[str], DatasetInfo]:
    """DiaSafety user messages outside "Risk Ignorance": (train texts, val texts, info)."""
    from classifiers.data import dataset_info

    pairs = load_diasafety(data_dir)
    info = dataset_info(data_dir, "diasafety")
    out = []
    for split in ("train", "val"):
        out.append(
            sorted(
                {p.context for p in pairs if p.split == split and p.category != "Risk Ignorance"}
            )
        )
    return out[0], out[1], info


def model_card(meta: dict[str, Any]) -> str:
    from classifiers.training.card_self_harm import model_card as render

    return render(meta)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir(), help="the shared data folder")
    p.add_argument("--out", type=Path, default=SELF_HARM_WEIGHTS, help="weights file to write")
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=SPLIT_SEED)
    p.add_argument("--split-scheme", choices=SCHEMES, default=SCHEME)
    p.add_argument("--encoder", choices=ENCODER_NAMES, default=DEFAULT_ENCODER)
    p.add_argument("--precision", choices=("fp32", "int8", "fp16"), default="fp32")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument(
        "--everyday-negatives",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add DiaSafety everyday user messages as none-level users",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    set_seeds(args.seed)
    import torch

    torch.set_num_threads(args.threads)
    from tqdm.auto import tqdm

    from classifiers.cache import DEFAULT_CACHE_DIR, EmbeddingCache
    from classifiers.encoders import load_encoder
    from classifiers.training.metrics import recall_threshold

    progress = not args.quiet
    data = load_cssrs(args.data)
    if not data.info.ship:
        print("refusing: the data README does not mark cssrs_reddit500 ship: yes", file=sys.stderr)
        return 2
    encoder = load_encoder(
        args.encoder, device=args.device, precision=args.precision, threads=args.threads
    )
    cache = EmbeddingCache(encoder, args.cache or DEFAULT_CACHE_DIR)

    def embed(texts: Sequence[str]) -> FloatArray:
        return cache.encode_documents(texts, progress=progress)

    lexicon = default_lexicon()
    dia_train, dia_val, dia_info = everyday_texts(args.data)
    data, dia_train, dia_val = split_rows(
        data, dia_train, dia_val, args.split_seed, args.split_scheme
    )
    corpus = build_corpus(data, embed, lexicon, args.split_seed, progress)
    rows = corpus.rows()
    train = sorted(u for u, s in corpus.user_split.items() if s == "train")
    val = sorted(u for u, s in corpus.user_split.items() if s == "val")
    y_train = np.asarray([corpus.user_label[u] for u in train], dtype=np.int64)
    texts = [p.text for p in data.posts]
    vocabulary = NgramVocabulary.fit(
        [texts[i] for u in train for i in rows[u]], VOCAB_WORDS, VOCAB_CHARS
    )
    add_ngrams(corpus, texts, vocabulary, progress)

    everyday: dict[str, dict[str, Matrix]] = {}
    if args.everyday_negatives and dia_info.ship:
        for name, msgs in (("train", dia_train), ("val", dia_val)):
            everyday[name] = {
                "embedding": head_inputs(embed(msgs), lexicon_features(lexicon, msgs, progress)),
                "lexical": vocabulary.matrix(msgs, progress=progress),
            }

    def everyday_rows(split: str, kind: str) -> Matrix | None:
        return everyday[split][kind] if split in everyday else None

    runs: dict[str, dict[float, OofRun]] = {"embedding": {}, "lexical": {}}
    grids = [("embedding", c) for c in C_GRID] + [("lexical", c) for c in C_LEXICAL_GRID]
    for kind, c in tqdm(grids, desc="C grids (5-fold by user x 2)", disable=not progress):
        run = OofRun([], [])
        for k in range(FOLD_SEEDS):
            u, p = out_of_fold(
                corpus, train, rows, everyday_rows("train", kind), c, args.seed + k, kind
            )
            run.users.append(u)
            run.posts.append(p)
        runs[kind][c] = run
    floor_train = corpus.user_floor(train, rows)
    choice, tried = choose(runs["embedding"], runs["lexical"], y_train, progress, floor_train)
    w = choice.embedding_weight
    dense_run, lexical_run = runs["embedding"][choice.c], runs["lexical"][choice.c_lexical]
    oof_users = [fuse(d, t, w) for d, t in zip(dense_run.users, lexical_run.users, strict=True)]
    pooled = np.vstack(oof_users)
    pooled_y = np.concatenate([y_train] * len(oof_users))
    assert floor_train is not None
    pooled_floor = np.concatenate([floor_train] * len(oof_users))
    decision = tune_decision(pooled, pooled_y, choice.rule, pooled_floor)
    u_logits = oof_users[0]
    p_logits = fuse(dense_run.posts[0], lexical_run.posts[0], w)
    user_threshold = best_threshold(pooled_y >= RISK, at_risk_score(softmax(pooled)))
    train_posts = np.concatenate([rows[u] for u in train])
    post_risk = at_risk_score(softmax(p_logits[train_posts]))
    post_y = corpus.y[train_posts] >= RISK
    message_recall90 = recall_threshold(post_y, post_risk, 0.9)

    dense = fit_kind(
        corpus, train, rows, everyday_rows("train", "embedding"), "embedding", choice.c, args.seed
    )
    lexical = fit_kind(
        corpus,
        train,
        rows,
        everyday_rows("train", "lexical"),
        "lexical",
        choice.c_lexical,
        args.seed,
    )

    def fused_logits(x_dense: Matrix, x_lexical: Matrix) -> FloatArray:
        return fuse(dense.logits(x_dense), lexical.logits(x_lexical), w)

    # A single message is judged against everyday chat: the threshold is the score that only
    # EVERYDAY_FPR of everyday messages reach (post labels are too weak for a best-F1 choice:
    # it flags nearly every post). Without everyday data, the 90%-recall threshold.
    if "train" in everyday:
        everyday_scores = at_risk_score(
            softmax(fused_logits(everyday["train"]["embedding"], everyday["train"]["lexical"]))
        )
        message_threshold = float(np.quantile(everyday_scores, 1.0 - EVERYDAY_FPR))
    else:
        message_threshold = message_recall90

    val_posts = np.concatenate([rows[u] for u in val])
    xv, yv = user_matrix(corpus, val, rows, "embedding")
    xvt, _ = user_matrix(corpus, val, rows, "lexical")
    val_post_logits = fused_logits(corpus.x[val_posts], corpus.features("lexical")[val_posts])
    post_floor = corpus.lexicon_severity
    assert post_floor is not None
    floor_val = corpus.user_floor(val, rows)
    metrics: dict[str, Any] = {
        "val": {
            "users": evaluate(fused_logits(xv, xvt), yv, decision, user_threshold, floor_val),
            "posts": evaluate(
                val_post_logits,
                corpus.y[val_posts],
                decision,
                message_threshold,
                post_floor[val_posts],
            ),
            "users_embedding_head": evaluate(dense.logits(xv), yv, decision, user_threshold),
            "users_lexical_head": evaluate(lexical.logits(xvt), yv, decision, user_threshold),
        },
        "train_oof": {
            "users": evaluate(u_logits, y_train, decision, user_threshold, floor_train),
            "posts": evaluate(
                p_logits[train_posts],
                corpus.y[train_posts],
                decision,
                message_threshold,
                post_floor[train_posts],
            ),
        },
    }
    if "val" in everyday:
        everyday_risk = at_risk_score(
            softmax(fused_logits(everyday["val"]["embedding"], everyday["val"]["lexical"]))
        )
        metrics["val"]["everyday_n"] = int(everyday["val"]["embedding"].shape[0])
        metrics["val"]["everyday_fpr"] = float((everyday_risk >= message_threshold).mean())

    lexical_path = args.out.with_name(args.out.stem + LEXICAL_SUFFIX + ".safetensors")
    meta: dict[str, Any] = {
        "head": "self_harm",
        "encoder": str(encoder.describe()["model"]),
        "encoder_name": encoder.name,
        "encoder_precision_trained": args.precision,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "seed": args.seed,
        "split_seed": args.split_seed,
        "split": {"scheme": args.split_scheme, "seed": args.split_seed},
        "c": choice.c,
        "c_lexical": choice.c_lexical,
        "at_risk_from": AT_RISK_FROM,
        "fusion": {
            "lexical_file": lexical_path.name,
            "embedding_weight": w,
            "lexical_weight": 1.0 - w,
        },
        "severity_rule": choice.rule,
        "severity_cuts": list(decision.cuts) if decision.cuts is not None else None,
        "decision_bias": [float(b) for b in decision.bias],
        "thresholds": {
            "user_at_risk": user_threshold,
            "message_at_risk": message_threshold,
            "message_at_risk_recall90": message_recall90,
        },
        "selection": {
            "criterion": "OOF at-risk AUPRC + cross-seed macro-F1 (train users, 5-fold x 2)",
            "tried": [
                {
                    "c": t.c,
                    "c_lexical": t.c_lexical,
                    "embedding_weight": t.embedding_weight,
                    "rule": t.rule,
                    "auprc": round(t.auprc, 4),
                    "macro_f1": round(t.macro_f1, 4),
                }
                for t in tried
            ],
        },
        "vocabulary": {"words": VOCAB_WORDS, "chars": VOCAB_CHARS, "terms": len(vocabulary)},
        "data": {"cssrs": {"licence": data.info.licence, "ship": data.info.ship}},
        "metrics": metrics,
    }
    if "train" in everyday:
        meta["data"]["diasafety"] = {
            "licence": dia_info.licence,
            "ship": dia_info.ship,
            "n_train": int(everyday["train"]["embedding"].shape[0]),
            "weight": EVERYDAY_WEIGHT,
        }
    ngram_head = NgramHead(
        vocabulary=vocabulary,
        weight=lexical.weight,
        bias=lexical.bias,
        labels=SEVERITIES,
        metadata={"head": "self_harm_lexical", "c": choice.c_lexical, "seed": args.seed},
    )
    head = MLPHead(
        weights=(dense.weight,),
        biases=(dense.bias,),
        labels=SEVERITIES,
        feature_names=FEATURE_NAMES,
        metadata=meta,
    )
    meta["n_parameters"] = head.n_parameters()
    meta["n_parameters_lexical"] = ngram_head.n_parameters()
    head = MLPHead(head.weights, head.biases, head.labels, head.feature_names, False, meta)
    head.save(args.out)
    ngram_head.save(lexical_path)
    meta["bytes"] = {"dense": args.out.stat().st_size, "lexical": lexical_path.stat().st_size}
    card = args.out.with_suffix(".md")
    card.write_text(model_card(meta), encoding="utf-8")
    vu = metrics["val"]["users"]
    summary = {
        "weights": [str(args.out), str(lexical_path)],
        "bytes": meta["bytes"],
        "choice": {k: v for k, v in choice.__dict__.items()},
        "val_users_at_risk_auprc": round(vu["at_risk_auprc"], 4),
        "val_users_at_risk_auroc": round(vu["at_risk_auroc"], 4),
        "val_users_severity_macro_f1": round(vu["severity_macro_f1"], 4),
        "val_posts_at_risk_auprc": round(metrics["val"]["posts"]["at_risk_auprc"], 4),
        "oof_users_at_risk_auprc": round(metrics["train_oof"]["users"]["at_risk_auprc"], 4),
        "oof_users_severity_macro_f1": round(metrics["train_oof"]["users"]["severity_macro_f1"], 4),
        "val_users_severity_macro_f1_fused": round(vu["severity_macro_f1_fused"], 4),
        "oof_users_severity_macro_f1_fused": round(
            metrics["train_oof"]["users"]["severity_macro_f1_fused"], 4
        ),
        "everyday_fpr": metrics["val"].get("everyday_fpr"),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
