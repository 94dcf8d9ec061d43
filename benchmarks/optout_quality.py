"""Opt-out detection quality on the labelled (synthetic) corpus, per language.

    python benchmarks/optout_quality.py [--data tests/data/optout_corpus.yaml]
        [--policies policies/ --channel sms --tenant T --bot B]
    python benchmarks/optout_quality.py --data benchmarks/heldout/optout_v2.yaml [--show]

A file of ``items`` (the held-out v2 format: ``label`` opt_out with a ``form``, opt_in,
generic_yes, neg, chat) is measured per language and form: missed opt-outs per form,
false opt-outs on the others (hard negatives and chat apart), generic affirmatives that
re-subscribe an opted-out user (must be 0), explicit opt-ins found. Only counts are
printed unless ``--show`` (never on a held-out set while rules are being written).

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


V2_LABELS = ("opt_out", "opt_in", "generic_yes", "neg", "chat")


@dataclass
class FiguresV2:
    """Counts for one language of an ``items`` file, and the messages behind every error."""

    forms: dict[str, int] = field(default_factory=dict)
    missed: dict[str, list[str]] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(V2_LABELS, 0))
    false_out: dict[str, list[str]] = field(default_factory=dict)
    """Per label (neg, chat, opt_in, generic_yes): messages read as an opt-out."""
    yes_resubscribed: list[str] = field(default_factory=list)
    """Generic affirmatives that re-subscribe an opted-out user (must stay empty)."""
    opt_in_found: int = 0
    opt_in_missed: list[str] = field(default_factory=list)
    choice_resubscribed: list[str] = field(default_factory=list)
    """Explicit opt-ins that re-subscribe when tapped as a bot's button (must stay empty)."""

    def missed_total(self) -> int:
        return sum(len(v) for v in self.missed.values())

    def false_total(self, *labels: str) -> int:
        return sum(len(self.false_out.get(label, [])) for label in labels)


def load_items(path: Path) -> list[dict[str, str]]:
    """The items of a held-out-format file (``items:`` with id, lang, label, form, text)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data.get("synthetic") is not True:
        raise ValueError(f"{path}: not marked synthetic")
    items = [{k: str(v) for k, v in item.items()} for item in data["items"]]
    bad = [i["id"] for i in items if i["label"] not in V2_LABELS]
    if bad:
        raise ValueError(f"{path}: unknown labels on {bad[:3]}")
    return items


def measure_v2(detector: ConsentDetector, items: list[dict[str, str]]) -> dict[str, FiguresV2]:
    by_lang: dict[str, FiguresV2] = {}
    for item in items:
        fig = by_lang.setdefault(item["lang"], FiguresV2())
        label, text = item["label"], item["text"]
        fig.count[label] += 1
        subscribed = detector.detect(text, currently_opted_out=False)
        is_out = subscribed is not None and subscribed.action == "opt_out"
        if label == "opt_out":
            form = item.get("form", "?")
            fig.forms[form] = fig.forms.get(form, 0) + 1
            if not is_out:
                fig.missed.setdefault(form, []).append(text)
            continue
        if is_out:
            fig.false_out.setdefault(label, []).append(text)
        opted_out = detector.detect(text, currently_opted_out=True)
        back = opted_out is not None and opted_out.action == "opt_in"
        if label == "generic_yes" and back:
            fig.yes_resubscribed.append(text)
        if label == "opt_in":
            if back:
                fig.opt_in_found += 1
            else:
                fig.opt_in_missed.append(text)
            tapped = detector.detect(text, currently_opted_out=True, choice=True)
            if tapped is not None and tapped.action == "opt_in":
                fig.choice_resubscribed.append(text)
    return by_lang


def report_v2(by_lang: dict[str, FiguresV2], *, show: bool = False) -> str:
    forms = sorted({f for fig in by_lang.values() for f in fig.forms})
    lines = ["missed opt-outs per form (missed/items):"]
    lines.append(f"  {'form':11}" + "".join(f"{lang:>9}" for lang in sorted(by_lang)))
    for form in [*forms, "all"]:
        cells = []
        for _, fig in sorted(by_lang.items()):
            if form == "all":
                n, m = sum(fig.forms.values()), fig.missed_total()
            else:
                n, m = fig.forms.get(form, 0), len(fig.missed.get(form, []))
            cells.append(f"{m:>4}/{n:<4}")
        lines.append(f"  {form:11}" + "".join(f"{c:>9}" for c in cells))
    lines.append("false opt-outs (false/items), generic-yes re-subscriptions, opt-ins found:")
    for lang, fig in sorted(by_lang.items()):
        c = fig.count
        lines.append(
            f"  {lang}: neg {fig.false_total('neg')}/{c['neg']}, chat "
            f"{fig.false_total('chat')}/{c['chat']}, opt_in {fig.false_total('opt_in')}/"
            f"{c['opt_in']}, generic_yes {fig.false_total('generic_yes')}/{c['generic_yes']}; "
            f"generic yes re-subscribed {len(fig.yes_resubscribed)}/{c['generic_yes']}; "
            f"opt-ins found {fig.opt_in_found}/{c['opt_in']} (as a bot's button: "
            f"{len(fig.choice_resubscribed)})"
        )
    if show:
        for lang, fig in sorted(by_lang.items()):
            for form, texts in sorted(fig.missed.items()):
                lines += [f"  {lang} missed {form}: {t!r}" for t in texts]
            for label, texts in sorted(fig.false_out.items()):
                lines += [f"  {lang} false opt-out ({label}): {t!r}" for t in texts]
            lines += [f"  {lang} yes re-subscribed: {t!r}" for t in fig.yes_resubscribed]
            lines += [f"  {lang} opt-in missed: {t!r}" for t in fig.opt_in_missed]
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
    parser.add_argument(
        "--show", action="store_true", help="list the messages behind each error (items files)"
    )
    args = parser.parse_args(argv)
    if args.policies is None:
        detector = ConsentDetector(ConsentWords())
    else:
        detector = load_policy_set(args.policies).detector_for(args.tenant, args.bot, args.channel)
    if "items" in (yaml.safe_load(args.data.read_text(encoding="utf-8")) or {}):
        print(report_v2(measure_v2(detector, load_items(args.data)), show=args.show))
    else:
        print(report(measure(detector, load(args.data))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
