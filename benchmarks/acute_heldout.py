"""The frozen held-out acute-crisis set through the gateway's event path. Trains nothing.

    python benchmarks/acute_heldout.py [--data ../shared/data] [--assessor classifier]
    python benchmarks/acute_heldout.py --set benchmarks/dev/acute_dev.yaml --no-everyday

``--set`` runs any YAML of the same schema instead (the synthetic development set
``benchmarks/dev/acute_dev.yaml``, tuned on: its figures are never quality figures); its
results are written under the set's own name.

Every item of ``benchmarks/heldout/acute_crisis_v12.yaml`` (never tuned on: see its README) is
sent as ``user_message`` events of a user of its own, one minute apart (a split
conversation's turns in order), through :func:`guardrail.service.ingest.ingest` on a fresh
SQLite store with the gateway's assessor: what ``POST /v1/events`` records. An item's
outcome is the highest risk level its events recorded, whether any of them started the
crisis protocol (level ideation or above), and whether any was ``imminent``. The stack's
``flagged`` (the operating point calibrated on everyday chat) is read beside it, on each turn.

Figures, English and French apart: recall of the crisis path per C-SSRS level, attempts
reaching behavior or attempt, ``imminent`` recall and false alarms, look-alikes reaching any
signal or the crisis path, recall by tag; and beside them the everyday chat of the test
split (GoEmotions, Topical-Chat, XED; XPersona and XED French) through the same assessor:
share flagged, share at ideation or above, share imminent. Prints and writes figures only,
never a text (``benchmarks/results/acute_heldout.{json,md}``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELDOUT = ROOT / "benchmarks" / "heldout" / "acute_crisis_v12.yaml"
RESULTS = ROOT / "benchmarks" / "results"
LEVELS = ("wish_to_die", "active_ideation", "method", "intent", "plan", "preparatory", "attempt")
TAGS = ("slang", "typo", "emoji", "split", "time_word", "goodbye", "overdose", "self_injury")
LOOKALIKE_TAGS = (
    "hyperbole",
    "idiom",
    "prevention_talk",
    "grief",
    "fiction_or_news",
    "question_about_help",
    "third_person",
)
IDEATION, BEHAVIOR = 2, 3
T0 = datetime(2026, 12, 10, 21, 0, tzinfo=UTC)


def load_items(path: Path = HELDOUT) -> list[dict[str, Any]]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    assert isinstance(items, list)
    return items


def turns_of(item: dict[str, Any]) -> list[str]:
    return list(item["turns"]) if "turns" in item else [str(item["text"])]


async def run_events(items: Sequence[dict[str, Any]], assessor: Any) -> list[dict[str, Any]]:
    """Each item's turns as events of one user; what the event path recorded."""
    from guardrail.consent import ConsentDetector, ConsentWords
    from guardrail.models import Event, EventType
    from guardrail.service.ingest import ingest
    from guardrail.state.sqlite import SQLiteStore

    detector = ConsentDetector(ConsentWords())
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "state.db")
        try:
            for n, item in enumerate(items):
                level, crisis, imminent = 0, False, False
                turns = turns_of(item)
                for k, text in enumerate(turns):
                    event = Event(
                        type=EventType.USER_MESSAGE,
                        bot_id="companion",
                        user_id=f"heldout-{n}",
                        ts=T0 + timedelta(minutes=k - len(turns)),
                        text=text,
                        locale="fr-FR" if item["lang"] == "fr" else "en-US",
                    )
                    result = await ingest(store, detector, "bench", event, assessor=assessor)
                    if result.risk is not None:
                        level = max(level, ("indicator", "ideation", "behavior", "attempt")
                                    .index(result.risk) + 1)  # fmt: skip
                    crisis = crisis or result.crisis
                    imminent = imminent or bool(getattr(result, "imminent", False))
                out.append({"level": level, "crisis": crisis, "imminent": imminent})
        finally:
            await store.close()
    return out


def stack_flags(stack: Any, items: Sequence[dict[str, Any]]) -> list[bool]:
    """The stack's ``flagged`` (everyday-calibrated operating point) on any turn."""
    texts = [t for item in items for t in turns_of(item)]
    flags = [s.self_harm.flagged for s in stack.classify(texts, "user")]
    out, k = [], 0
    for item in items:
        n = len(turns_of(item))
        out.append(any(flags[k : k + n]))
        k += n
    return out


