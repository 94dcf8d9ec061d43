"""Speed of the classifier stack: the shared encoder alone, the full stack, the micro-batcher.

    python benchmarks/classifier_speed.py [--threads 1] [--batch-sizes 1 8 32 128]
        [--encoders use minilm:int8 minilm:fp32 e5] [--device cpu|cuda]

For each encoder configuration (``name`` or ``name:precision``; the shipped stack's encoder,
today's MiniLM int8 and the alternatives): the raw encoder always; the full stack where the
shipped heads were trained on that encoder (the heads cost the same on any encoder of the
same width, so MiniLM's stack cost is its encoder plus the heads' share measured here):

- single-message latency (p50, p99) and throughput (messages/s) at several batch sizes for
  (a) the raw encoder (tokenise + forward + pooling), (b) the full stack for the user role
  (encoder, self-harm head with its lexicon, dependency and minor heads when their weights
  exist: the minor head reads the same encoder pass, plus its grammar) and
  (c) for the bot role (encoder, self-harm lexicon, manipulation head when present), plus
  any backends given with ``--classifiers-config``;
- the heads' share: time per stack part on the same 128 messages (the stack's own
  ``timings``), everything but the encoder over the encoder (target: under 10%), and the
  toxicity head's own part of it for the bot role (target: under 5%) and the minor head's
  (head and grammar) for the user role;
- the toxicity head alone against the encoder on the same batches
  (``benchmarks.toxicity_speed.measure``, best of several runs);
- the sensitive head alone the same way, its term lexicon included (target: under 5% of the
  encoder: it reads the vectors of the one encoder pass, both roles);
- the micro-batcher under concurrency: ``--concurrency`` callers each sending one distinct
  message at once (cache misses), its throughput, per-request latency (p50, p99) and the
  number of forward passes it needed; then the same messages again (cache hits).

The encoder and stack parts take turns on every message and batch, so a busy machine
slows them alike. Messages are 1 to 6 invented chat lines (5 to 80 words), made distinct. Writes
``benchmarks/results/classifier_speed.{json,md}`` (gitignored).
"""

from __future__ import annotations

import argparse
import asyncio
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


def messages(n: int, seed: int = 0, tag: str = "") -> list[str]:
    """``n`` distinct invented messages (a counter keeps the cache from answering)."""
    rng = random.Random(seed)
    return [f"{' '.join(rng.choices(LINES, k=rng.randint(1, 6)))} ({tag}{i})" for i in range(n)]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def interleaved(
    parts: dict[str, Callable[[list[str]], object]], batches: Sequence[list[str]]
) -> dict[str, list[float]]:
    """Seconds per call of each part on each batch, the parts taking turns (after a warm-up)."""
    for fn in parts.values():
        fn(batches[0])
    out: dict[str, list[float]] = {name: [] for name in parts}
    for batch in batches:
        for name, fn in parts.items():
            t = time.perf_counter()
            fn(batch)
            out[name].append(time.perf_counter() - t)
    return out


