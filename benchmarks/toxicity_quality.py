"""The shipped toxicity head on the held-out test split, English and French apart.

    python -m benchmarks.toxicity_quality [--data ../shared/data]

Trains nothing: rebuilds the training script's seeded splits
(``classifiers.training.train_toxicity.load_rows``, with the scheme, seed and cap the head's
metadata records), keeps the test rows whose normalised text and DiaSafety context no train
or validation row shares (``classifiers.training.heldout``: the shipped head's exact-text
hash let near-duplicate tweets and replies to one context cross), scores them with the
shipped head (``ToxicityClassifier.score``, the runtime path) at its shipped thresholds, and
prints the test-split figures (AUPRC and AUROC per label, confusion of the flag, everyday flag
rate per source) as JSON. ``benchmarks/classifier_quality.py`` reports the same figures through
``figures`` and ``markdown``; nothing here prints a text.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.data import default_data_dir
from classifiers.toxicity import TOXICITY_WEIGHTS, ToxicityClassifier
from classifiers.training.heldout import Block, SeenSets, block, scheme_of

HEADS = ("toxicity",)


def blocks(
    data: Path, meta: dict[str, Any], sets: SeenSets, heldout_all: bool | None = None
) -> dict[str, Block]:
    """The head's test rows (its split, from ``meta``) that none of its rows shares a
    normalised text or a DiaSafety context with."""
    from classifiers.training import corpora as C
    from classifiers.training.train_toxicity import load_rows

    every = bool(meta.get("everyday_heldout_all", False)) if heldout_all is None else heldout_all
    seed = int(meta.get("split", {}).get("seed", meta.get("split_seed", C.CORPUS_SEED)))
    cap = int(meta.get("split", {}).get("everyday_cap", meta.get("everyday_cap", 2000)))
    rows = load_rows(data, seed, cap, 1.0, every, scheme_of(meta))
    test = [r for r in rows if r.split == "test"]
    return {"toxicity_test": block("toxicity_test", HEADS, test, sets)}


def figures(
    data: Path,
    encoder: Any,
    clf: ToxicityClassifier,
    heldout_all: bool | None = None,
    sets: SeenSets | None = None,
) -> dict[str, Any]:
    """Held-out test figures of ``clf`` (``train_toxicity.evaluate`` on ``blocks``), its flag
    taken from the runtime's ``ToxicityResult.flagged``; ``encoder`` embeds (an
    ``EmbeddingCache`` or an encoder, the one the head was trained on). The split is the head's
    own (its metadata); ``heldout_all`` overrides whether every held-out everyday row counts
    (``load_rows``); ``sets`` defaults to the shipped heads' rows."""
    from classifiers.training.train_toxicity import evaluate

    meta = dict(clf.model.head.metadata)
    every = bool(meta.get("everyday_heldout_all", False)) if heldout_all is None else heldout_all
    b = blocks(data, meta, sets or SeenSets(data, {"toxicity": meta}), every)["toxicity_test"]
    test = list(b.rows)
    texts = [r.text for r in test]
    x = np.asarray(encoder.encode_documents(texts), dtype=np.float32)
    probs = clf.model.probabilities(x, len(test))
    flagged = np.asarray([r.flagged for r in clf.score(x, texts)])
    thresholds = dict(clf.thresholds)
    if not np.array_equal(flagged, probs[:, 0] >= thresholds["any"]):
        raise AssertionError("the runtime's flag is not the any-threshold the figures assume")
    return {
        "encoder": str(meta.get("encoder_name")),
        "split_scheme": scheme_of(meta),
        "everyday_heldout_all": every,
        "thresholds": thresholds,
        "test": evaluate(test, probs, thresholds),
    }


def markdown(fig: dict[str, Any]) -> str:
    """The toxicity section of ``classifier_quality.md``."""
    thr = ", ".join(f"{k} {v:.4f}" for k, v in fig["thresholds"].items())
    lines = [
        "",
        "## Toxicity head (bot messages), held-out test split",
        "",
        f"Thresholds (shipped): {thr}. A message is flagged when `any` reaches its threshold. "
        "Rows: the head's test split less any row whose normalised text or DiaSafety context "
        "a train or validation row shares.",
        "",
        "| lang | set | n | positives | AUPRC | AUROC | recall | flagged negatives | tp/fp/fn/tn |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rates: list[str] = []
    for lg, r in fig["test"].items():
        for k, v in r.items():
            if k == "any" or k.startswith("source:"):
                lines.append(
                    f"| {lg} | {'all (any)' if k == 'any' else k[7:]} | {v['n']} | "
                    f"{v['positives']} | {v.get('auprc', 'n/a')} | {v.get('auroc', 'n/a')} | "
                    f"{v.get('recall', 'n/a')} | {v.get('flag_rate_negatives', 'n/a')} | "
                    f"{v['tp']}/{v['fp']}/{v['fn']}/{v['tn']} |"
                )
        day = [f"bot-like {100 * r['everyday']['flag_rate']:.2f}% (n={r['everyday']['n']})"]
        day += [
            f"{k[9:]} {100 * v['flag_rate']:.2f}% (n={v['n']})"
            for k, v in r.items()
            if k.startswith("everyday:")
        ]
        rates.append(f"- {lg} everyday chat flagged: " + ", ".join(day))
        labels = [
            f"{k} AUPRC {v.get('auprc', 'n/a')} recall {v.get('recall', 'n/a')} "
            f"(positives {v['positives']})"
            for k, v in r.items()
            if k in fig["thresholds"] and k != "any"
        ]
        rates.append(f"- {lg} per label: " + "; ".join(labels))
    return "\n".join([*lines, "", *rates, ""]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from classifiers.training.common import embedding_cache

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--weights", type=Path, default=TOXICITY_WEIGHTS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--all-heldout-everyday",
        action="store_true",
        default=None,
        help="count every held-out everyday row (the default for heads trained so)",
    )
    args = p.parse_args(argv)
    clf = ToxicityClassifier.load(args.weights)
    name = str(clf.model.head.metadata["encoder_name"])
    cache = embedding_cache(None, "fp32", None, name, args.threads)
    fig = figures(args.data, cache, clf, args.all_heldout_everyday)
    cache.save()
    print(json.dumps(fig, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