def _rate(hits: Sequence[bool]) -> dict[str, Any]:
    return {"n": len(hits), "k": int(sum(hits)), "rate": round(sum(hits) / len(hits), 4)} if hits \
        else {"n": 0, "k": 0, "rate": None}  # fmt: skip


def figures(
    items: Sequence[dict[str, Any]], outcomes: Sequence[dict[str, Any]], flags: Sequence[bool]
) -> dict[str, Any]:
    """Aggregates only, per language and pooled."""
    out: dict[str, Any] = {}
    for lang in ("en", "fr", "all"):
        rows = [
            (i, o, f)
            for i, o, f in zip(items, outcomes, flags, strict=True)
            if lang == "all" or i["lang"] == lang
        ]
        pos = [(i, o, f) for i, o, f in rows if i["level"] != "none"]
        neg = [(i, o, f) for i, o, f in rows if i["level"] == "none"]
        block: dict[str, Any] = {
            "acute_crisis_path": _rate([o["crisis"] for _, o, _ in pos]),
            "acute_flagged": _rate([f for _, _, f in pos]),
            "acute_crisis_path_or_flagged": _rate([o["crisis"] or f for _, o, f in pos]),
            "per_level_crisis_path": {
                lv: _rate([o["crisis"] for i, o, _ in pos if i["level"] == lv]) for lv in LEVELS
            },
            "attempt_behavior_or_above": _rate(
                [o["level"] >= BEHAVIOR for i, o, _ in pos if i["level"] == "attempt"]
            ),
            "preparatory_behavior_or_above": _rate(
                [o["level"] >= BEHAVIOR for i, o, _ in pos if i["level"] == "preparatory"]
            ),
            "imminent_recall": _rate([o["imminent"] for i, o, _ in pos if i["imminent"]]),
            "per_level_imminent_recall": {
                lv: _rate([o["imminent"] for i, o, _ in pos if i["level"] == lv and i["imminent"]])
                for lv in LEVELS
            },
            "imminent_crisis_path": _rate([o["crisis"] for i, o, _ in pos if i["imminent"]]),
            "imminent_on_non_imminent_positives": _rate(
                [o["imminent"] for i, o, _ in pos if not i["imminent"]]
            ),
            "lookalike_crisis_path": _rate([o["crisis"] for _, o, _ in neg]),
            "lookalike_any_signal": _rate([o["level"] > 0 for _, o, _ in neg]),
            "lookalike_flagged": _rate([f for _, _, f in neg]),
            "lookalike_imminent": _rate([o["imminent"] for _, o, _ in neg]),
            "by_tag_crisis_path": {
                t: _rate([o["crisis"] for i, o, _ in pos if t in i["tags"]]) for t in TAGS
            },
            "lookalike_by_tag_crisis_path": {
                t: _rate([o["crisis"] for i, o, _ in neg if t in i["tags"]]) for t in LOOKALIKE_TAGS
            },
        }
        out[lang] = block
    return out


async def everyday_rates(data: Path, assessor: Any, stack: Any, cap: int) -> dict[str, Any]:
    """Everyday chat (test split) through the same assessor: shares flagged, at ideation or
    above, imminent; English and French apart."""
    from classifiers.training import corpora as C

    rows = [r for r in C.everyday(data) if r.split == "test"]
    out: dict[str, Any] = {}
    for lang in ("en", "fr"):
        kept: list[Any] = []
        mine = [r for r in rows if r.lang == lang]
        for source in sorted({r.source for r in mine}):
            kept.extend([r for r in mine if r.source == source][:cap])
        texts = [r.text for r in kept]
        found = []
        for i in range(0, len(texts), 256):
            found.extend(
                await assessor.assess(texts[i : i + 256], [None] * len(texts[i : i + 256]))
            )
        flagged = []
        for i in range(0, len(texts), 256):
            flagged.extend(s.self_harm.flagged for s in stack.classify(texts[i : i + 256], "user"))
        out[lang] = {
            "n": len(texts),
            "flagged": round(sum(flagged) / len(texts), 4),
            "any_signal": round(sum(a.level >= 1 for a in found) / len(texts), 4),
            "ideation_or_above": round(sum(a.level >= IDEATION for a in found) / len(texts), 4),
            "imminent": round(
                sum(bool(getattr(a, "imminent", False)) for a in found) / len(texts), 4
            ),
        }
    return out


