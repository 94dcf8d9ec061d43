"""Opt-out detection quality on the labelled (synthetic) corpus, per language.

    python benchmarks/optout_quality.py [--data tests/data/optout_corpus.yaml]
        [--policies policies/ --channel sms --tenant T --bot B]

Figures: missed opt-outs (an ``out``/``all`` message not detected), false opt-outs (any
other message detected as an opt-out, hard negatives counted separately), wrong scope
(an ``all`` message taken for one bot), opt-in misses and false opt-ins. The corpus is
written by hand: these figures say the rules do what they claim, not how they fare on
real traffic.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from guardrail.consent import ConsentDetector, ConsentWords
from guardrail.models import Channel
from guardrail.policy.policyset import load_policy_set

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "optout_corpus.yaml"
LABELS = ("out", "all", "in", "neg", "chat")


@dataclass
class Figures:
    """Counts for one language, and the messages behind every error."""

    count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    missed: list[str] = field(default_factory=list)
    false_out: list[str] = field(default_factory=list)
    false_out_hard: list[str] = field(default_factory=list)
    wrong_scope: list[str] = field(default_factory=list)
    missed_in: list[str] = field(default_factory=list)
    false_in: list[str] = field(default_factory=list)

    @property
    def opt_outs(self) -> int:
        return self.count["out"] + self.count["all"]

    @property
    def others(self) -> int:
        return self.count["in"] + self.count["neg"] + self.count["chat"]

    def missed_rate(self) -> float:
        return len(self.missed) / max(self.opt_outs, 1)

    def false_rate(self) -> float:
        return len(self.false_out) / max(self.others, 1)

    def false_hard_rate(self) -> float:
        return len(self.false_out_hard) / max(self.count["neg"], 1)


def load(path: Path = DEFAULT_DATA) -> list[tuple[str, str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data.get("synthetic") is not True:
        raise ValueError(f"{path}: not marked synthetic")
    rows = [(str(lang), str(label), str(text)) for lang, label, text in data["messages"]]
    bad = [r for r in rows if r[1] not in LABELS]
    if bad:
        raise ValueError(f"{path}: unknown labels {bad[:3]}")
    return rows


def measure(detector: ConsentDetector, rows: list[tuple[str, str, str]]) -> dict[str, Figures]:
    by_lang: dict[str, Figures] = {}
    for lang, label, text in rows:
        fig = by_lang.setdefault(lang, Figures())
        fig.count[label] += 1
        subscribed = detector.detect(text, currently_opted_out=False)
        is_out = subscribed is not None and subscribed.action == "opt_out"
        if label in ("out", "all"):
            if not is_out:
                fig.missed.append(text)
            elif label == "all" and subscribed is not None and subscribed.scope != "all":
                fig.wrong_scope.append(text)
            continue
        if is_out:
            fig.false_out.append(text)
            if label == "neg":
                fig.false_out_hard.append(text)
        if subscribed is not None and subscribed.action == "opt_in":
            fig.false_in.append(text)  # no opt-in without an opt-out to undo
        if label == "in":
            back = detector.detect(text, currently_opted_out=True)
            if back is None or back.action != "opt_in":
                fig.missed_in.append(text)
    return by_lang


def report(by_lang: dict[str, Figures]) -> str:
    lines = [
        f"{'lang':4} {'opt-outs':>8} {'missed':>12} {'others':>6} {'false out':>12} "
        f"{'hard neg':>8} {'false hard':>12} {'scope err':>9} {'opt-in miss':>11}"
    ]
    for lang, f in sorted(by_lang.items()):
        lines.append(
            f"{lang:4} {f.opt_outs:8d} {len(f.missed):4d} ({f.missed_rate():5.1%}) {f.others:6d} "
            f"{len(f.false_out):4d} ({f.false_rate():5.1%}) {f.count['neg']:8d} "
            f"{len(f.false_out_hard):4d} ({f.false_hard_rate():5.1%}) {len(f.wrong_scope):9d} "
            f"{len(f.missed_in):5d}/{f.count['in']:<5d}"
        )
    for lang, f in sorted(by_lang.items()):
        for name in ("missed", "false_out", "wrong_scope", "missed_in", "false_in"):
            for text in getattr(f, name):
                lines.append(f"  {lang} {name}: {text!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--policies", type=Path, help="a policy file or folder: its words for the event below"
    )
    parser.add_argument("--channel", type=Channel, default=None)
    parser.add_argument("--tenant", default="default")
    parser.add_argument("--bot", default="bot")
    args = parser.parse_args(argv)
    if args.policies is None:
        detector = ConsentDetector(ConsentWords())
    else:
        detector = load_policy_set(args.policies).detector_for(args.tenant, args.bot, args.channel)
    print(report(measure(detector, load(args.data))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
