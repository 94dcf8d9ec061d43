"""How the bot head does on a writer it never read: leave one writer's set out, train on the
rest, read the set left out. Trains nothing it keeps; prints figures only, never a text.

    python -m classifiers.training.bot_writer_folds --data ../shared/data [--c 0.01]
        [--fusion 0.0 0.3 0.5] [--flag-rate 0.005]

Why: the bot head's own test split shares its writers with its train split, so its synthetic
recall says little about fresh wording. Each retired held-out set
(``train_message_heads.WRITER_SETS``) was written by a different helper that read nothing of
the repository; holding one out and training on the others (and on everything else the head
trains on) measures what a new writer's set will show. Read per fold, English and French
apart: encouragement blocked and benign messages flagged by the floor OR the head, the
head's flag withdrawn where the runtime withdraws it (what a decision with the stack loaded
blocks, less the lexicon's own category, which the floor runs too), and the head's flag
rates on the real test negatives at its threshold. The first set (v1) was tuned on by the
floor itself: read it as a check, not a figure.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from classifiers.data import default_data_dir
from classifiers.encoders import DEFAULT_ENCODER, ENCODER_NAMES
from classifiers.normalize import normalize
from classifiers.self_harm import HEAD_MIN_WORDS
from classifiers.training.train_message_heads import (
    BOT_C_GRID,
    BOT_FLAG_RATE,
    BOT_VOCAB,
    SAFE_REPLY_WEIGHT,
    WRITER_SETS,
    bot_calibration,
    bot_off_subject_threshold,
    bot_real_negatives,
    bot_rows,
    bot_threshold,
    diasafety_reply_kinds,
    emb_logits,
    fit,
    fit_ngrams,
    reply_masks,
    sigmoid,
)


def fold(args: argparse.Namespace, cache: Any, held: Path, floor: Any) -> list[dict[str, Any]]:
    """Train on every writer set but ``held``; one row of figures per fusion weight."""
    from classifiers.ngrams import NgramVocabulary

    rows = bot_rows(
        args.data,
        3000,
        0,
        SAFE_REPLY_WEIGHT,
        "exact-hash-v0",
        [s for s in WRITER_SETS if s != held],
    )
    texts = [normalize(r.text).text for r in rows]
    items = yaml.safe_load(held.read_text(encoding="utf-8"))["items"]
    ev_texts = [normalize(i["text"]).text for i in items]
    tr = np.asarray([r.split == "train" for r in rows])
    y = np.asarray([r.label for r in rows], dtype=np.int64)
    w = np.asarray([r.weight for r in rows], dtype=np.float64)
    xb, xe = cache.encode_documents(texts), cache.encode_documents(ev_texts)
    vocab = NgramVocabulary.fit(
        [t for t, k in zip(texts, tr, strict=True) if k], BOT_VOCAB, BOT_VOCAB
    )
    xn, xne = vocab.matrix(texts), vocab.matrix(ev_texts)
    wbe = fit(xb[tr], y[tr], w[tr], args.c, 0)
    wn, bn = fit_ngrams(xn[tr], y[tr], w[tr], 1.0, 0)
    kinds = diasafety_reply_kinds(args.data)
    calibration = bot_calibration(rows, kinds)
    calibration.pop("synthetic")
    tests = real_test_masks(rows, kinds)
    floored = np.asarray([floor.scan(i["text"]).encouragement for i in items])
    vetoed = np.asarray([withdrawn(floor, i["text"]) for i in items])
    off = np.asarray([off_subject(floor, i["text"]) for i in items])
    long = np.asarray([len(t.split()) >= HEAD_MIN_WORDS for t in ev_texts])
    real_negatives = bot_real_negatives(rows)
    label = np.asarray([i["label"] == "encourage" for i in items])
    lang = np.asarray([i["lang"] for i in items])
    out = []
    for a in args.fusion:
        s = sigmoid(emb_logits(wbe, xb, a) + (1 - a) * ngram_logits(xn, wn, bn))
        se = sigmoid(emb_logits(wbe, xe, a) + (1 - a) * ngram_logits(xne, wn, bn))
        t = bot_threshold(s, calibration, args.flag_rate)
        t_off = bot_off_subject_threshold(s, texts, real_negatives, t)
        # the runtime's reading (off the subject, the flag stands over t_off), and before
        # round 14 (off the subject, always withdrawn)
        blocked = floored | ((se >= t) & ~vetoed & (~off | (long & (se >= t_off))))
        always_off = floored | ((se >= t) & ~vetoed & ~off)
        row: dict[str, Any] = {
            "held_out": held.stem,
            "fusion": a,
            "threshold": round(t, 4),
            "off_subject": round(t_off, 4),
        }
        for lg in ("en", "fr"):
            for name, m in (("encourage", label), ("benign", ~label)):
                mine = m & (lang == lg)
                row[f"{name}_{lg}"] = f"{int((blocked & mine).sum())}/{int(mine.sum())}"
                row[f"{name}_{lg}_off_withdrawn"] = f"{int((always_off & mine).sum())}"
            mine = label & (lang == lg)
            row[f"encourage_{lg}_floor_only"] = f"{int((floored & mine).sum())}/{int(mine.sum())}"
        for name, m in tests.items():
            row[f"real_{name}_%"] = round(100 * float((s[m] >= t).mean()), 2)
        out.append(row)
    return out


def withdrawn(floor: Any, text: str) -> bool:
    """Whether the runtime withdraws the head's flag on ``text`` whatever its score
    (``SelfHarmClassifier.score_bot_messages``): every act plainly forbidden. Off the subject
    (nothing of dying, self-harm, their means or eating in it) the flag stands only over the
    head's ``off_subject`` threshold (``run`` reads that apart)."""
    from classifiers.lexicons import default_lexicon
    from classifiers.self_harm import plainly_prohibited

    if floor.scan(text).forbids or plainly_prohibited(default_lexicon().scan(text, role="bot")):
        return True
    return bool(floor.assess(text).forbids)


