"""The ``minor`` signal on the frozen held-out set, and on real everyday chat, apart.

    python benchmarks/minor_quality.py [--data ../shared/data] [--threads 1]

- ``benchmarks/heldout/minor_signals.yaml`` (synthetic, written by another author before the
  detector, never used to train, tune or write a pattern): recall on minors and false alarms
  on adults, by language and cue, with the hard negatives (adults talking about children,
  pupils or their own youth: cues ``parent_of_child``, ``teacher``, ``past_self``) apart;
  the grammar alone and the fused decision (grammar OR head) side by side.
- Everyday chat, test split (``classifiers.training.corpora.everyday``, less every row the
  shipped head trained or chose its threshold on: real, mostly adults): the flag rate.

Figures from the two are never pooled: the held-out set is balanced on purpose and full of
hard cases; its rates are not production rates. Writes
``benchmarks/results/minor_quality.{md,json}``.
Nothing here prints a text from the data or the set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELDOUT: Final = ROOT / "benchmarks" / "heldout" / "minor_signals.yaml"
RESULTS: Final = ROOT / "benchmarks" / "results"
HARD_NEGATIVES: Final = frozenset({"parent_of_child", "teacher", "past_self"})
REFERENCE_YEAR: Final = 2026
"""The set reads ages as of 2026-12-06 (its README): birth years are read against 2026."""


def _rate(flags: Sequence[bool]) -> dict[str, Any]:
    n = len(flags)
    k = int(sum(flags))
    return {"n": n, "flagged": k, "rate": k / n if n else float("nan")}


def heldout(items: list[dict[str, Any]], fused: list[bool], grammar: list[bool]) -> dict[str, Any]:
    """Recall on minors and false alarms on adults, by language and cue."""
    out: dict[str, Any] = {}
    for lang in ("en", "fr", "all"):
        sel = [i for i, it in enumerate(items) if lang == "all" or it["lang"] == lang]
        entry: dict[str, Any] = {}
        for name, flags in (("fused", fused), ("grammar", grammar)):
            minors = [flags[i] for i in sel if items[i]["label"] == "minor"]
            adults = [flags[i] for i in sel if items[i]["label"] == "adult"]
            hard = [
                flags[i]
                for i in sel
                if items[i]["label"] == "adult" and items[i]["cue"] in HARD_NEGATIVES
            ]
            pairs = [(items[i]["label"], items[i]["cue"]) for i in sel]
            by_cue = {
                f"{label}/{cue}": _rate(
                    [flags[i] for i, p in zip(sel, pairs, strict=True) if p == (label, cue)]
                )
                for label, cue in sorted(set(pairs))
            }
            entry[name] = {
                "recall_minors": _rate(minors),
                "false_alarms_adults": _rate(adults),
                "false_alarms_hard_negatives": _rate(hard),
                "by_cue": by_cue,
            }
        out[lang] = entry
    return out


def blocks(data: Path, sets: Any) -> dict[str, Any]:
    """The real rows a figure here is measured on, none seen by the minor head."""
    from classifiers.minor import MinorClassifier
    from classifiers.training.heldout import block

    rows = [r for r in everyday_test(data, MinorClassifier.load()) if r.split == "test"]
    return {"minor_everyday_test": block("minor_everyday_test", ("minor",), rows, sets)}


def everyday(data: Path, clf: Any, cache: Any) -> dict[str, Any]:
    """Flag rate on the everyday test split the shipped head never saw."""
    from classifiers.training.heldout import SeenSets

    rows = list(blocks(data, SeenSets(data))["minor_everyday_test"].rows)
    x = cache.encode_documents([r.text for r in rows])
    res = clf.score(x, [r.text for r in rows], REFERENCE_YEAR)
    return {
        lang: _rate([m.flagged for m, r in zip(res, rows, strict=True) if r.lang == lang])
        for lang in ("en", "fr")
    }


def everyday_test(data: Path, clf: Any) -> list[Any]:
    from classifiers.training.train_minor import universe

    split = clf.head.metadata.get("split", {})
    rows = universe(data, int(split.get("everyday_cap", 2000)), int(split.get("seed", 0)))
    return [r for r in rows if r.source != "synthetic"]


def markdown(result: dict[str, Any]) -> str:
    def pct(r: dict[str, Any]) -> str:
        return f"{100 * r['rate']:.1f}% ({r['flagged']}/{r['n']})"

    lines = [
        "# Minor signal: held-out set and everyday chat",
        "",
        f"Head: `{result['head']['file']}` (threshold {result['head']['threshold']:.4f}), "
        f"encoder {result['head']['encoder']}.",
        "",
        "## Held-out set `benchmarks/heldout/minor_signals.yaml` (synthetic, frozen, another "
        "author)",
        "",
        "| lang | decision | recall on minors | adults flagged | hard negatives flagged |",
        "| --- | --- | --- | --- | --- |",
    ]
    for lang in ("en", "fr", "all"):
        for name in ("fused", "grammar"):
            h = result["heldout"][lang][name]
            lines.append(
                f"| {lang} | {name} | {pct(h['recall_minors'])} | "
                f"{pct(h['false_alarms_adults'])} | {pct(h['false_alarms_hard_negatives'])} |"
            )
    lines += [
        "",
        "By cue (fused decision; minors: share flagged = recall; adults: false alarms):",
        "",
    ]
    lines += ["| lang | label/cue | flagged |", "| --- | --- | --- |"]
    for lang in ("en", "fr"):
        for cue, r in result["heldout"][lang]["fused"]["by_cue"].items():
            lines.append(f"| {lang} | {cue} | {pct(r)} |")
    lines += [
        "",
        "## Real everyday chat, test split (rows the head never saw; mostly adults)",
        "",
        "| lang | flagged |",
        "| --- | --- |",
    ]
    for lang, r in result["everyday"].items():
        lines.append(f"| {lang} | {pct(r)} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    from classifiers.data import default_data_dir

    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--no-everyday", action="store_true", help="the held-out set only")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classifiers.minor import MINOR_WEIGHTS, MinorClassifier
    from classifiers.minor_cues import scan
    from classifiers.training.common import embedding_cache

    clf = MinorClassifier.load()
    meta = clf.head.metadata
    cache = embedding_cache(None, "fp32", None, str(meta.get("encoder_name")), args.threads)
    items = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))["items"]
    texts = [str(it["text"]) for it in items]
    res = clf.score(cache.encode_documents(texts), texts, REFERENCE_YEAR)
    grammar = [bool(scan(t, REFERENCE_YEAR).minor) for t in texts]
    result: dict[str, Any] = {
        "head": {
            "file": str(MINOR_WEIGHTS.relative_to(ROOT)),
            "threshold": clf.threshold,
            "encoder": meta.get("encoder"),
        },
        "heldout": heldout(items, [r.flagged for r in res], grammar),
        "everyday": {} if args.no_everyday else everyday(args.data, clf, cache),
    }
    report = markdown(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "minor_quality.md").write_text(report, encoding="utf-8")
    (args.out / "minor_quality.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
