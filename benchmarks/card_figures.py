"""The training-time tables of the shipped heads' cards, again, on held-out rows only.

    python -m benchmarks.card_figures [--data ../shared/data] [--threads 1]

Trains nothing. Each shipped card reports figures its training script measured on its own
held-out split; with an exact-text split some of those rows were training rows in all but
case or punctuation, or turns of a conversation that trained the head. This rebuilds each
table's rows exactly (the head's scheme, seeds and caps: ``classifiers.training.heldout``)
and measures every slice twice with the shipped weights: ``old``, the rows the card used, and
``new``, those rows less any that the head saw (by normalised text or group). Tables:

- ``self_harm_message``: the card's test slices (score of the head alone at its threshold);
- ``self_harm_bot``: the card's test slices (synthetic ones are labelled so: not quality);
- ``self_harm``: validation users (the user-level runtime, ``UserRisk``) and DiaSafety
  validation user messages outside Risk Ignorance at the message threshold; rows the head
  trained on are its train users' posts and DiaSafety's train-file messages (its validation
  rows are this table's rows);
- ``dependency``: the DarkBench proxy with the dependency head alone (the card's first
  table, before the loneliness head) and with both (what the runtime decides).

Prints JSON figures, never a text. Manipulation and toxicity card figures are the quality
benchmark's own (``benchmarks/classifier_quality.py``).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifiers.data import default_data_dir
from classifiers.training.corpora import Row
from classifiers.training.heldout import metadata, scheme_of
from classifiers.training.splits import Seen, keep

Figures = dict[str, Any]


def _report(rows: Sequence[Row], s: npt.NDArray[np.float64], t: float) -> Figures:
    from classifiers.training.train_message_heads import report

    y = np.asarray([r.label for r in rows], dtype=np.int64)
    return report(y, s, t) if len(rows) else {"n": 0}


def _slices(
    rows: Sequence[Row],
    seen: Seen,
    score: Callable[[Sequence[Row]], npt.NDArray[np.float64]],
    t: float,
    slices: dict[str, Callable[[Row], bool]],
) -> Figures:
    """Each slice of ``rows``: old (all) and new (less ``seen``) figures at threshold ``t``."""
    out: Figures = {}
    s = score(rows)
    held = {id(r) for r in keep(rows, seen)}
    for name, f in slices.items():
        idx = [i for i, r in enumerate(rows) if f(r)]
        new = [i for i in idx if id(rows[i]) in held]
        out[name] = {
            "old": _report([rows[i] for i in idx], s[idx], t),
            "new": _report([rows[i] for i in new], s[new], t),
        }
    return out


def message_head(data: Path, encoder: Any, seen: Seen) -> Figures:
    from classifiers.self_harm import MESSAGE_WEIGHTS, BinaryHead
    from classifiers.training.corpora import CORPUS_SEED
    from classifiers.training.train_message_heads import PROMPT_SETS, user_rows

    head = BinaryHead.load(MESSAGE_WEIGHTS)
    assert head is not None
    meta = head.head.metadata
    seed = int(meta.get("split", {}).get("seed", CORPUS_SEED))
    cap = int(meta.get("split", {}).get("everyday_cap", 3000))
    rows = [r for r in user_rows(data, cap, seed, scheme_of(meta)) if r.split == "test"]

    def score(rs: Sequence[Row]) -> npt.NDArray[np.float64]:
        return head.scores(encoder.encode_documents([r.text for r in rs]))

    return _slices(
        rows,
        seen,
        score,
        head.threshold,
        {
            "test_en_prompt_sets": lambda r: r.source in PROMPT_SETS,
            "test_diasafety_contexts": lambda r: r.source == "diasafety",
            "test_cssrs_posts": lambda r: r.source == "cssrs",
            "test_everyday_en": lambda r: r.everyday and r.lang == "en",
            "test_everyday_fr": lambda r: r.everyday and r.lang == "fr",
            "test_en_short_all": lambda r: r.lang == "en" and r.source != "cssrs",
        },
    )


def bot_head(data: Path, encoder: Any, seen: Seen) -> Figures:
    from classifiers.data import load_diasafety
    from classifiers.self_harm import BOT_WEIGHTS, BinaryHead
    from classifiers.training import corpora as C
    from classifiers.training.train_message_heads import (
        RISK_IGNORANCE,
        SAFE_REPLY_WEIGHT,
        bot_rows,
        diasafety_reply_kinds,
    )

    head = BinaryHead.load(BOT_WEIGHTS)
    assert head is not None
    meta = head.head.metadata
    seed = int(meta.get("split", {}).get("seed", meta.get("seed", 0)))
    cap = int(meta.get("split", {}).get("everyday_cap", 3000))
    scheme = scheme_of(meta)
    rows = [r for r in bot_rows(data, cap, seed, SAFE_REPLY_WEIGHT, scheme) if r.split == "test"]
    kinds = diasafety_reply_kinds(data)

    def kind(r: Row) -> tuple[str, str]:
        return kinds.get(r.text, ("", "")) if r.source == "diasafety_replies" else ("", "")

    def score(rs: Sequence[Row]) -> npt.NDArray[np.float64]:
        texts = [r.text for r in rs]
        return head.scores(encoder.encode_documents(texts), texts)

    out = _slices(
        rows,
        seen,
        score,
        head.threshold,
        {
            "test_synthetic_en (SYNTHETIC, not a quality figure)": lambda r: (
                r.source == "synthetic" and r.lang == "en"
            ),
            "test_synthetic_fr (SYNTHETIC, not a quality figure)": lambda r: (
                r.source == "synthetic" and r.lang == "fr"
            ),
            "test_diasafety_safe_replies": lambda r: kind(r)[1] == "Safe",
            "test_diasafety_risk_ignorance_safe_replies": lambda r: (
                kind(r) == (RISK_IGNORANCE, "Safe")
            ),
            "test_diasafety_replies_all_kept": lambda r: r.source == "diasafety_replies",
            "test_p4g_sentences": lambda r: r.source == "p4g",
            "test_everyday_en": lambda r: r.everyday and r.lang == "en",
            "test_everyday_fr": lambda r: r.everyday and r.lang == "fr",
        },
    )
    pairs = load_diasafety(data)
    groups = C.dia_reply_groups(pairs)
    ri: dict[str, Row] = {}
    for p in pairs:
        t = p.response.strip()
        if p.category != RISK_IGNORANCE or p.label != "Unsafe":
            continue
        # the card's rows: replies to a context the legacy hash put in test
        test = C.hash_split("diasafety_replies", p.context, seed) == "test"
        if test or t not in ri:
            ri[t] = Row(t, 0, "diasafety_replies", "en", "test" if test else "val", 1.0,
                        True, False, groups[t])  # fmt: skip
    ri_rows = list(ri.values())
    s = score(ri_rows)
    old = [i for i, r in enumerate(ri_rows) if r.split == "test"]
    held = {id(r) for r in keep(ri_rows, seen)}
    new = [i for i in old if id(ri_rows[i]) in held]
    out["test_diasafety_risk_ignorance_unsafe_replies (not trained on)"] = {
        "old": _report([ri_rows[i] for i in old], s[old], head.threshold),
        "new": _report([ri_rows[i] for i in new], s[new], head.threshold),
    }
    return out


def self_harm(data: Path, encoder: Any) -> Figures:
    """Validation users and everyday messages, less rows the head trained on."""
    from classifiers.data import load_cssrs, split_users
    from classifiers.labels import severity_index
    from classifiers.self_harm import SelfHarmClassifier, UserRisk, at_risk_score
    from classifiers.training.corpora import cssrs_group, dia_group
    from classifiers.training.metrics import binary_report, macro_f1
    from classifiers.training.train_self_harm import everyday_texts, split_rows

    clf = SelfHarmClassifier.load()
    meta = clf.head.metadata
    seed = int(meta["split_seed"])
    cssrs = load_cssrs(data)
    dia_train, dia_val, _ = everyday_texts(data)
    cssrs, dia_train, dia_val = split_rows(cssrs, dia_train, dia_val, seed, scheme_of(meta))
    split = split_users(cssrs.users, seed=seed)
    trained = Seen("self_harm, training rows")
    for p in cssrs.posts:
        if split[p.user] == "train":
            trained.add(p.text, (cssrs_group(p.user),))
    for t in dia_train:
        trained.add(t, (dia_group(t),))
    labels = {u.user: severity_index(u.severity) for u in cssrs.users}
    out: Figures = {}
    val_posts = [p for p in cssrs.posts if split[p.user] == "val"]
    for name, posts in (
        ("old", val_posts),
        ("new", [p for p in val_posts if not trained.holds(p.text, (cssrs_group(p.user),))]),
    ):
        texts = [p.text for p in posts]
        scores = clf.score_user_messages(encoder.encode_documents(texts), texts)
        risks: dict[str, UserRisk] = {}
        for p, sc in zip(posts, scores, strict=True):
            risks.setdefault(p.user, UserRisk()).add(sc)
        users = sorted(risks)
        y = np.asarray([labels[u] for u in users])
        s = np.asarray([risks[u].score() for u in users])
        fused = np.asarray([severity_index(risks[u].fused_severity(clf)) for u in users])
        r = binary_report(y >= 2, s, clf.threshold)
        f = s >= clf.threshold
        out[f"val_users_{name}"] = {
            "n_users": len(users),
            "n_posts": len(posts),
            "at_risk_auprc": round(r.auprc, 4),
            "at_risk_auroc": round(r.auroc, 4),
            "tp/fp/fn/tn": [
                int((f & (y >= 2)).sum()),
                int((f & (y < 2)).sum()),
                int((~f & (y >= 2)).sum()),
                int((~f & (y < 2)).sum()),
            ],
            "severity_macro_f1_fused": round(macro_f1(y, fused), 4),
        }
    for name, texts in (
        ("old", dia_val),
        ("new", [t for t in dia_val if not trained.holds(t, (dia_group(t),))]),
    ):
        logits, _ = clf.logits(encoder.encode_documents(texts), texts)
        from classifiers.heads import softmax

        risk = at_risk_score(softmax(logits))
        out[f"everyday_val_{name}"] = {
            "n": len(texts),
            "flag_rate_at_message_at_risk": round(float((risk >= clf.message_threshold).mean()), 4),
        }
    return out


def dependency(data: Path, encoder: Any) -> Figures:
    """The DarkBench proxy, dependency head alone (the card's first table) and with the
    loneliness head (the runtime), on the card's negatives (DiaSafety validation user
    messages less exact train-file ones) and on those neither head saw."""
    from classifiers.data import load_diasafety
    from classifiers.dependency import DependencyClassifier
    from classifiers.training.heldout import SeenSets
    from classifiers.training.metrics import binary_report
    from classifiers.training.quality_wellbeing import blocks

    both = DependencyClassifier.load()
    alone = DependencyClassifier(both.model)
    b = blocks(data, SeenSets(data))
    pos = [p.text for p in b["dependency_positives"].rows]
    pairs = load_diasafety(data)
    train = {p.context for p in pairs if p.split == "train"}
    sets = {
        "old": sorted({p.context for p in pairs if p.split == "val"} - train),
        "new": [r.text for r in b["dependency_negatives"].rows],
    }
    out: Figures = {}
    for clf_name, clf in (("head_alone", alone), ("with_loneliness", both)):
        for name, neg in sets.items():
            texts = pos + neg
            res = clf.score(encoder.encode_documents(texts), texts)
            y = np.asarray([True] * len(pos) + [False] * len(neg))
            score = np.asarray([r.score for r in res], dtype=np.float64)
            f = np.asarray([r.flagged for r in res])
            r = binary_report(y, score, 0.5)
            tp, fp = int((f & y).sum()), int((f & ~y).sum())
            out[f"{clf_name}_{name}"] = {
                "n_positive": len(pos),
                "n_negative": len(neg),
                "auprc": round(r.auprc, 4),
                "auroc": round(r.auroc, 4),
                "precision": round(tp / max(tp + fp, 1), 4),
                "recall": round(tp / len(pos), 4),
                "everyday_fpr": round(fp / len(neg), 4),
                "tp/fp/fn/tn": [tp, fp, len(pos) - tp, len(neg) - fp],
            }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classifiers.training.common import embedding_cache
    from classifiers.training.heldout import seen

    name = str(metadata("self_harm_message")["encoder_name"])
    cache = embedding_cache(None, "fp32", "cpu", name, args.threads)
    out = {
        "self_harm_message": message_head(args.data, cache, seen("self_harm_message", args.data)),
        "self_harm_bot": bot_head(args.data, cache, seen("self_harm_bot", args.data)),
        "self_harm": self_harm(args.data, cache),
        "dependency": dependency(args.data, cache),
    }
    cache.save()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
