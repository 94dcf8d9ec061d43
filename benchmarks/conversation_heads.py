"""What the severity head adds reading a split conversation, and the joined-text alternative.

    python benchmarks/conversation_heads.py [--data ../shared/data] [--sets 1-8]

Since round 11 the event path reads a crisis split over messages with the grammar's facts
and the severity head on the mean of the messages' sentence embeddings (the store keeps
them minutes beside the facts: ``ClassifierAssessor.converse``). This asks what more the
head would add if it read the turns joined into one text (what a store keeping words could
do) or the mean again, on the split items of the retired sets
(``benchmarks/dev/acute_crisis_vN.yaml``, development data), per language: crises the event
path still misses that the head would read at ideation or above, and look-alikes it would
newly send down the crisis path; on everyday chat of the test split, the share of
consecutive pairs the head speaks of, beside its share of single messages. Prints figures
only, never a text. (Before round 11, when the event path read facts only, the mean added
9 of 29 English and 3 of 36 French missed split crises on v1-v7, with no new look-alike.)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.acute_heldout import build, run_events  # noqa: E402
from classifiers.training.train_crisis_head import set_numbers  # noqa: E402


def _embed(stack: Any, texts: Sequence[str]) -> Any:
    from classifiers.normalize import bounded, normalize

    return stack.encoder.encode_documents([bounded(normalize(t).text) for t in texts])


def _speaks(stack: Any, vectors: Any, turns: Sequence[str]) -> bool:
    """The severity head on a conversation, one vector per turn, as the gateway reads it
    (``SelfHarmClassifier.conversation``), a keyword hit in any turn opening its gate."""
    sh = stack.self_harm
    hits = any(sh.lexicon.scan(t, role="user").hits for t in turns)
    said = sh.conversation(vectors, [sh.grammar.facts(t) for t in turns], hits)
    return bool(said.severity != "none")


def split_items(sets: Sequence[int]) -> list[dict[str, Any]]:
    items = []
    for v in sets:
        path = ROOT / "benchmarks" / "dev" / f"acute_crisis_v{v}.yaml"
        items += [
            i for i in yaml.safe_load(path.read_text(encoding="utf-8"))["items"] if "turns" in i
        ]
    return items


def split_figures(stack: Any, assessor: Any, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    outcomes = asyncio.run(run_events(items, assessor))
    out: dict[str, Any] = {}
    for lang in ("en", "fr"):
        row = {"crises": 0, "missed": 0, "mean_adds": 0, "joined_adds": 0,
               "lookalikes": 0, "mean_alarms": 0, "joined_alarms": 0}  # fmt: skip
        for item, got in zip(items, outcomes, strict=True):
            if item["lang"] != lang:
                continue
            turns = list(item["turns"])
            vectors = _embed(stack, turns)
            joined = np.repeat(_embed(stack, [" ".join(turns)]), len(turns), axis=0)
            by_mean, by_joined = _speaks(stack, vectors, turns), _speaks(stack, joined, turns)
            if item["level"] != "none":
                row["crises"] += 1
                if not got["crisis"]:
                    row["missed"] += 1
                    row["mean_adds"] += by_mean
                    row["joined_adds"] += by_joined
            else:
                row["lookalikes"] += 1
                if not got["crisis"]:
                    row["mean_alarms"] += by_mean
                    row["joined_alarms"] += by_joined
        out[lang] = row
    return out


def everyday_figures(stack: Any, data: Path, cap: int) -> dict[str, Any]:
    """Consecutive pairs of everyday test messages read as one conversation (mean vector)."""
    from classifiers.training import corpora as C

    rows = [r for r in C.everyday(data) if r.split == "test"]
    out: dict[str, Any] = {}
    for lang in ("en", "fr"):
        texts = [r.text for r in rows if r.lang == lang][:cap]
        vectors = _embed(stack, texts)
        single = sum(
            _speaks(stack, vectors[i : i + 1], texts[i : i + 1]) for i in range(len(texts))
        )
        pairs = 0
        for i in range(len(texts) - 1):
            pairs += _speaks(stack, vectors[i : i + 2], texts[i : i + 2])
        out[lang] = {"messages": len(texts), "single_rate": round(single / max(len(texts), 1), 4),
                     "pair_rate": round(pairs / max(len(texts) - 1, 1), 4)}  # fmt: skip
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--sets", default="1-8", help="retired sets to read: 1-8, 1-6,8")
    parser.add_argument("--everyday-cap", type=int, default=3000)
    args = parser.parse_args(argv)
    stack, assessor = build("classifier")
    items = split_items(set_numbers(args.sets))
    print("split items:", split_figures(stack, assessor, items))
    if args.data.is_dir():
        print("everyday:", everyday_figures(stack, args.data, args.everyday_cap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
