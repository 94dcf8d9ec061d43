"""Train the ``minor`` head; write ``classifiers/weights/minor.safetensors`` + card.

    python -m classifiers.training.train_minor --data ../shared/data --threads 1

Data (``ship: yes`` only; the script refuses otherwise):
- synthetic user messages, ``classifiers/training/synthetic/minor.jsonl`` (written for the
  project: minors by cue, adults by cue with parents, teachers and adults recalling their
  youth as hard negatives; EN and FR): the only positives, since no public data set here
  holds minors' messages labelled as such;
- everyday chat (``classifiers.training.corpora.everyday``: GoEmotions, Topical-Chat, XED,
  XPersona French), capped per source: adults' (mostly) chat, negatives.

Splits: ``classifiers.training.splits.assign_splits`` over both together (a synthetic
sentence and its composed messages are one unit; the everyday rows keep the splits every
other head reads, pinned), train / validation / test. The head (a class-balanced logistic
regression on the shared embedding) fits on train; C and the flag threshold are chosen on
validation only: the threshold is the one with the best F1 of the fused decision (grammar
OR head, see ``classifiers.minor``) on the synthetic validation rows among those flagging
at most 1% of each language's everyday validation chat. The test split is reported apart,
synthetic and real never pooled; the frozen held-out set is read by
``benchmarks/minor_quality.py``, never here. Seeds fixed; progress bars unless ``--quiet``.
Nothing here prints a text from the data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from classifiers.data import dataset_info
from classifiers.heads import FloatArray, MLPHead
from classifiers.minor import CUE_SCORE, HEAD_MIN_WORDS, LABEL, MINOR_WEIGHTS
from classifiers.minor_cues import CueFinding, scan
from classifiers.training.common import (
    SYNTHETIC_DIR,
    embedding_cache,
    encoder_metadata,
    fit_scaler,
    fmt,
    parse_args,
    set_seeds,
)
from classifiers.training.splits import Split, assign_splits

SYNTHETIC: Final = SYNTHETIC_DIR / "minor.jsonl"
SPLIT_SEED: Final = 20261206
C_GRID: Final[tuple[float, ...]] = (0.01, 0.03, 0.1, 0.3, 1.0)
FLAG_RATE: Final = 0.01
"""Share of each language's everyday validation chat the fused decision may flag."""
REFERENCE_YEAR: Final = 2026
"""The year stated birth years are read against in training and reports (reproducible)."""
HARD_NEGATIVES: Final = frozenset({"parent", "teacher", "past_self"})
EVERYDAY_SOURCES: Final = ("goemotions", "topical_chat", "xed_neutral", "xpersona_fr", "xed_fr")


@dataclass(frozen=True)
class MRow:
    """One row of the minor head's universe."""

    text: str
    label: int
    lang: str
    split: Split
    source: str
    """``synthetic`` or the everyday corpus."""
    cue: str
    """Synthetic: the list the carrying sentence came from; everyday: ``everyday_real``."""
    groups: tuple[str, ...] = ()
    level: str = "message"


