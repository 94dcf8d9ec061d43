"""Train the sensitive head; write ``classifiers/weights/sensitive.safetensors`` and its card.

    python -m classifiers.training.train_sensitive --data ../shared/data [--threads 1]

A linear multi-label head on the shared sentence embedding: ``any`` (a special category is
named) and one sigmoid per category of ``SENSITIVE_CATEGORIES``, each a class-balanced L2
logistic regression on standardised inputs (folded into the weights), its C chosen per output
on the validation split (AUPRC). Rows and splits: ``classifiers.training.sensitive_data``
(``ship: yes`` data only, the script refuses otherwise; LabForSims2 measures, never trains).

Thresholds, on the validation split only:

- ``any``: the lowest score such that the runtime flag (head OR lexicon term) reaches at most
  ``FLAG_RATE`` of each calibration set: bot-like everyday chat (Topical-Chat English,
  XPersona French), all everyday chat per language, and the synthetic benign personal
  follow-ups per language; the highest of those thresholds.
- per category: the best F1 over the validation rows (a flagged text names the categories
  past their own thresholds, else the most probable one).

Test-split figures (real and synthetic apart, English and French apart) go into the metadata
and the card. The frozen held-out follow-ups are measured by ``benchmarks/classifier_quality.py``
after training, never here. Seeds fixed; progress bars unless ``--quiet``. No text printed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from classifiers.heads import MLPHead, fold_standardisation
from classifiers.results import SENSITIVE_CATEGORIES
from classifiers.sensitive import SENSITIVE_WEIGHTS, SensitiveClassifier
from classifiers.training import sensitive_data as D
from classifiers.training.common import (
    balanced_weights,
    embedding_cache,
    encoder_metadata,
    fit_scaler,
    fpr_threshold,
    parse_args,
    set_seeds,
)
from classifiers.training.quality_sensitive import BOT_LIKE, measure_only, split_report
from classifiers.wellbeing import ANY

OUTPUTS: Final = (ANY, *SENSITIVE_CATEGORIES)
C_GRID: Final = (0.01, 0.03, 0.1, 0.3)
FLAG_RATE: Final = 0.01
CUE_SCORE: Final = 0.9
Matrix = npt.NDArray[np.float32]


def targets(rows: Sequence[D.SRow]) -> npt.NDArray[np.int64]:
    y = np.zeros((len(rows), len(OUTPUTS)), dtype=np.int64)
    for i, r in enumerate(rows):
        y[i, 0] = int(bool(r.labels))
        for j, c in enumerate(SENSITIVE_CATEGORIES, start=1):
            y[i, j] = int(c in r.labels)
    return y


def fit_output(
    xs: Matrix, y: npt.NDArray[np.int64], w: npt.NDArray[np.float64], c: float, seed: int
) -> tuple[Matrix, float]:
    """One class-balanced logistic regression on standardised inputs."""
    from sklearn.linear_model import LogisticRegression

    wb = balanced_weights(y, w)
    clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    clf.fit(xs, y, sample_weight=wb)
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0])


def train(
    x: Matrix, y: npt.NDArray[np.int64], w: npt.NDArray[np.float64], split: npt.NDArray[Any],
    seed: int, progress: bool,
) -> tuple[MLPHead, dict[str, Any]]:  # fmt: skip
    """Per output, C on the validation AUPRC; returns the head (standardisation folded)."""
    from sklearn.metrics import average_precision_score
    from tqdm import tqdm

    tr, va = split == "train", split == "val"
    scaler = fit_scaler(x[tr], w[tr])
    xs_tr, xs_va = scaler.transform(x[tr]), scaler.transform(x[va])
    coef = np.zeros((x.shape[1], len(OUTPUTS)), dtype=np.float32)
    bias = np.zeros(len(OUTPUTS), dtype=np.float32)
    notes: dict[str, Any] = {}
    for j in tqdm(range(len(OUTPUTS)), desc="outputs", disable=not progress):
        best: tuple[float, float, Matrix, float] | None = None
        tried = []
        for c in C_GRID:
            wj, bj = fit_output(xs_tr, y[tr, j], w[tr], c, seed)
            ap = float(average_precision_score(y[va, j], xs_va @ wj + bj))
            tried.append({"c": c, "val_auprc": round(ap, 4)})
            if best is None or ap > best[0]:
                best = (ap, c, wj, bj)
        assert best is not None
        coef[:, j], bias[j] = best[2], best[3]
        notes[OUTPUTS[j]] = {"c": best[1], "tried": tried, "n_train_positive": int(y[tr, j].sum())}
    w0, b0 = fold_standardisation(
        coef, bias, scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32)
    )
    head = MLPHead((w0,), (b0,), OUTPUTS, multilabel=True, metadata={})
    return head, notes


def calibrate(
    head: MLPHead, rows: Sequence[D.SRow], x: Matrix, lexicon_hit: npt.NDArray[np.bool_]
) -> tuple[dict[str, float], dict[str, Any]]:
    """Thresholds on the validation rows (see the module docstring)."""
    from classifiers.training.metrics import best_f1_threshold

    va = np.asarray([r.split == "val" for r in rows])
    p = head.predict_proba(x[va])
    sub = [r for r in rows if r.split == "val"]
    lex = lexicon_hit[va]
    src = np.asarray([r.source for r in sub])
    lang = np.asarray([r.lang for r in sub])
    kind = np.asarray([r.kind for r in sub])
    sets = {
        **{f"bot_like_{c}": (kind == "everyday") & np.isin(src, BOT_LIKE) & (lang == c)
           for c in ("en", "fr")},
        **{f"everyday_{c}": (kind == "everyday") & (lang == c) for c in ("en", "fr")},
        **{f"benign_personal_{c}": (kind == "benign_personal") & (lang == c) for c in ("en", "fr")},
    }  # fmt: skip
    t_any, per_set = 0.0, {}
    for name, m in sets.items():
        budget = max(0.0, FLAG_RATE - float(lex[m].mean())) if m.any() else FLAG_RATE
        rest = p[m & ~lex, 0]
        t = fpr_threshold(rest, budget * m.sum() / max(1, len(rest))) if len(rest) else 0.5
        per_set[name] = {"n": int(m.sum()), "lexicon_rate": round(float(lex[m].mean()), 4),
                         "threshold": round(t, 4)}  # fmt: skip
        t_any = max(t_any, t)
    y = targets(sub)
    thresholds = {ANY: t_any}
    for j, c in enumerate(SENSITIVE_CATEGORIES, start=1):
        thresholds[c] = float(best_f1_threshold(y[:, j] == 1, p[:, j]))
    rates = {name: round(float(((p[m, 0] >= t_any) | lex[m]).mean()), 4)
             for name, m in sets.items() if m.any()}  # fmt: skip
    return thresholds, {"sets": per_set, "val_flag_rates": rates, "target": FLAG_RATE}


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def _f(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def category_table(block: dict[str, Any]) -> list[str]:
    lines = [
        "| category | lang | n | AUPRC | recall (named) | flagged |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for code in ("en", "fr"):
        b = block.get(code)
        if not b:
            continue
        lines.append(f"| **any** | {code} | {b['positives']} (+{b['negatives']} neg.) | "
                     f"{_f(b['any_auprc'])} | {_pct(b['any_recall'])} | |")  # fmt: skip
        for c, v in b["categories"].items():
            lines.append(f"| {c} | {code} | {v['n']} | {_f(v['auprc'])} | {_pct(v['recall'])} | "
                         f"{_pct(v['flagged'])} |")  # fmt: skip
    return lines


def model_card(meta: dict[str, Any]) -> str:
    test = meta["metrics"]["test"]
    rates = test["flag_rates"]
    thr = meta["thresholds"]
    d = meta["data"]
    cal = meta["calibration"]
    lines = [
        "# Model card: sensitive head",
        "",
        f"File: `sensitive.safetensors` ({meta['n_parameters']} parameters, float32, linear). "
        f"Trained {meta['trained_at']} by `python -m classifiers.training.train_sensitive` "
        f"(seed {meta['seed']}).",
        "",
        "## What it does",
        "Scores bot and user messages for a reference to a **special category**: health "
        "(physical and mental), self-harm, sexuality and sex life, sexual orientation and gender "
        "identity, pregnancy and fertility, substance use, religion, politics (trade unions "
        "included), finances and debt, criminal or legal matters, domestic violence, ethnic "
        "origin or immigration status. Output: `score` (P(any category named); lifted to "
        f"{meta['cue_score']} by a lexicon term), `categories`, `flagged`. Input: the shared "
        f"embedding ({meta['encoder']}, {meta['dim']}-d); the English and French lexicon "
        "(`classifiers/lexicons/sensitive_{en,fr}.yaml`) is fused by OR and gives the spans the "
        "gateway's preview check and audit redaction use. Cost: one "
        f"{meta['dim']}x{len(OUTPUTS)} matrix product per text plus the lexicon "
        "(`benchmarks/classifier_speed.py` measures both against the encoder).",
        "",
        "## What it is not",
        "- Not a judgement of whether a user minds: the gateway's `sensitive_reference` rule "
        "decides what to do (rewrite to a neutral opener, block, review) and what consent allows.",
        "- Not a PII detector (names, numbers: the PII stage), nor a detector of every personal "
        "detail: a concert, a job interview, a puppy are personal and must stay unflagged.",
        "- Not trained on real bot follow-ups: none exist in public data. Its in-domain rows are "
        "synthetic; real rows are statements, questions and stories about the categories.",
        "",
        "## Data and licences (ship: yes only)",
        f"- Synthetic follow-ups (`classifiers/training/synthetic/sensitive.jsonl`, "
        f'`"synthetic": true`, written for the project without reading the held-out set): '
        f"{d['synthetic']} rows, EN and FR, bot and user role, sensitive topics in preview and "
        "body positions, benign personal topics in the same frames, hard negatives, everyday "
        "outreach.",
        f"- `sensitive_topics/` (data README: ship yes): Anthropic persona statements (CC BY 4.0; "
        f"{d['persona']} rows), MedQuAD questions (CC BY 4.0; {d['medquad']}), CounselChat "
        f"questions by topic (MIT; {d['counselchat']}), ConfAIde stories by secret type (MIT; "
        f"{d['confaide']}), CLINC150 credit and bill intents and everyday intents (CC BY 3.0; "
        f"{d['clinc']}).",
        f"- Everyday chat (GoEmotions, Topical-Chat, XED, XPersona French; ship yes): "
        f"{d['everyday']} rows as negatives (training rows naming a lexicon term left out).",
        f"- LabForSims2 French patient lines (CC BY-SA 4.0, **ship: no**): measure only, "
        f"{d['labforsims2']} lines, never trained on.",
        "",
        "## Splits",
        "Every text is kept once after normalisation and folding (case, accents, punctuation), in "
        "the first source that has it; rows are split 60/20/20 by a seeded hash of (source, "
        "group): a synthetic topic with all its frames, a CounselChat question with its title, a "
        "MedQuAD condition, a persona statement, a CLINC intent's own split, the everyday splits "
        "every head shares. Thresholds are chosen on the validation split only; the figures "
        "below are the test split.",
        "",
        "## Thresholds (validation split)",
        f"- `any` = {thr['any']:.4f}: the lowest score at which head OR lexicon flags at most "
        f"{100 * FLAG_RATE:.0f}% of each of: {', '.join(cal['sets'])} (validation rates: "
        + ", ".join(f"{k} {_pct(v)}" for k, v in cal["val_flag_rates"].items())
        + ").",
        "- per category (best validation F1): "
        + ", ".join(f"`{c}` {thr[c]:.3f}" for c in SENSITIVE_CATEGORIES)
        + ".",
        "",
        "## Test split: REAL data (English; per category where real positives exist)",
        "Real positives are statements, questions and stories about a category, not follow-ups; "
        "negatives are the real texts that name no category and everyday chat.",
        "",
        *category_table(test["real"]),
        "",
        "## Test split: SYNTHETIC follow-ups (written by the same hand as the training rows: "
        "optimistic, a sanity check)",
        "Negatives: synthetic benign personal follow-ups.",
        "",
        *category_table(test["synthetic"]),
        "",
        "By position: "
        + ", ".join(
            f"{k} {_pct(v['rate'])} (n={v['n']})" for k, v in test["synthetic_position"].items()
        )
        + ".",
        "",
        "## Flag rates (test split)",
        "| set | n | flagged |",
        "| --- | --- | --- |",
        *[f"| {k} | {v['n']} | {_pct(v['rate'])} |" for k, v in rates.items() if v["n"]],
        "",
        'LabForSims2 French patient lines (measure only, many are not about health: "oui", '
        f"greetings): flagged {_pct(meta['metrics']['labforsims2'].get('flagged'))}, as health "
        f"{_pct(meta['metrics']['labforsims2'].get('health'))} (n="
        f"{meta['metrics']['labforsims2'].get('n')}).",
        "",
        "The frozen held-out set of bot follow-ups (`benchmarks/heldout/sensitive_followups.yaml`) "
        "is reported by `python benchmarks/classifier_quality.py` (see the README), apart from "
        "these figures.",
        "",
        "## Limits",
        "- French rests on the multilingual encoder and on synthetic French rows: every real "
        "positive is English. The lexicon carries much of the French recall.",
        "- Everyday chat that names a category in passing (news, films) is flagged at the rates "
        "above; a bot message quoting such a topic is treated as naming it.",
        "- Categories of a flagged message are the head's best guesses where no term names one; "
        "reasons and reports count them, so expect some confusion between neighbours (health "
        "and self-harm, legal and domestic violence).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__ or "", SENSITIVE_WEIGHTS, argv)
    set_seeds(args.seed)
    progress = not args.quiet
    may_train, lab_trains = D.ship_status(args.data)
    if not may_train:
        print("refusing: the data README does not mark sensitive_topics ship: yes", file=sys.stderr)
        return 2
    rows = D.load(args.data)
    if any(r.source == "labforsims2" for r in rows) and not lab_trains:
        raise SystemExit("refusing: LabForSims2 is measure-only")
    cache = embedding_cache(args.cache, args.precision, args.device, args.encoder, args.threads)

    def embed(texts: Sequence[str]) -> Matrix:
        return np.asarray(cache.encode_documents(list(texts), progress=progress), np.float32)

    x = embed([r.text for r in rows])
    y = targets(rows)
    w = np.asarray([r.weight for r in rows], dtype=np.float64)
    split = np.asarray([r.split for r in rows])
    head, notes = train(x, y, w, split, args.seed, progress)
    from classifiers.sensitive_terms import sensitive_lexicon

    lex = np.asarray([bool(sensitive_lexicon().find(r.text)) for r in rows])
    thresholds, calibration = calibrate(head, rows, x, lex)
    counts = {s: sum(1 for r in rows if r.source == s) for s in {r.source for r in rows}}
    day = ("goemotions", "topical_chat", "xed_neutral", "xed_fr", "xpersona_fr")
    everyday = sum(v for k, v in counts.items() if k in day)
    lab = D.labforsims(args.data)
    meta: dict[str, Any] = {
        "head": "sensitive",
        "trained_at": datetime.now(UTC).date().isoformat(),
        "cue_score": CUE_SCORE,
        **encoder_metadata(cache),
        "precision": args.precision,
        "seed": args.seed,
        "thresholds": thresholds,
        "calibration": calibration,
        "c": notes,
        "data": {
            **{
                k: counts.get(k, 0)
                for k in ("synthetic", "persona", "medquad", "counselchat", "confaide", "clinc")
            },
            "everyday": everyday,
            "labforsims2": len(lab),
        },
    }
    head = MLPHead(head.weights, head.biases, head.labels, multilabel=True, metadata=meta)
    meta["n_parameters"] = head.n_parameters()
    head.save(args.out)
    clf = SensitiveClassifier.load(args.out)
    meta["metrics"] = {
        "test": split_report(clf, rows, embed, "test"),
        "val": split_report(clf, rows, embed, "val"),
        "labforsims2": measure_only(clf, lab, embed),
    }
    head = MLPHead(head.weights, head.biases, head.labels, multilabel=True, metadata=meta)
    head.save(args.out)
    args.out.with_suffix(".md").write_text(model_card(meta), encoding="utf-8")
    rates = meta["metrics"]["test"]["flag_rates"]
    en, fr = rates["bot_like_en"]["rate"], rates["bot_like_fr"]["rate"]
    print(f"wrote {args.out}: any threshold {thresholds[ANY]:.4f}; test bot-like flag rates "
          f"en {_pct(en)}, fr {_pct(fr)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