def off_subject(floor: Any, text: str) -> bool:
    """Whether ``text`` names nothing of dying, self-harm, their means or eating: there the
    runtime keeps the head's flag only over its ``off_subject`` threshold."""
    return not floor.assess(text).on_subject


def ngram_logits(xn: Any, wn: Any, bn: Any) -> npt.NDArray[np.float64]:
    return np.asarray(xn @ wn + bn, dtype=np.float64)[:, 0]


def real_test_masks(rows: Sequence[Any], kinds: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The real negatives of the test split: everyday EN / FR, DiaSafety safe replies, safe
    replies to people at risk."""
    test = np.asarray([r.split == "test" for r in rows])
    day = np.asarray([r.everyday for r in rows])
    lang = np.asarray([r.lang for r in rows])
    safe, risk = reply_masks(rows, kinds)
    return {
        "everyday_en": test & day & (lang == "en"),
        "everyday_fr": test & day & (lang == "fr"),
        "diasafety_safe": test & safe,
        "risk_safe": test & risk,
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--encoder", choices=ENCODER_NAMES, default=DEFAULT_ENCODER)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--c", type=float, default=BOT_C_GRID[0], help="L2 strength of the embedding part"
    )
    p.add_argument("--fusion", type=float, nargs="+", default=[0.0, 0.3, 0.5])
    p.add_argument("--flag-rate", type=float, default=BOT_FLAG_RATE)
    p.add_argument(
        "--held",
        type=Path,
        nargs="+",
        default=list(WRITER_SETS),
        help="the sets left out in turn (a retired set not among the writer sets: the head "
        "trains on every writer set, as the shipped one does)",
    )
    p.add_argument("--out", type=Path, help="write the rows as JSON")
    args = p.parse_args(argv)

    from classifiers.cache import EmbeddingCache
    from classifiers.encoders import load_encoder
    from classifiers.floor import default_floor

    cache = EmbeddingCache(load_encoder(args.encoder, threads=args.threads))
    floor = default_floor()
    rows: list[dict[str, Any]] = []
    for held in args.held:
        for row in fold(args, cache, held.resolve(), floor):
            print(json.dumps(row), flush=True)
            rows.append(row)
        cache.save()
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
