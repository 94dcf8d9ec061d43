"""Train the loneliness head of the dependency classifier: ``dependency_loneliness.safetensors``.

    python -m classifiers.training.train_loneliness --data ../shared/data

Thwarted belongingness (loneliness, isolation) is what IRF's ``belong`` label measures, and
the dependency head, trained on bot-attachment statements, sees it poorly. No licensed data
labels loneliness, so this head is distantly supervised: Reddit text from ``ship: yes`` sets
(C-SSRS posts of the train users, GoEmotions comments outside its test split) and everyday
chat (train split, EN and FR) is labelled by a loneliness phrase list (``LONELY``: "lonely",
"alone", "no friends", "isolé"...), and a logistic head on the shared embedding learns what
such texts have in common beyond the phrases. IRF (no licence) only measures: never trains,
chooses nothing. The threshold is the score that at most 1% of the everyday chat's
validation split reaches, English and French apart (the higher of the two). Splits:
``--split-scheme`` (``classifiers.training.splits``): ``normalised-v1`` (the default) splits
every row together by normalised text and group; the shipped head of 2026-12-02
(``exact-hash-v0``) also trained on GoEmotions' validation rows, which its threshold then
read. ``universe`` here is what ``classifiers.training.heldout`` rebuilds to know its rows.

``classifiers.dependency.DependencyClassifier`` reads it: the dependency score is the higher
of the two heads', and over this head's threshold (on a message the dependency head may
judge) the message is flagged with the ``isolation`` signal. Seeds fixed; prints no text.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

from classifiers.data import default_data_dir
from classifiers.dependency import LONELINESS_WEIGHTS
from classifiers.encoders import DEFAULT_ENCODER, ENCODER_NAMES
from classifiers.heads import MLPHead
from classifiers.training import corpora as C
from classifiers.training.splits import LEGACY_SCHEME, SCHEME, SCHEMES
from classifiers.training.train_message_heads import fit, proba

LONELY: Final = re.compile(
    r"\b(?:lonel\w*|alone|isolat\w*|no (?:real )?friends|friendless|outcast|left out|"
    r"(?:nobody|no one|noone) (?:cares|to talk to|understands|wants me)|"
    r"don'?t have anyone|do not have anyone|don'?t belong|"
    r"seule?s?|solitude|isol[ée]e?s?|sans amis|pas d'amis|personne ne me comprend|"
    r"personne (?:à qui|a qui) parler)\b",
    re.IGNORECASE,
)
"""Distant labels: a text using one of these phrases counts as lonely (written for the
project from the construct's definition, not from IRF)."""
C_VALUE: Final = 0.01
"""L2 strength, fixed (no loneliness labels to choose it on but IRF, which chooses nothing)."""
GOEMOTIONS_CAP: Final = 20_000
FLAG_RATE: Final = 0.01


def universe(data: Path, scheme: str = SCHEME) -> tuple[list[C.Row], list[C.Row], list[C.Row]]:
    """(training rows, calibration rows, test rows): C-SSRS posts of the train users,
    GoEmotions (``GOEMOTIONS_CAP``) and the everyday chat; the everyday validation rows set
    the threshold, its test rows are reported."""
    if scheme == LEGACY_SCHEME:
        day = C.everyday(data, C.CORPUS_SEED, scheme)
        cssrs = [r for r in C.cssrs_posts(data) if r.split == "train"]
        goem = [r for r in C.goemotions(data, cap=GOEMOTIONS_CAP) if r.split != "test"]
        rest = [r for r in day if r.split == "train" and r.source != "goemotions"]
        val = [r for r in day if r.split == "val"]
        test = [r for r in day if r.split == "test"]
        return [*cssrs, *goem, *rest], val, test
    everyday = C.everyday(data, C.CORPUS_SEED, LEGACY_SCHEME)
    rows = [
        *C.cssrs_posts(data),
        *C.goemotions(data, cap=GOEMOTIONS_CAP),
        *(r for r in everyday if r.source != "goemotions"),
    ]
    rows = C.resplit(rows, C.CORPUS_SEED, scheme)
    train = [r for r in rows if r.split == "train"]
    val = [r for r in rows if r.everyday and r.split == "val"]
    test = [r for r in rows if r.everyday and r.split == "test"]
    return train, val, test


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--out", type=Path, default=LONELINESS_WEIGHTS)
    p.add_argument("--encoder", choices=ENCODER_NAMES, default=DEFAULT_ENCODER)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-scheme", choices=SCHEMES, default=SCHEME)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    np.random.seed(args.seed)

    from sklearn.metrics import average_precision_score, roc_auc_score

    from classifiers.cache import EmbeddingCache
    from classifiers.encoders import load_encoder
    from classifiers.training.common import encoder_metadata, fpr_threshold

    cache = EmbeddingCache(load_encoder(args.encoder, threads=args.threads))
    enc = encoder_metadata(cache)
    progress = not args.quiet
    train, val, test = universe(args.data, args.split_scheme)
    if not all(r.ship for r in train):
        raise SystemExit("refusing: a training source is not ship: yes")
    texts = [r.text for r in train]
    y = np.asarray([int(bool(LONELY.search(t))) for t in texts], dtype=np.int64)
    x = cache.encode_documents(texts, progress=progress)
    w, b = fit(x, y, np.ones(len(y)), C_VALUE, args.seed)

    sv = proba((w, b), cache.encode_documents([r.text for r in val], progress=progress))
    st = proba((w, b), cache.encode_documents([r.text for r in test], progress=progress))
    lv, lt = np.asarray([r.lang for r in val]), np.asarray([r.lang for r in test])
    t = max(fpr_threshold(sv[lv == lg].astype(np.float32), FLAG_RATE) for lg in ("en", "fr"))
    metrics: dict[str, Any] = {
        "everyday_val_flag_rate": {
            lg: round(float((sv[lv == lg] >= t).mean()), 4) for lg in ("en", "fr")
        },
        "everyday_test_flag_rate": {
            lg: round(float((st[lt == lg] >= t).mean()), 4) for lg in ("en", "fr")
        },
    }
    irf = C.irf_belong(args.data)  # measure only
    if irf:
        yi = np.asarray([r.label for r in irf], dtype=bool)
        si = proba((w, b), cache.encode_documents([r.text for r in irf], progress=progress))
        metrics["irf_belong_head_alone"] = {
            "n": len(irf),
            "positives": int(yi.sum()),
            "auprc": round(float(average_precision_score(yi, si)), 4),
            "auroc": round(float(roc_auc_score(yi, si)), 4),
            "recall_at_threshold": round(float((si[yi] >= t).mean()), 4),
            "flag_rate_negatives": round(float((si[~yi] >= t).mean()), 4),
        }
    meta = {
        **enc,
        "head": "dependency_loneliness",
        "split": {"scheme": args.split_scheme, "seed": C.CORPUS_SEED},
        "c": C_VALUE,
        "seed": args.seed,
        "trained_at": datetime.now(UTC).date().isoformat(),
        "thresholds": {"message": t},
        "flag_rate_target": FLAG_RATE,
        "n_train": len(y),
        "n_train_positive": int(y.sum()),
        "metrics": metrics,
        "labels": "distant: the LONELY phrase list of classifiers/training/train_loneliness.py",
    }
    head = MLPHead((w,), (b,), ("loneliness",), (), True, meta)
    head.save(args.out)
    print(json.dumps({"n_train": len(y), "positives": int(y.sum()), **metrics}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
