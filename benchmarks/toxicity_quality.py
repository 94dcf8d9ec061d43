"""The shipped toxicity head on the held-out test split, English and French apart.

    python -m benchmarks.toxicity_quality [--data ../shared/data]

Trains nothing: rebuilds the training script's seeded splits
(``classifiers.training.train_toxicity.load_rows``), scores every row with the shipped head
at its shipped thresholds, and prints the test-split figures (AUPRC per label, confusion of
the flag, everyday flag rate per source) as JSON. Kept apart from ``classifier_quality.py``
so the two can be merged by hand; nothing here prints a text.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifiers.data import default_data_dir
from classifiers.toxicity import TOXICITY_WEIGHTS, ToxicityClassifier


def main(argv: Sequence[str] | None = None) -> int:
    from classifiers.training import corpora as C
    from classifiers.training.common import embedding_cache
    from classifiers.training.train_toxicity import evaluate, load_rows

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--weights", type=Path, default=TOXICITY_WEIGHTS)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    clf = ToxicityClassifier.load(args.weights)
    meta = clf.model.head.metadata
    rows = load_rows(args.data, C.CORPUS_SEED, int(meta.get("everyday_cap", 2000)))
    test = [r for r in rows if r.split == "test"]
    cache = embedding_cache(None, "fp32", None, str(meta["encoder_name"]), args.threads)
    x = cache.encode_documents([r.text for r in test])
    probs = clf.model.probabilities(np.asarray(x, dtype=np.float32), len(test))
    figures = evaluate(test, probs, dict(clf.thresholds))
    print(json.dumps({"thresholds": dict(clf.thresholds), "test": figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
