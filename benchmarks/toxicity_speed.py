"""What the toxicity head adds per message, against the shared encoder (target: under 5%).

    python -m benchmarks.toxicity_speed [--encoder use] [--threads 1]

Times the encoder's ``encode_documents`` and the head's ``score`` on the same batches of
invented bot messages (best of several runs, CPU), and prints milliseconds per message and
the head's share. ``benchmarks/classifier_speed.py`` reports the same through ``measure``.
Nothing here reads the data folder.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from classifiers.encoders import DEFAULT_ENCODER, ENCODER_NAMES, load_encoder
from classifiers.toxicity import ToxicityClassifier

MESSAGE = "I found a film you might like, number {i}. Shall we watch it together tonight?"
TARGET_SHARE_PERCENT = 5.0


def best(f: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def measure(
    encoder: Any,
    head: Any,
    texts: Sequence[str] | None = None,
    sizes: Sequence[int] = (1, 16, 64),
    runs: int = 5,
) -> list[dict[str, Any]]:
    """Per batch size: encoder and head milliseconds per message, the head's share (%).
    ``head`` is a ``ToxicityClassifier`` (anything with ``score(embeddings, texts)``)."""
    pool = list(texts) if texts else [MESSAGE.format(i=i) for i in range(max(sizes))]
    encoder.encode_documents(pool[:8])  # warm-up
    out = []
    for size in sizes:
        batch = pool[:size]
        emb = encoder.encode_documents(batch)
        t_enc = best(lambda b=batch: encoder.encode_documents(b), runs)
        t_head = best(lambda e=emb, b=batch: head.score(e, b), runs * 10)
        out.append(
            {
                "batch": size,
                "encoder_ms_per_message": round(1e3 * t_enc / size, 3),
                "head_ms_per_message": round(1e3 * t_head / size, 4),
                "head_share_percent": round(100 * t_head / t_enc, 2),
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--encoder", choices=ENCODER_NAMES, default=DEFAULT_ENCODER)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    enc = load_encoder(args.encoder, threads=args.threads)
    out = measure(enc, ToxicityClassifier.load(), runs=args.runs)
    print(json.dumps({"encoder": args.encoder, "threads": args.threads, "results": out}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
