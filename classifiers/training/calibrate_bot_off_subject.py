"""Set the shipped bot head's ``off_subject`` threshold without retraining it.

    python -m classifiers.training.calibrate_bot_off_subject --data ../shared/data [--dry-run]

The bot head's flag on a message that names nothing of dying, self-harm, their means or eating
is withdrawn unless it reaches ``metadata.thresholds.off_subject``
(:meth:`classifiers.self_harm.BinaryHead.stands_off_subject`). ``train_message_heads`` sets it
when it trains the head; this script sets it on the head already shipped, from the same rows
(its own split, rebuilt from its metadata) and the same rule
(:func:`~classifiers.training.train_message_heads.bot_off_subject_threshold`), and leaves its
weights and every other threshold as they are. A retrain would move the message threshold
too: the training rows changed since the head was trained (frozen held-out texts are dropped).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifiers.data import default_data_dir
from classifiers.encoders import DEFAULT_ENCODER, ENCODER_NAMES
from classifiers.normalize import normalize
from classifiers.training import corpora as C
from classifiers.training.heldout import bot_rows_of, metadata
from classifiers.training.train_message_heads import (
    bot_off_subject_threshold,
    bot_real_negatives,
)

WEIGHTS: Path = Path(__file__).resolve().parents[1] / "weights"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--weights", type=Path, default=WEIGHTS)
    p.add_argument("--encoder", choices=ENCODER_NAMES, default=DEFAULT_ENCODER)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dry-run", action="store_true", help="print the threshold, write nothing")
    args = p.parse_args(argv)

    from classifiers.cache import EmbeddingCache
    from classifiers.encoders import load_encoder
    from classifiers.heads import MLPHead
    from classifiers.self_harm import BinaryHead

    path = args.weights / "self_harm_bot.safetensors"
    head = BinaryHead.load(path)
    if head is None:
        raise SystemExit(f"no bot head at {path}")
    rows = bot_rows_of(args.data, metadata("self_harm_bot", args.weights))
    texts = [normalize(t).text for t in C.texts(rows)]
    negatives = bot_real_negatives(rows)
    cache = EmbeddingCache(load_encoder(args.encoder, threads=args.threads))
    scores = np.zeros(len(rows), dtype=np.float64)
    picked = np.flatnonzero(negatives)
    chosen = [texts[i] for i in picked]
    scores[picked] = head.scores(cache.encode_documents(chosen, progress=True), chosen)
    cache.save()
    t_off = bot_off_subject_threshold(scores, texts, negatives, head.threshold)
    print(json.dumps({"message": head.threshold, "off_subject": t_off, "negatives": len(picked)}))
    if args.dry_run:
        return 0
    mlp = MLPHead.load(path)
    mlp.metadata["thresholds"] = {**mlp.metadata["thresholds"], "off_subject": t_off}
    mlp.metadata["off_subject_calibrated"] = (
        f"set by classifiers.training.calibrate_bot_off_subject on {int(negatives.sum())} real "
        "negatives outside the test split (weights and message threshold unchanged)"
    )
    mlp.save(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
