"""PII stage speed: per-message latency (p50, p99) and batched throughput, on one thread.

Compared: guardrail's ``PiiDetector`` (English and French pipelines, the stage's own
recognizers) and Presidio's default ``AnalyzerEngine`` (default recognizers, default NLP
configuration on the same offline English pipeline, see ``benchmarks/pii_quality.py``),
each called once per message the way a naive integration would, then each in batch mode
(``PiiDetector.analyze_batch`` / Presidio's ``BatchAnalyzerEngine``, both over ``nlp.pipe``).
The gateway's own stage (``guardrail.analysis.Analyzer``: event loop → PII worker thread,
which drains concurrent requests into one batch per language) is timed the same two ways:
one decision at a time, and every message as a concurrent decision.

Messages: synthetic bot-outreach messages generated here from a fixed seed (made-up names,
reserved 555 / fictional numbers, Luhn-valid test cards), about half with one or two PII
items, English and French. Presidio's default supports English only, so the side-by-side
per-call numbers use the English messages; guardrail is also timed on the EN+FR mix.

Usage: ``.venv/bin/python benchmarks/pii_speed.py [--messages 400] [--batch-size 64]``;
writes ``benchmarks/results/pii_speed.json`` and ``.md`` (not committed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EN_TEMPLATES = [
    "I hope you are having a wonderful day! Discovered any new soundtracks lately?",
    "Hey {first}, it's been a while. Did you finish the series we talked about?",
    "Quick reminder: your screening starts at 8 pm. Text me at {us_phone} if you're late.",
    "You can reach the box office at {us_phone_intl} or write to {email}.",
    "Your tickets are on the card ending in 4242, or use {card} again?",
    "The poster was shipped to {us_address}. Enjoy!",
    "Good morning! Here's a soundtrack you might love: the organ in Interstellar.",
    "Missing our chats... are you still into Zimmer or have you moved on to Jóhannsson?",
    "{first} {last} recommended a film for you. Want to hear about it?",
    "Reminder: the server {ip} will be down tonight for maintenance.",
]
FR_TEMPLATES = [
    "J'espère que vous passez une magnifique journée ! Découvert de nouvelles musiques ?",
    "Coucou {first_fr}, ça fait longtemps ! Tu as fini la série dont on parlait ?",
    "Ta séance commence à 20 h. Appelle-moi au {fr_phone} si tu as un souci.",
    "Le cinéma est au {fr_address}, on s'y retrouve ?",
    "Tu peux aussi écrire à {email} ou appeler le {fr_phone_intl}.",
    "Bonne soirée ! Un film à te conseiller : Le Fabuleux Destin d'Amélie Poulain.",
    "{first_fr} {last_fr} t'a recommandé un film, tu veux en savoir plus ?",
    "Ton remboursement part sur le compte {iban}.",
]
FIRST = ["Ana", "Noah", "Priya", "Liam", "Zoe", "Mateo", "Grace", "Omar"]
LAST = ["Rivera", "Chen", "Okafor", "Novak", "Haddad", "Larsen", "Moreau", "Silva"]
FIRST_FR = ["Camille", "Léa", "Hugo", "Inès", "Lucas", "Manon", "Théo", "Chloé"]
LAST_FR = ["Martin", "Bernard", "Dubois", "Lefèvre", "Garnier", "Rousseau", "Faure", "Blanc"]
STREETS_US = ["Maple Avenue", "Oak Street", "Sunset Boulevard", "Cedar Lane", "Hill Road"]
STREETS_FR = ["rue des Lilas", "avenue Victor Hugo", "boulevard Voltaire", "place du Marché"]
CITIES_FR = ["75011 Paris", "69003 Lyon", "33000 Bordeaux", "13001 Marseille"]


def _luhn_complete(prefix: str, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def make_messages(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` (text, locale) pairs, two thirds English, one third French."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for i in range(n):
        french = i % 3 == 2
        template = rng.choice(FR_TEMPLATES if french else EN_TEMPLATES)
        card = _luhn_complete("4", rng)
        slots = {
            "first": rng.choice(FIRST),
            "last": rng.choice(LAST),
            "first_fr": rng.choice(FIRST_FR),
            "last_fr": rng.choice(LAST_FR),
            "us_phone": f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}",
            "us_phone_intl": f"+1 {rng.randint(201, 989)} 555 01{rng.randint(0, 99):02d}",
            "fr_phone": "06 " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4)),
            "fr_phone_intl": "+33 7 " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4)),
            "email": f"{rng.choice(FIRST).lower()}.{rng.randint(1, 99)}@example.com",
            "card": " ".join(card[j : j + 4] for j in range(0, 16, 4)),
            "us_address": f"{rng.randint(1, 9999)} {rng.choice(STREETS_US)}, Springfield, IL",
            "fr_address": f"{rng.randint(1, 200)} {rng.choice(STREETS_FR)}, "
            f"{rng.choice(CITIES_FR)}",
            "ip": f"198.51.100.{rng.randint(1, 254)}",
            "iban": "FR76 3000 6000 0112 3456 7890 189",
        }
        out.append((template.format(**slots), "fr-FR" if french else "en-US"))
    return out


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.50), 3),
        "p90_ms": round(pick(0.90), 3),
        "p99_ms": round(pick(0.99), 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def per_call(call: Callable[[str, str], Any], messages: Iterable[tuple[str, str]]) -> list[float]:
    samples: list[float] = []
    for text, locale in messages:
        start = time.perf_counter()
        call(text, locale)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def throughput(run: Callable[[], Any], n_messages: int, repeats: int) -> dict[str, float]:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return {
        "messages": n_messages,
        "seconds": round(best, 3),
        "msg_per_s": round(n_messages / best, 1),
    }


def stage_per_call(messages: Sequence[tuple[str, str]]) -> list[float]:
    """The gateway's PII stage as a decision calls it: ``Analyzer.analyze`` on the event
    loop, detection in the worker thread, one message at a time."""
    from guardrail.analysis import AnalysisRequest, Analyzer
    from guardrail.rules.pii import PiiParams

    analyzer, request = Analyzer(), AnalysisRequest(pii=PiiParams())

    async def run() -> list[float]:
        for text, locale in messages[:20]:  # warm-up: load both pipelines in the worker
            await analyzer.analyze(text, locale, request)
        samples = []
        for text, locale in messages:
            start = time.perf_counter()
            await analyzer.analyze(text, locale, request)
            samples.append((time.perf_counter() - start) * 1000)
        return samples

    return asyncio.run(run())


def stage_concurrent(messages: Sequence[tuple[str, str]]) -> None:
    """Every message as a concurrent decision: the worker drains them into batches."""
    from guardrail.analysis import AnalysisRequest, Analyzer
    from guardrail.rules.pii import PiiParams

    analyzer, request = Analyzer(), AnalysisRequest(pii=PiiParams())

    async def run() -> None:
        await asyncio.gather(*(analyzer.analyze(t, loc, request) for t, loc in messages))

    asyncio.run(run())


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="batched runs; the best is kept")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(list(argv) if argv is not None else None)

    # One thread, the figures are per core; set before numpy / thinc / torch load.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    from presidio_analyzer import BatchAnalyzerEngine

    from benchmarks.pii_quality import default_presidio_analyzer
    from classifiers.pii import PiiDetector

    messages = make_messages(args.messages)
    english = [(t, loc) for t, loc in messages if loc.startswith("en")]
    english_texts = [t for t, _ in english]

    detector = PiiDetector()
    default = default_presidio_analyzer()
    default_batch = BatchAnalyzerEngine(analyzer_engine=default)
    for text, locale in messages[:20]:  # warm-up: first calls build caches
        detector.analyze(text, locale)
        default.analyze(text, language="en")

    results: dict[str, Any] = {
        "messages": len(messages),
        "english_messages": len(english),
        "guardrail_finds_pii_in": sum(
            bool(found)
            for found in detector.analyze_batch(
                [t for t, _ in messages], [lo for _, lo in messages]
            )
        ),
        "threads": 1,
        "batch_size": args.batch_size,
        "per_call": {
            "guardrail_en": percentiles(per_call(detector.analyze, english)),
            "presidio_default_en": percentiles(
                per_call(lambda t, _l: default.analyze(t, language="en"), english)
            ),
            "guardrail_en_fr": percentiles(per_call(detector.analyze, messages)),
            "gateway_stage_en_fr": percentiles(stage_per_call(messages)),
        },
        "batched": {
            "guardrail_en": throughput(
                lambda: detector.analyze_batch(english_texts, "en", batch_size=args.batch_size),
                len(english),
                args.repeats,
            ),
            "presidio_default_en": throughput(
                lambda: default_batch.analyze_iterator(
                    english_texts, language="en", batch_size=args.batch_size
                ),
                len(english),
                args.repeats,
            ),
            "gateway_stage_en_fr": throughput(
                lambda: stage_concurrent(messages), len(messages), args.repeats
            ),
            "guardrail_en_fr": throughput(
                lambda: detector.analyze_batch(
                    [t for t, _ in messages], [loc for _, loc in messages], args.batch_size
                ),
                len(messages),
                args.repeats,
            ),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pii_speed.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = [
        "# PII stage speed (1 thread)",
        "",
        f"{results['messages']} synthetic messages ({results['english_messages']} English), "
        f"guardrail finds PII in {results['guardrail_finds_pii_in']}; "
        f"batch size {args.batch_size}.",
        "",
        "| detector | messages | p50 ms | p90 ms | p99 ms | mean ms | batched msg/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, label, which in (
        ("guardrail_en", "guardrail PiiDetector", "EN"),
        ("presidio_default_en", "Presidio default AnalyzerEngine", "EN"),
        ("guardrail_en_fr", "guardrail PiiDetector", "EN+FR"),
        ("gateway_stage_en_fr", "gateway PII stage (Analyzer, worker)", "EN+FR"),
    ):
        pc, bt = results["per_call"][key], results["batched"][key]
        lines.append(
            f"| {label} | {which} | {pc['p50_ms']:.2f} | {pc['p90_ms']:.2f} | {pc['p99_ms']:.2f} "
            f"| {pc['mean_ms']:.2f} | {bt['msg_per_s']:.0f} |"
        )
    table = "\n".join(lines) + "\n"
    (args.out / "pii_speed.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