def synthetic_rows(path: Path = SYNTHETIC) -> list[MRow]:
    """The synthetic rows, unsplit; refuses rows not marked synthetic."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("synthetic") is not True:
            raise ValueError(f"{path.name}:{n}: not marked synthetic")
        minors = [c for c in r["cues"] if c != "everyday"]
        out.append(
            MRow(
                r["text"],
                int(r["labels"] == [LABEL]),
                r["lang"],
                "train",
                "synthetic",
                minors[0] if minors else "everyday",
                (f"synthetic_minor:{r['group']}",),
                r["level"],
            )
        )
    return out


def universe(data: Path, cap: int, seed: int = SPLIT_SEED, scheme: str | None = None) -> list[MRow]:
    """Synthetic and everyday rows split together (``splits.assign_splits``; everyday rows
    keep their own split); rows whose text is held out further elsewhere are left out."""
    from classifiers.training.common import everyday_rows
    from classifiers.training.splits import SCHEME

    day = [
        MRow(r.text, 0, r.lang, r.split, r.source, "everyday_real", r.groups)
        for split in ("train", "val", "test")
        for r in everyday_rows(data, split, cap, scheme or SCHEME)
    ]
    syn = synthetic_rows()
    items = [(r.text, r.groups, None) for r in syn] + [(r.text, r.groups, r.split) for r in day]
    splits = assign_splits(items, seed, namespace="minor")
    rows = [*syn, *day]
    return [replace(r, split=s) for r, s in zip(rows, splits, strict=True) if s is not None]


def fit(
    x: FloatArray, y: npt.NDArray[np.int64], weight: npt.NDArray[np.float64], c: float, seed: int
) -> tuple[FloatArray, FloatArray]:
    """A class-balanced logistic regression, standardisation folded in: (weight, bias)."""
    from sklearn.linear_model import LogisticRegression

    from classifiers.heads import fold_standardisation

    scaler = fit_scaler(x, weight)
    pos, neg = weight[y == 1].sum(), weight[y == 0].sum()
    w = np.where(y == 1, weight * (pos + neg) / (2 * pos), weight * (pos + neg) / (2 * neg))
    clf = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    clf.fit(scaler.transform(x), y, sample_weight=w)
    coef = clf.coef_.T.astype(np.float32)
    bias = clf.intercept_.astype(np.float32)
    return fold_standardisation(
        coef, bias, scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32)
    )


def weights(rows: Sequence[MRow]) -> npt.NDArray[np.float64]:
    """Everyday rows 1 each; the synthetic rows together weigh half the everyday rows, so
    the hard negatives are not drowned by the many everyday texts."""
    syn = np.asarray([r.source == "synthetic" for r in rows])
    n_day = max(1, int((~syn).sum()))
    out = np.ones(len(rows), dtype=np.float64)
    if syn.any():
        out[syn] = max(1.0, 0.5 * n_day / int(syn.sum()))
    return out


def decisions(
    probs: FloatArray, rows: Sequence[MRow], cues: Sequence[CueFinding], threshold: float
) -> npt.NDArray[np.bool_]:
    """The fused decision of ``classifiers.minor.fuse`` for every row at ``threshold``."""
    cued, judged = _parts(rows, cues)
    return cued | (judged & (probs >= threshold))


def _parts(
    rows: Sequence[MRow], cues: Sequence[CueFinding]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Rows a cue flags, and rows the head may flag alone (as ``fuse`` decides)."""
    cued = np.asarray([bool(c.minor) for c in cues])
    judged = np.asarray(
        [
            not c.minor and not c.adult and len(r.text.split()) >= HEAD_MIN_WORDS
            for r, c in zip(rows, cues, strict=True)
        ]
    )
    return cued, judged


def choose_threshold(
    probs: FloatArray, rows: Sequence[MRow], cues: Sequence[CueFinding]
) -> tuple[float, dict[str, Any]]:
    """Best F1 of the fused decision on the synthetic validation rows, among thresholds that
    flag at most ``FLAG_RATE`` of each language's everyday validation chat."""
    y = np.asarray([r.label == 1 for r in rows])
    syn = np.asarray([r.source == "synthetic" for r in rows])
    langs = np.asarray([r.lang for r in rows])
    grid = sorted({*np.quantile(probs, np.linspace(0, 1, 401)).tolist(), 1.0 + 1e-6})
    best: tuple[float, float] = (-1.0, grid[-1])
    floor = grid[-1]
    for t in grid:
        flagged = decisions(probs, rows, cues, t)
        rates = [
            flagged[~syn & (langs == lg)].mean()
            for lg in ("en", "fr")
            if (~syn & (langs == lg)).any()
        ]
        if any(rate > FLAG_RATE for rate in rates):
            continue
        floor = min(floor, t)
        tp = float((flagged & y & syn).sum())
        fp = float((flagged & ~y & syn).sum())
        fn = float((~flagged & y & syn).sum())
        f1 = 2 * tp / max(1.0, 2 * tp + fp + fn)
        if f1 > best[0]:
            best = (f1, float(t))
    return best[1], {"everyday_floor": floor, "synthetic_val_f1": best[0]}


def report(
    rows: Sequence[MRow], flagged: npt.NDArray[np.bool_], probs: FloatArray
) -> dict[str, Any]:
    """Figures of one split, synthetic and everyday apart, by language and cue."""
    from classifiers.training.metrics import binary_report

    out: dict[str, Any] = {"synthetic": {}, "everyday": {}}
    for lang in ("en", "fr"):
        for kind in ("synthetic", "everyday"):
            m = np.asarray(
                [
                    r.lang == lang and (r.source == "synthetic") == (kind == "synthetic")
                    for r in rows
                ]
            )
            if not m.any():
                continue
            y = np.asarray([r.label == 1 for r in rows])[m]
            f = flagged[m]
            entry: dict[str, Any] = {"n": int(m.sum()), "flagged": int(f.sum())}
            if kind == "synthetic":
                hard = np.asarray([r.cue in HARD_NEGATIVES for r in rows])[m]
                entry |= {
                    "minors": int(y.sum()),
                    "recall": float(f[y].mean()) if y.any() else float("nan"),
                    "adult_flag_rate": float(f[~y].mean()) if (~y).any() else float("nan"),
                    "hard_negative_n": int(hard.sum()),
                    "hard_negative_flag_rate": float(f[hard].mean()) if hard.any() else 0.0,
                    "by_cue": {
                        cue: {
                            "n": int(c.sum()),
                            "flag_rate": float(f[c].mean()),
                        }
                        for cue in sorted({r.cue for r in rows})
                        if (c := np.asarray([r.cue == cue for r in rows])[m]).any()
                    },
                }
                if y.any() and (~y).any():
                    entry["head_auprc"] = binary_report(y, probs[m], 0.5).auprc
            else:
                entry["flag_rate"] = float(f.mean())
            out[kind][lang] = entry
    return out


