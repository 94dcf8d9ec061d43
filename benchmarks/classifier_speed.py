"""Speed of the classifier stack: the shared encoder alone and the full stack, int8 and fp32.

    python benchmarks/classifier_speed.py [--threads 1] [--batch-sizes 1 8 32 128]

For each precision: single-message latency (p50, p95) and throughput (messages/s) at several
batch sizes for (a) the raw encoder (tokenise + forward + pooling) and (b) the full stack
(encoder, lexicon scan and self-harm head on the same batch); then the heads' share: the
lexicon + head time over the encoder time on the same messages (target: under 10%).
Messages are 1 to 6 invented chat lines (5 to 80 words). Writes
``benchmarks/results/classifier_speed.{json,md}`` (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"

LINES = (
    "hey, how was your day?",
    "I watched a movie last night with my sister and we loved the soundtrack.",
    "Do you know any other films like that one?",
    "I feel a bit tired today, work was long.",
    "The weekend is coming and we plan to walk by the river.",
    "Maybe we will cook something nice together.",
    "Tell me a story about space travel and the stars, please.",
)


def messages(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(LINES, k=rng.randint(1, 6))) for _ in range(n)]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def pct(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def bench_precision(
    precision: str, batch_sizes: Sequence[int], single_runs: int, budget_s: float
) -> dict[str, Any]:
    from classifiers.encoder import Encoder
    from classifiers.self_harm import SelfHarmClassifier

    encoder = Encoder(device="cpu", precision=precision)  # type: ignore[arg-type]
    clf = SelfHarmClassifier.load()
    pool = messages(512)

    def encoder_only(batch: list[str]) -> object:
        return encoder.encode_documents(batch, batch_size=len(batch))

    def full_stack(batch: list[str]) -> object:
        emb = encoder.encode_documents(batch, batch_size=len(batch))
        return clf.score_user_messages(emb, batch)

    out: dict[str, Any] = {"precision": precision, "single": {}, "throughput": {}}
    for name, fn in (("encoder", encoder_only), ("full_stack", full_stack)):
        it = iter(range(10**9))
        lat = timed(lambda: fn([pool[next(it) % len(pool)]]), single_runs)  # noqa: B023
        out["single"][name] = {
            "p50_ms": 1000 * statistics.median(lat),
            "p95_ms": 1000 * pct(lat, 0.95),
        }
        out["throughput"][name] = {}
        for bs in batch_sizes:
            batch = pool[:bs]
            runs = max(2, min(20, int(budget_s / max(1e-3, 0.02 * bs))))
            times = timed(lambda: fn(batch), runs)  # noqa: B023
            out["throughput"][name][str(bs)] = bs / statistics.median(times)

    # heads' share on the same 128 messages: lexicon + head over precomputed embeddings
    batch = pool[:128]
    enc_t = statistics.median(timed(lambda: encoder_only(batch), 3))
    emb = encoder.encode_documents(batch)
    head_t = statistics.median(timed(lambda: clf.score_user_messages(emb, batch), 5))
    lex_t = statistics.median(timed(lambda: [clf.lexicon.scan(t) for t in batch], 5))
    out["heads_share"] = {
        "encoder_ms_per_128": 1000 * enc_t,
        "lexicon_plus_head_ms_per_128": 1000 * head_t,
        "of_which_lexicon_ms": 1000 * lex_t,
        "share_of_encoder": head_t / enc_t,
    }
    return out


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Classifier speed",
        "",
        f"CPU: {meta['cpu']}, torch threads: {meta['threads']}, torch {meta['torch']}.",
        "",
        "| precision | part | single p50 ms | single p95 ms | "
        + " | ".join(f"msg/s @ {b}" for b in meta["batch_sizes"])
        + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in meta["batch_sizes"]) + " |",
    ]
    for r in results:
        for part in ("encoder", "full_stack"):
            s = r["single"][part]
            tp = r["throughput"][part]
            lines.append(
                f"| {r['precision']} | {part} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | "
                + " | ".join(f"{tp[str(b)]:.0f}" for b in meta["batch_sizes"])
                + " |"
            )
    lines.append("")
    for r in results:
        h = r["heads_share"]
        lines.append(
            f"- {r['precision']}: lexicon + self-harm head "
            f"{h['lexicon_plus_head_ms_per_128']:.1f} ms (lexicon {h['of_which_lexicon_ms']:.1f} "
            f"ms) vs encoder {h['encoder_ms_per_128']:.0f} ms per 128 messages: "
            f"{100 * h['share_of_encoder']:.1f}% of the encoder."
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", nargs="+", default=["int8", "fp32"], choices=("int8", "fp32"))
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32, 128])
    p.add_argument("--single-runs", type=int, default=50)
    p.add_argument("--budget-s", type=float, default=3.0, help="rough seconds per batch size")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    results = [
        bench_precision(prec, args.batch_sizes, args.single_runs, args.budget_s)
        for prec in args.precision
    ]
    meta = {
        "cpu": platform.processor() or platform.machine(),
        "threads": args.threads,
        "torch": torch.__version__,
        "batch_sizes": args.batch_sizes,
    }
    report = markdown(results, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "classifier_speed.md").write_text(report, encoding="utf-8")
    (args.out / "classifier_speed.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8"
    )
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
