"""Train the dependency head; write ``classifiers/weights/dependency.safetensors`` + its card.

    python -m classifiers.training.train_dependency --data ../shared/data

Data (``ship: yes`` only; the script refuses otherwise):
- synthetic user messages and sentences, ``classifiers/training/synthetic/dependency.jsonl``
  (per-signal labels; EN and FR; hard negatives);
- DarkBench (MIT), train half: ``User retention`` and ``Anthropomorphization`` prompts as
  dependency-leaning positives for ``any`` only; the other categories as negatives;
- DiaSafety (Apache-2.0), train split: unique user messages as everyday negatives;
- everyday chat, train split (``classifiers.training.corpora.everyday``: GoEmotions,
  Topical-Chat, XED neutral; XPersona French, XED French), capped per source: negatives.
The ``any`` threshold is raised so that at most 1% of the everyday chat's validation split
passes, English and French apart. IRF ``belong`` (no licence: measure only) is scored, never
trained on. The DarkBench held-out half and DiaSafety validation split are the real held-out
data of the card (``classifiers.training.quality_wellbeing``). ``--split-scheme``: see
``classifiers.training.common`` (``real_rows`` here is what ``classifiers.training.heldout``
rebuilds to know this head's rows). Seeds fixed; progress bars unless ``--quiet``.
Nothing here prints a text from the data.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from classifiers.data import dataset_info
from classifiers.dependency import DEPENDENCY_WEIGHTS, DependencyClassifier
from classifiers.results import DEPENDENCY_SIGNALS
from classifiers.training.common import (
    DARKBENCH_SPLIT_SEED,
    REAL_FPR,
    SYNTHETIC_DIR,
    Trained,
    build_training_data,
    embedding_cache,
    encoder_metadata,
    fmt,
    load_synthetic,
    parse_args,
    set_seeds,
    train_head,
    with_real_metrics,
)
from classifiers.training.quality_wellbeing import dependency_report
from classifiers.training.wellbeing_rows import dependency_rows as real_rows

SYNTHETIC = SYNTHETIC_DIR / "dependency.jsonl"


def irf_line(meta: dict[str, Any]) -> str:
    r = meta.get("metrics", {}).get("real_heldout", {}).get("irf_belong")
    if not r:
        return "not measured."
    return (
        f"n={r['n']} ({r['positives']} lonely), AUPRC {fmt(r['auprc'])}, AUROC "
        f"{fmt(r['auroc'])}; flagged: recall {fmt(r['flagged_recall'])}, "
        f"false-positive rate {fmt(r['flagged_fpr'])}; isolation signal recall "
        f"{fmt(r['isolation_signal_recall'])}. The bot-attachment signals (only-you, "
        "absence distress, compulsive use) are a different thing from loneliness, which "
        "this head sees only through `isolation`."
    )


def irf_report(clf: DependencyClassifier, data_dir: Any, cache: Any) -> dict[str, Any]:
    """Dependency score and flags against IRF ``belong`` (loneliness): measure only."""
    import numpy as np

    from classifiers.training.corpora import irf_belong
    from classifiers.training.metrics import binary_report

    rows = irf_belong(data_dir)
    texts = [r.text for r in rows]
    res = clf.score(cache.encode_documents(texts), texts)
    y = np.asarray([r.label == 1 for r in rows])
    score = np.asarray([r.score for r in res])
    flagged = np.asarray([r.flagged for r in res])
    rep = binary_report(y, score, 0.5)
    lonely = np.asarray([bool({"isolation", "only_you"} & set(r.signals)) for r in res])
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "auprc": rep.auprc,
        "auroc": rep.auroc,
        "flagged_recall": float(flagged[y].mean()),
        "flagged_fpr": float(flagged[~y].mean()),
        "isolation_signal_recall": float(lonely[y].mean()),
    }


def model_card(t: Trained, meta: dict[str, Any]) -> str:
    real = meta["metrics"]["real_heldout"]
    cv = t.cv
    syn = cv["synthetic_any"]
    thr = t.thresholds
    d = meta["data"]
    lines = [
        "# Model card: dependency head",
        "",
        f"File: `dependency.safetensors` ({meta['n_parameters']} parameters, float32, linear). "
        f"Trained {meta['trained_at']} by `python -m classifiers.training.train_dependency` "
        f"(seed {meta['seed']}, DarkBench split seed {DARKBENCH_SPLIT_SEED}).",
        "",
        "## What it does",
        "Scores **user** messages for emotional dependency on the bot. Output: `score`, the "
        "probability that any signal is present (the head's `any` sigmoid), and `signals` "
        "among `only_you`, `isolation`, `absence_distress`, `compulsive_use` (one sigmoid "
        f"each, own thresholds). Input: the shared embedding ({meta['encoder']}, "
        f"{meta['dim']}-d). English and French "
        "regex cues (`classifiers/lexicons/dependency_{en,fr}.yaml`) are fused by OR: a cue "
        f"sets its signal and lifts the score to at least {meta['cue_score']}. Cost: one "
        f"{meta['dim']}x5 matrix product per message, far below 1% of the encoder. Thresholds "
        f"raised so that at most 1% of held-out everyday chat is flagged, EN and FR apart "
        f"(validation rates: {meta.get('calibration', {}).get('everyday_val_flag_rate')}).",
        "",
        "## IRF thwarted belongingness (loneliness), measure only",
        f"IRF has no licence: never trained on. Dependency score against IRF `belong` (both "
        f"files): {irf_line(meta)}",
        "",
        "## Data and licences",
        f"- Synthetic (written for the project, `classifiers/training/synthetic/`, marked "
        f'`"synthetic": true`): {d["synthetic"]["n"]} rows ({d["synthetic"]["positives"]} '
        "with a signal), sentences and composed messages, EN and FR, with hard negatives "
        "(hobbies, people, loneliness reaching out to people). Trains all outputs.",
        f"- DarkBench (Kran et al. 2025), {d['darkbench']['licence']}, ship: "
        f"{'yes' if d['darkbench']['ship'] else 'no'}: train half (fixed seed) of "
        f"*User retention* and *Anthropomorphization* ({d['darkbench']['n_positive']} real "
        "prompts) trains `any` only (no per-signal labels); the other four categories' train "
        f"half ({d['darkbench']['n_negative']}) are negatives.",
        f"- DiaSafety (Sun et al. 2022), {d['diasafety']['licence']}, ship: "
        f"{'yes' if d['diasafety']['ship'] else 'no'}: {d['diasafety']['n']} unique user "
        "messages of its train split as everyday negatives.",
        "",
        "## Metrics on REAL held-out data (a proxy)",
        "No public data has user statements labelled for dependency. Proxy: the held-out half "
        "of DarkBench *User retention* + *Anthropomorphization* prompts (lonely users asking "
        "the bot to be their friend, questions about the bot's feelings) against DiaSafety "
        "validation user messages (everyday chat, none seen in training). Decisions are the "
        "runtime's (`flagged`, head + cues).",
        "",
        "| positives | negatives | AUPRC | AUROC | precision | recall | F1 | everyday FPR |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {real['n_positive']} | {real['n_negative']} | {fmt(real['auprc'])} | "
        f"{fmt(real['auroc'])} | {fmt(real['precision'])} | {fmt(real['recall'])} | "
        f"{fmt(real['f1'])} | {100 * real['everyday_fpr']:.1f}% |",
        "",
        f"Prevalence {real['prevalence']:.3f} (the AUPRC of a random score). Recall by "
        "category: "
        + ", ".join(
            f"{k} {fmt(v['recall'])} (n={v['n']})" for k, v in real["recall_by_category"].items()
        )
        + f". Other held-out DarkBench prompts (n={real['other_darkbench_n']}) flagged: "
        f"{100 * real['other_darkbench_flagged']:.1f}%. Signals named on the flagged "
        f"positives: {real['signals_on_positives']}. Per-signal quality cannot be measured "
        "on real data.",
        "",
        "## Synthetic cross-validation (NOT a quality figure)",
        f"5-fold, grouped by hand-written sentence, out of fold: `any` AUPRC {fmt(syn['auprc'])}, "
        f"precision {fmt(syn['precision'])}, recall {fmt(syn['recall'])} (n={syn['n']}); "
        f"EN recall {fmt(cv.get('synthetic_any_en', {}).get('recall', float('nan')))}, FR "
        f"recall {fmt(cv.get('synthetic_any_fr', {}).get('recall', float('nan')))}. "
        "Per-signal AUPRC / F1: "
        + ", ".join(
            f"{k} {fmt(v['auprc'])} / {fmt(v['f1'])}" for k, v in cv["synthetic_per_label"].items()
        )
        + ". Written by the same hand as the training rows: optimistic.",
        f"Real rows, out of fold: DiaSafety train negatives flagged "
        f"{100 * cv.get('real_negative_train_oof_fpr', 0.0):.1f}%, DarkBench train positives "
        f"flagged {100 * cv.get('real_positive_train_oof_recall', 0.0):.1f}%. Model only, "
        "before cues.",
        "",
        "## Thresholds (chosen out of fold on training data only)",
        f"- `any` = {thr['any']:.4f}: best F1 out of fold, raised so that at most "
        f"{100 * REAL_FPR:.0f}% of real everyday training messages pass.",
        "- per signal (best F1 out of fold on the synthetic rows): "
        + ", ".join(f"`{k}` = {thr[k]:.4f}" for k in DEPENDENCY_SIGNALS)
        + ". A signal is named only when `any` passes (or its cue matches); when none passes "
        "its own threshold, the most probable one is named.",
        f"- L2 strength C = {t.c} from {meta['c_grid']} (mean out-of-fold AUPRC over outputs, "
        "plus twice the `any` AUPRC of the real DarkBench train positives).",
        "",
        "## Limits",
        "- The per-signal labels come only from synthetic examples; the real proxy positives "
        "are requests for friendship and questions about the bot's feelings, not statements of "
        "dependency, so the real figures measure a neighbouring task.",
        "- French: the multilingual encoder transfers from English; French rows are few "
        "(synthetic) besides the everyday negatives, and the cues.",
        "- A signal for care (gentler outreach, resources), not a diagnosis.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__ or "", DEPENDENCY_WEIGHTS, argv)
    set_seeds(args.seed)
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    progress = not args.quiet
    dark_info = dataset_info(args.data, "darkbench")
    dia_info = dataset_info(args.data, "diasafety")
    if not (dark_info.ship and dia_info.ship):
        print(
            "refusing: the data README does not mark darkbench/diasafety ship: yes", file=sys.stderr
        )
        return 2
    synthetic = load_synthetic(SYNTHETIC, DEPENDENCY_SIGNALS)
    rr = real_rows(args.data, args.everyday_cap, args.split_scheme)
    positives = [r.text for r in rr.positives]
    negatives = [r.text for r in rr.negatives]
    langs: list[str] = [r.lang for r in rr.negatives]
    val_texts = [r.text for r in rr.calibration]
    val_langs: list[str] = [r.lang for r in rr.calibration]
    n_dark_neg = sum(r.source == "darkbench" for r in rr.negatives)
    n_dia = sum(r.source == "diasafety" for r in rr.negatives)
    n_day = len(negatives) - n_dark_neg - n_dia
    cache = embedding_cache(args.cache, args.precision, args.device, args.encoder, args.threads)

    def embed(texts: Sequence[str]) -> Any:
        return cache.encode_documents(texts, progress=progress)

    data = build_training_data(
        DEPENDENCY_SIGNALS, synthetic, positives, negatives, embed, negative_langs=langs
    )
    x_val = embed(val_texts)
    calibration = {
        lg: x_val[[i for i, v in enumerate(val_langs) if v == lg]] for lg in sorted(set(val_langs))
    }
    meta: dict[str, Any] = {
        "head": "dependency",
        "trained_at": datetime.now(UTC).date().isoformat(),
        "cue_score": 0.9,
        **encoder_metadata(cache),
        "precision": args.precision,
        "split": {"scheme": args.split_scheme, "everyday_cap": args.everyday_cap},
        "data": {
            "synthetic": {
                "n": len(synthetic),
                "positives": sum(1 for r in synthetic if r.labels),
                "file": "classifiers/training/synthetic/dependency.jsonl",
            },
            "darkbench": {
                "licence": dark_info.licence,
                "ship": dark_info.ship,
                "n_positive": len(positives),
                "n_negative": n_dark_neg,
                "split_seed": DARKBENCH_SPLIT_SEED,
            },
            "diasafety": {"licence": dia_info.licence, "ship": dia_info.ship, "n": n_dia},
            "everyday": {
                "n": n_day,
                "sources": "GoEmotions, Topical-Chat, XED neutral (en); XPersona, XED (fr)",
                "cap_per_source": args.everyday_cap,
            },
        },
    }
    trained = train_head(DEPENDENCY_SIGNALS, data, args.seed, progress, meta, calibration)
    trained.head.save(args.out)
    clf = DependencyClassifier.load(args.out)
    from classifiers.training.heldout import SeenSets

    sets = SeenSets(args.data, {"dependency": trained.head.metadata})
    real = dependency_report(clf, args.data, cache, sets)
    real["irf_belong"] = irf_report(clf, args.data, cache)
    head = with_real_metrics(trained.head, real)
    head.save(args.out)
    meta = head.metadata
    args.out.with_suffix(".md").write_text(model_card(trained, meta), encoding="utf-8")
    print(
        f"wrote {args.out}: real held-out AUPRC {fmt(real['auprc'])}, recall "
        f"{fmt(real['recall'])}, everyday FPR {100 * real['everyday_fpr']:.1f}%"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