def pct(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def latency(values: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": 1000 * statistics.median(values), "p99_ms": 1000 * pct(values, 0.99)}


def bench_batcher(stack: Any, concurrency: int, rounds: int) -> dict[str, Any]:
    """``concurrency`` single-message callers at once, ``rounds`` times (fresh texts each)."""
    from classifiers.batcher import MicroBatcher

    async def run() -> dict[str, Any]:
        batcher = MicroBatcher(stack, max_batch=32, max_wait_ms=3.0, cache_size=100_000)
        lat: list[float] = []

        async def one(text: str) -> None:
            t = time.perf_counter()
            await batcher.classify([text], "user")
            lat.append(time.perf_counter() - t)

        await asyncio.gather(*(one(t) for t in messages(8, seed=99, tag="warm")))  # warm-up
        lat.clear()
        start_batches = batcher.stats.batches
        total = 0.0
        texts_all: list[str] = []
        for r in range(rounds):
            texts = messages(concurrency, seed=100 + r, tag=f"r{r}-")
            texts_all += texts
            t = time.perf_counter()
            await asyncio.gather(*(one(x) for x in texts))
            total += time.perf_counter() - t
        miss = {
            **latency(lat),
            "msg_per_s": len(texts_all) / total,
            "forward_passes": batcher.stats.batches - start_batches,
            "messages": len(texts_all),
        }
        lat.clear()
        t = time.perf_counter()
        await asyncio.gather(*(one(x) for x in texts_all))
        hit = {**latency(lat), "msg_per_s": len(texts_all) / (time.perf_counter() - t)}
        await batcher.aclose()
        return {"concurrency": concurrency, "cache_miss": miss, "cache_hit": hit}

    return asyncio.run(run())


def bench_precision(
    device: str,
    config: str,
    batch_sizes: Sequence[int],
    single_runs: int,
    budget_s: float,
    concurrency: int,
    backends: Path | None,
    threads: int = 1,
) -> dict[str, Any]:
    from classifiers.encoders import load_encoder
    from classifiers.self_harm import SelfHarmClassifier
    from classifiers.stack import ClassifierStack, head_encoder_name

    name, _, precision = config.partition(":")
    prec = precision or None
    encoder = load_encoder(name, device=device, precision=prec, threads=threads)  # type: ignore[arg-type]
    pool = messages(512)
    parts: dict[str, Callable[[list[str]], object]] = {
        "encoder": lambda batch: encoder.encode_documents(batch),
    }
    stack: Any = None
    if head_encoder_name(SelfHarmClassifier.load()) == name:
        dev = device if name == "minilm" else "cpu"
        stack = ClassifierStack.load(dev, prec, backends, encoder=encoder)  # type: ignore[arg-type]
        parts["stack_user"] = lambda batch: stack.classify(batch, "user")
        parts["stack_bot"] = lambda batch: stack.classify(batch, "bot")
    if hasattr(encoder, "batch_size"):
        encoder.batch_size = 32  # as served: length-sorted batches of 32
    out: dict[str, Any] = {
        "device": device,
        "precision": config,
        "heads": stack.describe()["heads"] if stack else {},
        "backends": [b["name"] for b in stack.describe()["backends"]] if stack else [],
        "single": {},
        "throughput": {},
    }
    # The parts take turns on each message / batch, so a busy machine slows all alike.
    single = interleaved(parts, [[pool[i % len(pool)]] for i in range(single_runs)])
    out["single"] = {name: latency(times) for name, times in single.items()}
    out["throughput"] = {name: {} for name in parts}
    for bs in batch_sizes:
        runs = max(2, min(20, int(budget_s / max(1e-3, 0.02 * bs))))
        times = interleaved(parts, [pool[:bs]] * runs)
        for name, values in times.items():
            out["throughput"][name][str(bs)] = bs / statistics.median(values)

    # heads' share per stack part (the stack times its parts), relative to the raw encoder
    # on the same messages: 100 single messages, then 5 calls of the same 128 messages
    share: dict[str, Any] = {}
    if stack is None:
        out["heads_share"] = share
        return out
    for label, batches in (("1", [[m] for m in pool[:100]]), ("128", [pool[:128]] * 5)):
        enc_s = sum(min(timed(lambda: parts["encoder"](b), 1)) for b in batches)  # noqa: B023
        for role in ("user", "bot"):
            stack.classify(batches[0], role)  # type: ignore[arg-type]  # warm-up
            stack.timings.clear()
            for b in batches:
                stack.classify(b, role)  # type: ignore[arg-type]
            per = {k: 1000 * v / len(batches) for k, v in stack.timings.items()}
            heads = sum(v for k, v in per.items() if k != "encoder")
            enc = 1000 * enc_s / len(batches)
            # over the stack's own encoder pass in the same calls (the machine's load varies
            # between separate measurements); the raw encoder when no head needed it
            base = per.get("encoder", enc)
            share[f"{role}@{label}"] = {
                "ms_per_call": per,
                "raw_encoder_ms_per_call": enc,
                "heads_ms_per_call": heads,
                "share_of_encoder": heads / base,
                "encoder_skipped": "encoder" not in per,
            }
            for head in ("toxicity", "sensitive", "minor"):  # heads on the same encoder pass
                if head in per:
                    share[f"{role}@{label}"][f"{head}_share_of_encoder"] = per[head] / base
    out["heads_share"] = share
    if stack.toxicity is not None:
        from benchmarks.toxicity_speed import measure

        out["toxicity_head"] = measure(encoder, stack.toxicity, pool[:128], (1, 16, 128))
    if stack.sensitive is not None:
        from benchmarks.toxicity_speed import measure

        out["sensitive_head"] = measure(encoder, stack.sensitive, pool[:128], (1, 16, 128))
    out["batcher"] = bench_batcher(stack, concurrency, rounds=4)
    return out


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    bs = meta["batch_sizes"]
    lines = [
        "# Classifier speed",
        "",
        f"Device: {meta['device']} ({meta['cpu']}), torch threads: {meta['threads']}, "
        f"torch {meta['torch']}.",
        "",
        "| encoder | part | single p50 ms | single p99 ms | "
        + " | ".join(f"msg/s @ {b}" for b in bs)
        + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in bs) + " |",
    ]
    for r in results:
        for part, s in r["single"].items():
            tp = r["throughput"][part]
            lines.append(
                f"| {r['precision']} | {part} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | "
                + " | ".join(f"{tp[str(b)]:.0f}" for b in bs)
                + " |"
            )
    lines += [
        "",
        "Heads' cost: ms per call by stack part, all but the encoder over the raw encoder on "
        "the stack's encoder pass in the same calls (batch 1: 100 single messages; batch 128: "
        "5 calls; texts encoded in length-sorted batches of 32):",
        "",
    ]
    for r in results:
        present = ", ".join(k for k, v in r["heads"].items() if v) + (
            f"; backends {', '.join(r['backends'])}" if r["backends"] else ""
        )
        lines.append(f"- {r['precision']} (heads loaded: {present}):")
        for key, h in r["heads_share"].items():
            per = ", ".join(f"{k} {v:.2f}" for k, v in h["ms_per_call"].items())
            skipped = " (no head needs embeddings: encoder skipped)" if h["encoder_skipped"] else ""
            tox = "".join(
                f", {head} = {100 * h[f'{head}_share_of_encoder']:.2f}%"
                for head in ("toxicity", "sensitive")
                if f"{head}_share_of_encoder" in h
            )
            if "minor_share_of_encoder" in h:
                tox += f", minor = {100 * h['minor_share_of_encoder']:.2f}%"
            lines.append(
                f"  - {key}: {per}{skipped}; heads = {100 * h['share_of_encoder']:.1f}% of the "
                f"encoder{tox} (raw encoder alone: {h['raw_encoder_ms_per_call']:.1f} ms)"
            )
    for head in ("toxicity", "sensitive"):
        rows = [r for r in results if r.get(f"{head}_head")]
        if not rows:
            continue
        lines += [
            "",
            f"{head.capitalize()} head alone vs the encoder on the same messages (best of "
            "several runs; target: under 5%)"
            + (", its term lexicon included:" if head == "sensitive" else ":"),
            "",
            f"| encoder | batch | encoder ms/msg | {head} head ms/msg | head share |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in rows:
            for t in r[f"{head}_head"]:
                lines.append(
                    f"| {r['precision']} | {t['batch']} | {t['encoder_ms_per_message']:.3f} | "
                    f"{t['head_ms_per_message']:.4f} | {t['head_share_percent']:.2f}% |"
                )
    lines += ["", "Micro-batcher (max_batch 32, max_wait 3 ms), one message per caller:", ""]
    lines.append(
        "| precision | callers at once | messages | forward passes | msg/s | p50 ms | p99 ms "
        "| cache-hit msg/s | cache-hit p50 ms |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        if "batcher" not in r:
            continue
        b = r["batcher"]
        m, h = b["cache_miss"], b["cache_hit"]
        lines.append(
            f"| {r['precision']} | {b['concurrency']} | {m['messages']} | {m['forward_passes']} "
            f"| {m['msg_per_s']:.0f} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} "
            f"| {h['msg_per_s']:.0f} | {h['p50_ms']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument(
        "--encoders",
        nargs="+",
        default=None,
        help="name or name:precision (default: the shipped encoder, minilm:int8, e5)",
    )
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32, 128])
    p.add_argument("--single-runs", type=int, default=100)
    p.add_argument("--budget-s", type=float, default=3.0, help="rough seconds per batch size")
    p.add_argument("--concurrency", type=int, default=64, help="batcher callers at once")
    p.add_argument("--classifiers-config", type=Path, default=None, help="extra backends YAML")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from classifiers.self_harm import SelfHarmClassifier
    from classifiers.stack import head_encoder_name

    shipped = head_encoder_name(SelfHarmClassifier.load())
    default = [shipped, "minilm:fp16" if args.device == "cuda" else "minilm:int8", "e5"]
    configs = args.encoders or list(dict.fromkeys(default))
    results = [
        bench_precision(
            args.device,
            cfg,
            args.batch_sizes,
            args.single_runs,
            args.budget_s,
            args.concurrency,
            args.classifiers_config,
            args.threads,
        )
        for cfg in configs
    ]
    meta = {
        "device": args.device
        + (f" {torch.cuda.get_device_name()}" if args.device == "cuda" else ""),
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