def _cell(r: dict[str, Any]) -> str:
    return "n/a" if not r["n"] else f"{r['k']}/{r['n']} ({100 * r['rate']:.0f}%)"


def markdown(figs: dict[str, Any], everyday: dict[str, Any] | None, label: str) -> str:
    lines = [f"# Held-out acute crisis set ({label})", "",
             "Synthetic, frozen, never tuned on: not production rates. Crisis path = a recorded "
             "level of ideation or above (hold, resources, review).", "",
             "| figure | en | fr | all |", "| --- | --- | --- | --- |"]  # fmt: skip
    keys = [
        "acute_crisis_path",
        "acute_flagged",
        "acute_crisis_path_or_flagged",
        "attempt_behavior_or_above",
        "preparatory_behavior_or_above",
        "imminent_recall",
        "imminent_crisis_path",
        "imminent_on_non_imminent_positives",
        "lookalike_crisis_path",
        "lookalike_any_signal",
        "lookalike_flagged",
        "lookalike_imminent",
    ]
    for k in keys:
        lines.append(
            f"| {k} | " + " | ".join(_cell(figs[lg][k]) for lg in ("en", "fr", "all")) + " |"
        )
    groups = ("per_level_crisis_path", "per_level_imminent_recall", "by_tag_crisis_path",
              "lookalike_by_tag_crisis_path")  # fmt: skip
    for group in groups:
        for k in figs["all"][group]:
            lines.append(
                f"| {group}: {k} | "
                + " | ".join(_cell(figs[lg][group][k]) for lg in ("en", "fr", "all"))
                + " |"
            )
    if everyday:
        lines += ["", "Everyday chat, test split, same assessor:", "",
                  "| lang | n | flagged | any signal | ideation+ | imminent |",
                  "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for lg, e in everyday.items():
            lines.append(
                f"| {lg} | {e['n']} | {100 * e['flagged']:.2f}% | {100 * e['any_signal']:.2f}% | "
                f"{100 * e['ideation_or_above']:.2f}% | {100 * e['imminent']:.2f}% |"
            )
    return "\n".join(lines) + "\n"


def build(assessor_name: str) -> tuple[Any, Any]:
    """The stack and the gateway's assessor over its micro-batcher."""
    from classifiers.batcher import MicroBatcher
    from classifiers.stack import ClassifierStack
    from guardrail.risk import ClassifierAssessor, LexiconAssessor

    stack = ClassifierStack.load()
    if assessor_name == "lexicon":
        return stack, LexiconAssessor()
    batcher = MicroBatcher(stack)
    return stack, ClassifierAssessor(lambda: batcher)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--assessor", choices=("classifier", "lexicon"), default="classifier")
    p.add_argument("--everyday-cap", type=int, default=1500)
    p.add_argument("--no-everyday", action="store_true")
    p.add_argument("--label", default="this branch")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--set", type=Path, default=HELDOUT, help="a YAML of the held-out schema")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    items = load_items(args.set)
    name = "acute_heldout" if args.set.resolve() == HELDOUT else args.set.stem
    stack, assessor = build(args.assessor)

    async def run() -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        outcomes = await run_events(items, assessor)
        everyday = None
        if not args.no_everyday:
            everyday = await everyday_rates(args.data, assessor, stack, args.everyday_cap)
        return outcomes, everyday

    outcomes, everyday = asyncio.run(run())
    figs = figures(items, outcomes, stack_flags(stack, items))
    label = f"{args.label}, assessor {args.assessor}"
    report = markdown(figs, everyday, label if name == "acute_heldout" else f"{name}: {label}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text(report, encoding="utf-8")
    (args.out / f"{name}.json").write_text(
        json.dumps({"label": args.label, "heldout": figs, "everyday": everyday}, indent=1),
        encoding="utf-8",
    )
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