def model_card(meta: dict[str, Any]) -> str:
    m = meta["metrics"]
    val, test = m["val"], m["test"]
    d = meta["data"]

    def syn_line(split: dict[str, Any], lang: str) -> str:
        s = split["synthetic"].get(lang)
        if not s:
            return f"| {lang} | - | - | - |"
        return (
            f"| {lang} | {s['minors']} / {s['n'] - s['minors']} | {fmt(s['recall'])} | "
            f"{fmt(s['adult_flag_rate'])} | {fmt(s['hard_negative_flag_rate'])} "
            f"(n={s['hard_negative_n']}) |"
        )

    def day_line(split: dict[str, Any], lang: str) -> str:
        s = split["everyday"].get(lang)
        if not s:
            return f"| {lang} | - | - |"
        return f"| {lang} | {s['n']} | {100 * s['flag_rate']:.2f}% ({s['flagged']}) |"

    lines = [
        "# Model card: minor head",
        "",
        f"File: `minor.safetensors` ({meta['n_parameters']} parameters, float32, linear). "
        f"Trained {meta['trained_at']} by `python -m classifiers.training.train_minor` "
        f"(seed {meta['seed']}).",
        "",
        "## What it does",
        "Scores **user** messages: does the writer reveal they are under 18 (Oregon SB 1546's "
        '"reason to believe")? Output `minor: {score, flagged}`. The decision fuses a '
        "grammar (`classifiers/minor_cues.py`: first-person ages, school years, parents' "
        "rules, school life; English and French) with a one-output logistic head on the "
        f"shared embedding ({meta['encoder']}, {meta['dim']}-d): a cue always flags (score "
        f"at least {meta['cue_score']}); the head alone flags over its threshold "
        f"(`{meta['thresholds'][LABEL]:.4f}`), on messages of 4 words or more, never in a "
        "frame about a child, a pupil, the writer's past or an adult life. Cost: one "
        f"{meta['dim']}x1 product per message plus a few regular expressions "
        "(`benchmarks/classifier_speed.py` reports it beside the encoder).",
        "",
        "## Data and licences",
        f"- Synthetic (written for the project, `classifiers/training/synthetic/minor_*.py`, "
        f'marked `"synthetic": true`): {d["synthetic"]["n"]} rows ({d["synthetic"]["minors"]} '
        "minors), EN and FR, sentences and composed messages. Minors by cue; adults: parents "
        "and teachers talking about children, adults recalling their school years, adult "
        "life, university students, stated adult ages. Written without reading the held-out "
        "set.",
        f"- Everyday chat ({', '.join(d['everyday']['sources'])}; all ship: yes), "
        f"{d['everyday']['cap_per_source']} rows per source at most: negatives. Mostly adults; "
        "a few teenagers may be among them, so this is the price of a flag, not a clean "
        "false-positive rate.",
        f"- Split by `classifiers/training/splits.py` ({meta['split']['scheme']}, seed "
        f"{meta['split']['seed']}): train {d['n_train']}, validation {d['n_val']}, test "
        f"{d['n_test']} rows.",
        "",
        "## Threshold and L2 strength (validation rows only)",
        f"C = {meta['c']} from {list(C_GRID)} (validation AUPRC); threshold: best F1 of the "
        "fused decision on synthetic validation rows among thresholds flagging at most "
        f"{100 * FLAG_RATE:.0f}% of each language's everyday validation chat "
        f"(floor {meta['choice']['everyday_floor']:.4f}).",
        "",
        "## Test split, synthetic (NOT a quality figure: written by the same hand)",
        "| lang | minors / adults | recall on minors | adults flagged | hard negatives flagged |",
        "| --- | --- | --- | --- | --- |",
        syn_line(test, "en"),
        syn_line(test, "fr"),
        "",
        "## Test split, real everyday chat (flag rate)",
        "| lang | messages | flagged |",
        "| --- | --- | --- |",
        day_line(test, "en"),
        day_line(test, "fr"),
        "",
        "Validation split, for comparison: everyday flagged EN "
        f"{100 * val['everyday'].get('en', {}).get('flag_rate', float('nan')):.2f}%, FR "
        f"{100 * val['everyday'].get('fr', {}).get('flag_rate', float('nan')):.2f}%.",
        "",
        "## Held-out set (another author, frozen before this head)",
        "`benchmarks/minor_quality.py` scores `benchmarks/heldout/minor_signals.yaml`; its "
        "figures are in the README's policy section and in `benchmarks/results/` when run. "
        "Never used to train, tune or write a pattern.",
        "",
        "## Limits",
        "- No real minors' messages: recall on real users is unknown, and wording unlike "
        "the synthetic rows (slang, other dialects) will be missed more often.",
        "- A stated age can be role-play or a joke; the gateway treats it as a reason to "
        "believe (the stricter reading), which only the operator's age assurance clears.",
        "- University students of 17 and pupils of 18 are on the wrong side of any wording.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__ or "", MINOR_WEIGHTS, argv)
    set_seeds(args.seed)
    progress = not args.quiet
    for source in ("goemotions", "topical_chat", "xed", "xpersona_fr"):
        if not dataset_info(args.data, source).ship:
            print(f"refusing: the data README does not mark {source} ship: yes", file=sys.stderr)
            return 2
    rows = universe(args.data, args.everyday_cap, SPLIT_SEED, args.split_scheme)
    cache = embedding_cache(args.cache, args.precision, args.device, args.encoder, args.threads)
    x = cache.encode_documents([r.text for r in rows], progress=progress)
    y = np.asarray([r.label for r in rows], dtype=np.int64)
    split = np.asarray([r.split for r in rows])
    tr, va, te = (split == s for s in ("train", "val", "test"))
    cues = [scan(r.text, REFERENCE_YEAR) for r in rows]
    w = weights(rows)
    from sklearn.metrics import average_precision_score

    best: tuple[float, float, tuple[FloatArray, FloatArray]] | None = None
    for c in C_GRID:
        wt, b = fit(x[tr], y[tr], w[tr], c, args.seed)
        z = (x[va] @ wt + b)[:, 0]
        ap = float(average_precision_score(y[va], z))
        if progress:
            print(f"C={c}: validation AUPRC {ap:.4f}", file=sys.stderr)
        if best is None or ap > best[0]:
            best = (ap, c, (wt, b))
    assert best is not None
    _, c, (wt, b) = best
    head = MLPHead((wt,), (b,), (LABEL,), multilabel=True)
    probs = head.predict_proba(x)[:, 0]
    val_rows = [r for r, k in zip(rows, va, strict=True) if k]
    val_cues = [q for q, k in zip(cues, va, strict=True) if k]
    threshold, choice = choose_threshold(probs[va], val_rows, val_cues)
    flagged = decisions(probs, rows, cues, threshold)
    syn = np.asarray([r.source == "synthetic" for r in rows])
    meta: dict[str, Any] = {
        "head": "minor",
        "trained_at": datetime.now(UTC).date().isoformat(),
        **encoder_metadata(cache),
        "precision": args.precision,
        "seed": args.seed,
        "c": c,
        "cue_score": CUE_SCORE,
        "thresholds": {LABEL: threshold},
        "choice": choice,
        "reference_year": REFERENCE_YEAR,
        "split": {
            "scheme": args.split_scheme,
            "seed": SPLIT_SEED,
            "everyday_cap": args.everyday_cap,
        },
        "data": {
            "synthetic": {
                "n": int(syn.sum()),
                "minors": int(y[syn].sum()),
                "file": "classifiers/training/synthetic/minor.jsonl",
            },
            "everyday": {"sources": list(EVERYDAY_SOURCES), "cap_per_source": args.everyday_cap},
            "n_train": int(tr.sum()),
            "n_val": int(va.sum()),
            "n_test": int(te.sum()),
        },
        "metrics": {
            name: report([r for r, k in zip(rows, m, strict=True) if k], flagged[m], probs[m])
            for name, m in (("val", va), ("test", te))
        },
    }
    meta["n_parameters"] = head.n_parameters()
    shipped = MLPHead((wt,), (b,), (LABEL,), multilabel=True, metadata=meta)
    shipped.save(args.out)
    args.out.with_suffix(".md").write_text(model_card(meta), encoding="utf-8")
    test = meta["metrics"]["test"]
    print(
        f"wrote {args.out}: threshold {threshold:.4f}, C {c}; test everyday flagged "
        + ", ".join(f"{lg} {100 * v['flag_rate']:.2f}%" for lg, v in test["everyday"].items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
