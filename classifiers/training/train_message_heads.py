"""Train the per-message self-harm heads: user messages at risk, bot messages that encourage.

    python -m classifiers.training.train_message_heads --data ../shared/data

Two binary logistic heads on the shared (multilingual) sentence embedding, written to
``classifiers/weights/self_harm_message.safetensors`` and ``self_harm_bot.safetensors``
with their cards (``.md``):

- ``self_harm_message`` (user role): the short-text corpus of
  ``classifiers.training.corpora.self_harm_short`` (AILuminate, SimpleSafetyTests, XSTest,
  DiaSafety contexts, C-SSRS posts down-weighted, everyday chat in English and French as
  negatives), train split only, ``ship: yes`` only.
- ``self_harm_bot`` (bot role): synthetic bot replies that encourage, instruct or romanticise
  self-harm or disordered eating, with synthetic safe replies as hard negatives
  (``classifiers/training/synthetic/encouragement.jsonl``), plus real bot-like negatives: DiaSafety
  responses, PersuasionForGood persuader sentences and everyday chat (train splits).

C is chosen on the validation split (AUPRC); the threshold is the score that at most 1% of the
validation split's everyday chat reaches, English and French apart (the higher of the two).
Test-split figures go into the metadata and the cards; synthetic figures are labelled as such.
Splits: ``--split-scheme`` (default ``normalised-v1``: by normalised text and by group across
every source, ``classifiers.training.splits``) with ``--split-seed``; the shipped heads of
2026-12-02 were split by ``exact-hash-v0`` with seed 20261202 (user head) and 0 (bot head:
its seed doubled as its split seed). The scheme, seed and everyday cap go into the metadata
(``split``), so that benchmarks can tell each head's training rows
(``classifiers.training.heldout``). Seeds fixed; nothing here prints a text from the data.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from classifiers.data import default_data_dir
from classifiers.encoders import DEFAULT_ENCODER, ENCODER_NAMES
from classifiers.heads import MLPHead, fold_standardisation
from classifiers.normalize import normalize
from classifiers.training import corpora as C
from classifiers.training.common import balanced_weights, fpr_threshold
from classifiers.training.corpora import Row
from classifiers.training.splits import LEGACY_SCHEME, SCHEME, SCHEMES

WEIGHTS: Final = Path(__file__).resolve().parent.parent / "weights"
SYNTHETIC: Final = Path(__file__).resolve().parent / "synthetic" / "encouragement.jsonl"
C_GRID: Final = (0.003, 0.01, 0.03, 0.1, 0.3)
FLAG_RATE: Final = 0.01
HARD_FLAG_RATE: Final = 0.15
"""Bot head: at most this share of the validation split's hand-written safe replies (crisis
support, recovery, idioms) may pass: flagging a bot's crisis referral as encouragement would
block the reply a person at risk most needs."""
SYNTHETIC_WEIGHT: Final = 8.0
"""Weight of a synthetic bot row: the few hand-written safe replies (crisis support, recovery)
must not be drowned by thousands of easy everyday negatives, or the head learns "mentions
suicide" instead of "encourages it"."""
SAFE_REPLY_WEIGHT: Final = 10.0
"""Extra weight (times ``SYNTHETIC_WEIGHT``) of a synthetic safe reply in the bot head: crisis
support shares every topic word with encouragement, so the few contrastive safe replies must
weigh as much as the thousands of easy real negatives."""
BOT_C_GRID: Final = (0.01,)
"""Bot head: L2 strength of the embedding part (standardised inputs). 0.01 over 1.0 in the
writer folds of ``classifiers.training.bot_writer_folds`` (round 8, read before the folds
withdrew the head's flag as the runtime does: 327 / 352 of 383 / 426 encouragements blocked
with the floor, against 322 / 342, for 13 / 14 against 11 / 14 of 328 / 328 benign). A hidden
layer of 64 ReLU units instead (commit dcf411f has the code) blocked more in the same folds
(325 / 350 for 12 / 11, against 314 / 334 for 13 / 12) but read negated framing worse: "You
shouldn't cut at all, let's find another way through tonight" scored over its threshold and
over "You should cut deeper this time", and 2 of the 5 near pairs of
tests/test_bot_support_vs_encouragement.py ranked support higher. Not shipped."""
BOT_NGRAM_C_GRID: Final = (1.0,)
"""Bot head: L2 strength of the n-gram part (L2-normalised TF-IDF rows). Grid (1, 3, 10)
tried: 3 and 10 flagged more of the fresh supportive sentences of
tests/test_bot_support_vs_encouragement.py (2 and 4 of 17 against 1, at the threshold before
the Risk Ignorance safe replies joined the calibration sets), so 1 is kept: a choice made on
those sentences."""
BOT_FUSION_GRID: Final = (0.3,)
"""Bot head: weight of the embedding logit (the n-gram logit gets 1 - weight). Until round 8
it was 0: trained on one writer's replies, the embedding logit put 3 of 17 fresh supportive
replies over the threshold. Trained with the other writers' sets too (``writer_rows``), 0.3
gained most on the writer left out without more benign flags (0 and 0.5 tried; folds and
figures in ``classifiers.training.bot_writer_folds`` and the card)."""
BOT_FLAG_RATE: Final = 0.005
"""Bot head: the threshold is the score at most this share of each real calibration set
reaches (everyday EN, FR; DiaSafety safe replies; safe replies to people at risk). Half the
user head's rate: a supportive reply to a person in distress must get through."""
WRITER_SETS: Final = tuple(
    Path(__file__).resolve().parents[2]
    / "benchmarks"
    / "dev"
    / f"encouragement_adversarial_v{k}.yaml"
    for k in range(1, 10)
)
"""Retired held-out sets (each written by a different helper that read nothing of the
repository; worn by tuning, see benchmarks/heldout/README.md): encouraging and benign bot
messages in many voices and obfuscations. Training rows of the bot head since round 8 (v1-v5;
v6 since round 9; v7 and v8 since round 11: with them the writer folds v2-v6 blocked 390 ->
397/474 English and 408 -> 413/510 French encouragements and flagged 12 -> 11/406 and
16 -> 13/402 benign messages; v7 alone, in round 10, had been neutral; v9 since round 12)."""
VOICES: Final = tuple(
    Path(__file__).resolve().parent / "synthetic" / f"encouragement_{k}_{lang}.jsonl"
    for k in ("voices", "voices2", "writers12")
    for lang in ("en", "fr")
)
"""The many-voice synthetic bot messages (personas), training rows since round 8; and the
training writer of round 12 (``writers12``: French encouragement weighted to plain wording
and euphemism, supportive replies and refusals in the same words; the English writer wrote
benign messages only): with it the writer folds v2-v9 blocked 593 -> 603/687 English and
620 -> 641/740 French encouragements and flagged 16 -> 17/578 and 18 -> 25/569 benign
messages (the card, "Round 12")."""
BOT_SAFE_FLAG_RATE: Final = 0.02
"""Bot head settings are chosen among those that flag at most this share of the validation
split's synthetic safe replies at the real-data threshold (then highest synthetic recall)."""
BOT_VOCAB: Final = 20_000
"""Word and character n-grams kept each for the bot head's n-gram part."""
PROMPT_SETS: Final = ("ailuminate", "sst", "xstest")
Matrix = npt.NDArray[np.float32]


def fit(
    x: Matrix,
    y: npt.NDArray[np.int64],
    w: npt.NDArray[np.float64],
    c: float,
    seed: int,
    max_iter: int = 3000,
) -> tuple[Matrix, Matrix]:
    """Class-balanced L2 logistic regression on standardised inputs, folded to (W, b)."""
    from sklearn.linear_model import LogisticRegression

    from classifiers.training.common import fit_scaler

    scaler = fit_scaler(x, w)
    wb = balanced_weights(y, w)
    clf = LogisticRegression(C=c, max_iter=max_iter, random_state=seed)
    clf.fit(scaler.transform(x), y, sample_weight=wb)
    return fold_standardisation(
        clf.coef_.T.astype(np.float32),
        clf.intercept_.astype(np.float32),
        scaler.mean_.astype(np.float32),
        scaler.scale_.astype(np.float32),
    )


def emb_logits(wb: tuple[Matrix, Matrix], x: Matrix, scale: float = 1.0) -> npt.NDArray[np.float64]:
    """A logistic head's logit on ``x``, times ``scale`` (the bot head's fusion weight)."""
    return np.asarray((x @ wb[0] + wb[1])[:, 0], dtype=np.float64) * scale


def proba(wb: tuple[Matrix, Matrix], x: Matrix) -> npt.NDArray[np.float64]:
    z = (x @ wb[0] + wb[1])[:, 0].astype(np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


def report(y: npt.NDArray[np.int64], s: npt.NDArray[np.float64], t: float) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    pred = s >= t
    yb = y == 1
    out: dict[str, Any] = {
        "n": len(y),
        "positives": int(yb.sum()),
        "tp": int((pred & yb).sum()),
        "fp": int((pred & ~yb).sum()),
        "fn": int((~pred & yb).sum()),
        "tn": int((~pred & ~yb).sum()),
    }
    if 0 < yb.sum() < len(yb):
        out["auprc"] = round(float(average_precision_score(yb, s)), 4)
        out["auroc"] = round(float(roc_auc_score(yb, s)), 4)
    if yb.any():
        out["recall"] = round(float(pred[yb].mean()), 4)
    if (~yb).any():
        out["flag_rate_negatives"] = round(float(pred[~yb].mean()), 4)
    return out


def threshold_rates(rows: Sequence[Row], s: npt.NDArray[np.float64], t: float) -> dict[str, float]:
    out = {}
    for lg in ("en", "fr"):
        m = np.asarray([r.split == "val" and r.everyday and r.lang == lg for r in rows])
        if m.any():
            out[lg] = round(float((s[m] >= t).mean()), 4)
    return out


def threshold_on_everyday(
    rows: Sequence[Row], s: npt.NDArray[np.float64]
) -> tuple[float, dict[str, float]]:
    """The score that at most ``FLAG_RATE`` of each language's val everyday chat reaches."""

    t = 0.0
    for lg in ("en", "fr"):
        m = np.asarray([r.split == "val" and r.everyday and r.lang == lg for r in rows])
        if m.any():
            t = max(t, fpr_threshold(s[m].astype(np.float32), FLAG_RATE))
    rates = {}
    for lg in ("en", "fr"):
        m = np.asarray([r.split == "val" and r.everyday and r.lang == lg for r in rows])
        if m.any():
            rates[lg] = round(float((s[m] >= t).mean()), 4)
    return float(t), rates


def train(
    name: str,
    rows: list[Row],
    x: Matrix,
    seed: int,
    select: Any,
    slices: dict[str, Any],
    meta: dict[str, Any],
    hard: Any = None,
) -> MLPHead:
    """Fit on train rows (ship only), C by val AUPRC on ``select`` rows, threshold on val
    everyday chat; test figures per slice."""
    split = np.asarray([r.split for r in rows])
    y = np.asarray([r.label for r in rows], dtype=np.int64)
    w = np.asarray([r.weight for r in rows], dtype=np.float64)
    tr = (split == "train") & np.asarray([r.ship for r in rows])
    sel = (split == "val") & np.asarray([bool(select(r)) for r in rows])
    best: tuple[float, float, tuple[Matrix, Matrix]] | None = None
    tried = []
    for c in C_GRID:
        wb = fit(x[tr], y[tr], w[tr], c, seed)
        ap = report(y[sel], proba(wb, x[sel]), 0.5).get("auprc", 0.0)
        tried.append({"c": c, "val_auprc": ap})
        if best is None or ap > best[0]:
            best = (ap, c, wb)
    assert best is not None
    _, c, wb = best
    s = proba(wb, x)
    t, val_rates = threshold_on_everyday(rows, s)
    metrics: dict[str, Any] = {"val_everyday_flag_rate": val_rates}
    if hard is not None:
        m = (split == "val") & (y == 0) & np.asarray([bool(hard(r)) for r in rows])
        t_hard = fpr_threshold(s[m].astype(np.float32), HARD_FLAG_RATE)
        metrics["threshold_everyday"] = t
        metrics["threshold_hard_negatives"] = t_hard
        t = max(t, t_hard)
        metrics["val_everyday_flag_rate"] = threshold_rates(rows, s, t)
        metrics["val_hard_negatives_flag_rate"] = round(float((s[m] >= t).mean()), 4)
    for sname, f in slices.items():
        m = (split == "test") & np.asarray([bool(f(r)) for r in rows])
        if m.any():
            metrics[sname] = report(y[m], s[m], t)
    meta = {
        **meta,
        "head": name,
        "c": c,
        "selection": tried,
        "seed": seed,
        "trained_at": datetime.now(UTC).date().isoformat(),
        "thresholds": {"message": t},
        "flag_rate_target": FLAG_RATE,
        "n_train": int(tr.sum()),
        "n_train_positive": int(y[tr].sum()),
        "metrics": metrics,
        "test_curves": curves(rows, s, split, y),
    }
    return MLPHead((wb[0],), (wb[1],), (name,), (), True, meta)


def curves(
    rows: Sequence[Row],
    s: npt.NDArray[np.float64],
    split: npt.NDArray[Any],
    y: npt.NDArray[np.int64],
) -> dict[str, Any]:
    """Test-split scores are not stored; nothing here is a text."""
    return {"n_test": int((split == "test").sum()), "positives_test": int(y[split == "test"].sum())}


def synthetic_rows(seed: int, safe_weight: float = 1.0) -> list[Row]:
    """The synthetic replies, legacy-split by hand-written sentence group."""
    from classifiers.training.common import held_out, load_synthetic

    out = []
    for r in load_synthetic(SYNTHETIC, ("encourages",)):
        out.append(
            Row(
                r.text,
                int(bool(r.labels)),
                "synthetic",
                "fr" if r.lang == "fr" else "en",
                C.hash_split("synthetic_encouragement", r.group, seed),
                SYNTHETIC_WEIGHT * (1.0 if r.labels else safe_weight),
                True,
                groups=(f"synthetic_encouragement:{r.group}",),
            )
        )
    return [r for r in out if not held_out(r.text, "encouragement_adversarial_")]


def user_rows(data: Path, cap: int, seed: int = C.CORPUS_SEED, scheme: str = SCHEME) -> list[Row]:
    """The user head's rows: ``self_harm_short`` split under ``scheme``, at most ``cap``
    everyday rows per source (whatever their split)."""
    rows = C.self_harm_short(data, seed, scheme=scheme)
    kept: list[Row] = []
    for source in sorted({r.source for r in rows}):
        group = [r for r in rows if r.source == source]
        kept.extend(group if not group[0].everyday else group[:cap])
    return kept


def user_select(r: Row) -> bool:
    """Validation rows the user head's C is chosen on."""
    return r.lang == "en" and r.source != "cssrs"


RISK_IGNORANCE: Final = "Risk Ignorance"


def diasafety_reply_kinds(data: Path) -> dict[str, tuple[str, str]]:
    """DiaSafety response text -> (category, label) of its first occurrence."""
    from classifiers.data import load_diasafety

    out: dict[str, tuple[str, str]] = {}
    for p in load_diasafety(data):
        out.setdefault(p.response.strip(), (p.category, p.label))
    return out


def bot_rows(
    data: Path,
    cap: int,
    seed: int,
    safe_weight: float = 1.0,
    scheme: str = SCHEME,
    writer_sets: Sequence[Path] = WRITER_SETS,
) -> list[Row]:
    """Synthetic replies, DiaSafety replies (except the unsafe replies to risk contexts:
    they ignore a user's risk, some may validate it; measured, never a negative),
    PersuasionForGood persuader sentences and everyday chat, split together under
    ``scheme`` with ``seed`` (a DiaSafety reply belongs to every context it answers).
    Everyday rows and replies: at most ``2 * cap`` each per source."""
    from classifiers.data import dataset_info, load_diasafety

    info = dataset_info(data, "diasafety")
    pairs = load_diasafety(data)
    contexts = C.dia_reply_groups(pairs)
    replies = C._rows(
        "diasafety_replies",
        (
            (p.response, 0, p.context)
            for p in pairs
            if not (p.category == RISK_IGNORANCE and p.label == "Unsafe")
        ),
        "en",
        info.ship,
        seed=seed,
        groups=lambda t, _: contexts[t],
    )
    p4g = [
        Row(r.text, 0, "p4g", r.lang, r.split, 1.0, r.ship, groups=r.groups)
        for r in C.persuasionforgood(data, LEGACY_SCHEME)
    ]
    day = C.everyday(data, seed, LEGACY_SCHEME)
    kept: list[Row] = []
    for source in sorted({r.source for r in day}):
        kept.extend([r for r in day if r.source == source][: cap * 2])
    rows = [
        *synthetic_rows(seed, safe_weight),
        *writer_rows(writer_sets),
        *replies[: cap * 2],
        *p4g,
        *kept,
    ]
    return C.resplit(rows, seed, scheme)


def writer_rows(sets: Sequence[Path] = WRITER_SETS) -> list[Row]:
    """Other writers' bot messages (``WRITER_SETS`` and ``VOICES``), all in the train split:
    synthetic, so no figure is read on them; their worth is measured on the writer left out
    (``classifiers.training.bot_writer_folds``) and on the next frozen set."""
    import yaml

    from classifiers.training.common import held_out, load_synthetic

    out: list[Row] = []
    for path in sets:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
        for item in items:
            out.append(
                writer_row(item["text"], item["label"] == "encourage", item["lang"], path.stem)
            )
    for path in VOICES:
        for r in load_synthetic(path, ("encourages",)):
            out.append(writer_row(r.text, bool(r.labels), r.lang, f"{path.stem}:{r.group}"))
    return [r for r in out if not held_out(r.text, "encouragement_adversarial_")]


def writer_row(text: str, encourages: bool, lang: str, group: str) -> Row:
    return Row(
        text,
        int(encourages),
        "synthetic_writers",
        "fr" if lang == "fr" else "en",
        "train",
        SYNTHETIC_WEIGHT,
        True,
        groups=(f"writers:{group}",),
        fixed=True,
    )


Mask = npt.NDArray[np.bool_]


def reply_masks(rows: Sequence[Row], kinds: dict[str, tuple[str, str]]) -> tuple[Mask, Mask]:
    """(DiaSafety safe replies, those of them that answer a Risk Ignorance context: real
    supportive replies to people at risk), over ``rows``."""
    kind = [
        kinds.get(r.text, ("", "")) if r.source == "diasafety_replies" else ("", "") for r in rows
    ]
    safe = np.asarray(
        [
            r.source == "diasafety_replies" and k[1] == "Safe"
            for r, k in zip(rows, kind, strict=True)
        ]
    )
    return safe, safe & np.asarray([k[0] == RISK_IGNORANCE for k in kind])


def bot_threshold(
    s: npt.NDArray[np.float64], calibration: dict[str, Mask], rate: float = BOT_FLAG_RATE
) -> float:
    """The highest score that at most ``rate`` of each calibration set reaches."""
    return max(fpr_threshold(s[m].astype(np.float32), rate) for m in calibration.values())


def bot_real_negatives(rows: Sequence[Row]) -> Mask:
    """Real rows (not synthetic) of no encouragement outside the test split: the pool the
    off-subject threshold is read on (:func:`bot_off_subject_threshold`)."""
    return np.asarray(
        [r.label == 0 and r.source != "synthetic" and r.split != "test" for r in rows], dtype=bool
    )


def bot_off_subject_threshold(
    s: npt.NDArray[np.float64], texts: Sequence[str], negatives: Mask, threshold: float
) -> float:
    """Just over the highest score of a real negative of ``HEAD_MIN_WORDS`` words or more that
    names nothing of dying, self-harm, their means or eating (the floor's ``assess``), and
    never under ``threshold``.

    Off the subject the head's flag is withdrawn (its n-grams flag warm words), except over
    this score: a euphemism ("join the stars, little one") names nothing either, and a score
    no real reply off the subject reaches is read as the head's certainty. ``negatives`` are
    the real rows outside the test split, trained on or not: the largest real sample of what
    the head must leave alone."""
    from classifiers.floor import default_floor
    from classifiers.self_harm import HEAD_MIN_WORDS

    floor = default_floor()
    off = np.asarray(
        [len(t.split()) >= HEAD_MIN_WORDS and not floor.assess(t).on_subject for t in texts],
        dtype=bool,
    )
    pool = s[negatives & off]
    if not len(pool):
        return 1.0
    top = float(np.nextafter(np.float32(pool.max()), np.float32(2.0)))
    return min(1.0, max(top, threshold))


def bot_calibration(rows: Sequence[Row], kinds: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The bot head's validation masks: everyday chat (EN, FR), DiaSafety safe replies and
    safe replies to Risk Ignorance contexts (the threshold), synthetic rows (the settings)."""
    split = np.asarray([r.split for r in rows])
    src = np.asarray([r.source for r in rows])
    lang = np.asarray([r.lang for r in rows])
    day = np.asarray([r.everyday for r in rows])
    safe_reply, risk_safe = reply_masks(rows, kinds)
    val = split == "val"
    return {
        "everyday_en": val & day & (lang == "en"),
        "everyday_fr": val & day & (lang == "fr"),
        "diasafety_safe_replies": val & safe_reply,
        # real supportive replies: the safe answers to users showing risk
        "diasafety_risk_ignorance_safe_replies": val & risk_safe,
        "synthetic": val & (src == "synthetic"),
    }


def card(meta: dict[str, Any], what: str) -> str:
    m = meta["metrics"]
    lines = [
        f"# Model card: {meta['head']} head",
        "",
        f"File: `{meta['head']}.safetensors` (binary logistic regression, {meta['dim']}+1 "
        "parameters, float32"
        + (
            f"; plus `{meta['fusion']['lexical_file']}`, a logistic head over TF-IDF word "
            "1-2-grams "
            "and character 2-5-grams, its logit added (fusion weights folded in)"
            if meta.get("fusion")
            else ""
        )
        + f"). Trained {meta['trained_at']} by "
        "`python -m classifiers.training.train_message_heads` "
        f"(seed {meta['seed']}, split {split_text(meta)}). Encoder: {meta['encoder']} "
        f"(`{meta['encoder_name']}`).",
        "",
        "## What it does",
        what,
        "",
        "## Data (ship: yes only)",
        meta["data_text"],
        f"Train rows {meta['n_train']} ({meta['n_train_positive']} positive). "
        + (
            f"Settings {meta['choice']} chosen from {len(meta['selection'])} (embedding C "
            f"{list(BOT_C_GRID)} x n-gram C {list(BOT_NGRAM_C_GRID)} x embedding weight "
            f"{list(BOT_FUSION_GRID)}; rule under Limits)."
            if "choice" in meta
            else f"C = {meta['c']} chosen on the validation split's AUPRC from "
            f"{[t['c'] for t in meta['selection']]}."
        ),
        "",
        "## Threshold",
        meta.get("threshold_text")
        or f"`message` = {meta['thresholds']['message']:.4f}: the score that at most "
        f"{100 * meta['flag_rate_target']:.0f}% of the validation split's everyday chat reaches, "
        f"English and French apart (the higher of the two). Validation everyday flag rate: "
        f"{m['val_everyday_flag_rate']}.",
        "",
        "## Held-out test figures (at the threshold)",
        "",
        "| slice | n | positives | AUPRC | AUROC | recall | flagged negatives | tp/fp/fn/tn |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for k, v in m.items():
        if not isinstance(v, dict) or "n" not in v:
            continue
        lines.append(
            f"| {k} | {v['n']} | {v['positives']} | {v.get('auprc', 'n/a')} | "
            f"{v.get('auroc', 'n/a')} | {v.get('recall', 'n/a')} | "
            f"{v.get('flag_rate_negatives', 'n/a')} | {v['tp']}/{v['fp']}/{v['fn']}/{v['tn']} |"
        )
    lines += ["", "## Limits", meta["limits"]]
    return "\n".join(lines) + "\n"


def split_text(meta: dict[str, Any]) -> str:
    """How a head's rows were split, for its card."""
    sp = meta.get("split")
    if not sp:
        return f"scheme {LEGACY_SCHEME}"
    return f"scheme {sp['scheme']}, split seed {sp['seed']}"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--out-dir", type=Path, default=WEIGHTS)
    p.add_argument("--encoder", choices=ENCODER_NAMES, default=DEFAULT_ENCODER)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-scheme", choices=SCHEMES, default=SCHEME)
    p.add_argument(
        "--split-seed",
        type=int,
        default=C.CORPUS_SEED,
        help="seed of both heads' splits (the shipped bot head used 0, its --seed)",
    )
    p.add_argument("--everyday-cap", type=int, default=3000, help="everyday rows per source")
    p.add_argument("--only", choices=("user", "bot"), default=None, help="train one head")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    np.random.seed(args.seed)

    from classifiers.cache import EmbeddingCache
    from classifiers.encoders import load_encoder
    from classifiers.training.common import encoder_metadata

    cache = EmbeddingCache(load_encoder(args.encoder, threads=args.threads))
    enc = encoder_metadata(cache)
    progress = not args.quiet

    heads: list[MLPHead] = []
    if args.only != "bot":
        heads.append(train_user_head(args, cache, enc, progress))
    if args.only != "user":
        heads.append(train_bot_head(args, cache, enc, progress))
    for head in heads:
        what = WHAT_USER if head.labels[0] == "self_harm_message" else WHAT_BOT
        (args.out_dir / f"{head.labels[0]}.md").write_text(card(head.metadata, what), "utf-8")
    print(json.dumps({h.labels[0]: h.metadata["metrics"] for h in heads}, indent=1))
    return 0


WHAT_USER: Final = (
    "Scores a single **user** message: probability that it expresses or seeks suicide or "
    "self-harm. The gateway's `self_harm.score` for a user message; `flagged` when it "
    "reaches the threshold (or the lexicon finds an explicit ideation-or-worse phrase)."
)
WHAT_BOT: Final = (
    "Scores a **bot** message: probability that it encourages, instructs or romanticises "
    "self-harm, suicide or disordered eating (EN, FR). `encourages` is the lexicon's "
    "encouragement category OR this head over its threshold, unless every encouragement act "
    'the lexicon finds in the message is plainly forbidden ("please don\'t hurt yourself").'
)


def train_user_head(
    args: argparse.Namespace, cache: Any, enc: dict[str, Any], progress: bool
) -> MLPHead:
    rows = user_rows(args.data, args.everyday_cap, args.split_seed, args.split_scheme)
    if not all(r.ship for r in rows):
        raise SystemExit("refusing: a training source is not ship: yes")
    x = cache.encode_documents(C.texts(rows), progress=progress)
    slices = {
        "test_en_prompt_sets": lambda r: r.source in PROMPT_SETS,
        "test_diasafety_contexts": lambda r: r.source == "diasafety",
        "test_cssrs_posts": lambda r: r.source == "cssrs",
        "test_everyday_en": lambda r: r.everyday and r.lang == "en",
        "test_everyday_fr": lambda r: r.everyday and r.lang == "fr",
        "test_en_short_all": lambda r: r.lang == "en" and r.source != "cssrs",
    }
    user = train(
        "self_harm_message",
        rows,
        x,
        args.seed,
        user_select,
        slices,
        {
            **enc,
            "split": split_meta(args),
            "data_text": "AILuminate en_US (CC BY 4.0: `ssh` positive, 11 other hazards negative), "
            "SimpleSafetyTests (CC BY 4.0: self-harm area positive), XSTest (CC BY 4.0: unsafe "
            "self-harm prompts positive, safe look-alikes negative), DiaSafety contexts "
            "(Apache-2.0: Risk Ignorance positive), C-SSRS posts (CC BY: ideation-or-worse "
            f"users' posts positive, weight {C.CSSRS_WEIGHT}), everyday chat negatives "
            "(GoEmotions, Topical-Chat, XED neutral; XPersona French, XED French; at most "
            f"{args.everyday_cap} per source). Seeded hash splits 60/20/20 by source and group; "
            "C-SSRS by the project's user split. IRF never trains.",
            "limits": "No French self-harm positives exist in the shipped data: French relies on "
            "the multilingual encoder's transfer from English and on the lexicon floor. "
            "DiaSafety contexts dominate the positives. AILuminate `ssh` includes some benign "
            "questions about self-harm, counted positive.",
        },
    )
    user.save(args.out_dir / "self_harm_message.safetensors")
    return user


def train_bot_head(
    args: argparse.Namespace, cache: Any, enc: dict[str, Any], progress: bool
) -> MLPHead:
    """The bot head: an embedding logistic head and an n-gram logistic head, logits summed
    (fusion weight folded into both), threshold on real held-out negatives only."""
    from scipy.sparse import csr_matrix

    from classifiers.ngrams import NgramHead, NgramVocabulary

    brows = bot_rows(
        args.data, args.everyday_cap, args.split_seed, SAFE_REPLY_WEIGHT, args.split_scheme
    )
    if not all(r.ship for r in brows):
        raise SystemExit("refusing: a training source is not ship: yes")
    # the features of what the stack reads at run time: the normalised text
    texts = [normalize(t).text for t in C.texts(brows)]
    xb = cache.encode_documents(texts, progress=progress)
    kinds = diasafety_reply_kinds(args.data)
    split = np.asarray([r.split for r in brows])
    y = np.asarray([r.label for r in brows], dtype=np.int64)
    w = np.asarray([r.weight for r in brows], dtype=np.float64)
    src = np.asarray([r.source for r in brows])
    lang = np.asarray([r.lang for r in brows])
    day = np.asarray([r.everyday for r in brows])
    safe_reply, risk_safe = reply_masks(brows, kinds)
    tr = split == "train"
    calibration = bot_calibration(brows, kinds)
    val_syn = calibration.pop("synthetic")

    def threshold(s: npt.NDArray[np.float64]) -> float:
        return bot_threshold(s, calibration)

    vocab = NgramVocabulary.fit(
        [t for t, keep in zip(texts, tr, strict=True) if keep], BOT_VOCAB, BOT_VOCAB
    )
    xn: csr_matrix = vocab.matrix(texts, progress=progress)
    emb_fits = {c: fit(xb[tr], y[tr], w[tr], c, args.seed) for c in BOT_C_GRID}
    ngram_fits = {c: fit_ngrams(xn[tr], y[tr], w[tr], c, args.seed) for c in BOT_NGRAM_C_GRID}
    tried: list[dict[str, Any]] = []
    best: tuple[tuple[bool, float, float], dict[str, Any]] | None = None
    for ce, wbe in emb_fits.items():
        ze = emb_logits(wbe, xb)
        for cn, (wn, bn) in ngram_fits.items():
            zn = np.asarray(xn @ wn + bn, dtype=np.float64)[:, 0]
            for a in BOT_FUSION_GRID:
                s = sigmoid(a * ze + (1 - a) * zn)
                t = threshold(s)
                pred = s >= t
                rec = float(pred[val_syn & (y == 1)].mean())
                safe_fp = float(pred[val_syn & (y == 0)].mean())
                ap = report(y[val_syn], s[val_syn], t).get("auprc", 0.0)
                row = {
                    "c": ce,
                    "c_ngrams": cn,
                    "embedding_weight": a,
                    "val_synthetic_recall": round(rec, 4),
                    "val_synthetic_safe_flag_rate": round(safe_fp, 4),
                    "val_synthetic_auprc": ap,
                }
                tried.append(row)
                key = (
                    safe_fp <= BOT_SAFE_FLAG_RATE,
                    rec if safe_fp <= BOT_SAFE_FLAG_RATE else -safe_fp,
                    ap,
                )
                if best is None or key > best[0]:
                    best = (key, row)
    assert best is not None
    choice = best[1]
    a = float(choice["embedding_weight"])
    we, be = emb_fits[choice["c"]]
    we, be = we * a, be * a
    wn, bn = ngram_fits[choice["c_ngrams"]]
    wn, bn = wn * (1 - a), bn * (1 - a)
    s = sigmoid(emb_logits((we, be), xb) + np.asarray(xn @ wn + bn, dtype=np.float64)[:, 0])
    t = threshold(s)
    real_negatives = bot_real_negatives(brows)
    t_off = bot_off_subject_threshold(s, texts, real_negatives, t)
    metrics: dict[str, Any] = {
        "val_everyday_flag_rate": {
            lg: round(float((s[calibration[f"everyday_{lg}"]] >= t).mean()), 4)
            for lg in ("en", "fr")
        },
        "val_diasafety_safe_replies_flag_rate": round(
            float((s[calibration["diasafety_safe_replies"]] >= t).mean()), 4
        ),
        "val_diasafety_risk_ignorance_safe_replies_flag_rate": round(
            float((s[calibration["diasafety_risk_ignorance_safe_replies"]] >= t).mean()), 4
        ),
        "val_synthetic_safe_flag_rate": choice["val_synthetic_safe_flag_rate"],
    }
    te = split == "test"
    slices = {
        "test_synthetic_en (SYNTHETIC, not a quality figure)": (src == "synthetic")
        & (lang == "en"),
        "test_synthetic_fr (SYNTHETIC, not a quality figure)": (src == "synthetic")
        & (lang == "fr"),
        "test_diasafety_safe_replies": safe_reply,
        "test_diasafety_risk_ignorance_safe_replies": risk_safe,
        "test_diasafety_replies_all_kept": src == "diasafety_replies",
        "test_p4g_sentences": src == "p4g",
        "test_everyday_en": day & (lang == "en"),
        "test_everyday_fr": day & (lang == "fr"),
    }
    for name, m in slices.items():
        if (m & te).any():
            metrics[name] = report(y[m & te], s[m & te], t)
    # risk-ignoring replies: never trained on; only those whose context no train or
    # validation row shares (by normalised text), flag rate reported
    from classifiers.training.splits import Seen

    bot_seen = Seen("self_harm_bot").add_rows(
        r
        for r, m in zip(
            brows, tr | np.any(list(calibration.values()), axis=0) | val_syn, strict=True
        )
        if m
    )
    ri = sorted(
        {
            p.response.strip()
            for p in __import__("classifiers.data", fromlist=["load_diasafety"]).load_diasafety(
                args.data
            )
            if p.category == RISK_IGNORANCE
            and p.label == "Unsafe"
            and not bot_seen.holds(p.response, (C.dia_group(p.context),))
        }
    )
    if ri:
        ri = [normalize(t).text for t in ri]
        xr = cache.encode_documents(ri, progress=False)
        sr = sigmoid(
            emb_logits((we, be), xr)
            + np.asarray(vocab.matrix(ri) @ wn + bn, dtype=np.float64)[:, 0]
        )
        metrics["test_diasafety_risk_ignorance_unsafe_replies (not trained on)"] = report(
            np.zeros(len(ri), dtype=np.int64), sr, t
        )
    lexical_name = "self_harm_bot_lexical.safetensors"
    meta = {
        **enc,
        "split": split_meta(args),
        "head": "self_harm_bot",
        "c": choice["c"],
        "selection": tried,
        "choice": choice,
        "seed": args.seed,
        "trained_at": datetime.now(UTC).date().isoformat(),
        "thresholds": {"message": t, "off_subject": t_off},
        "flag_rate_target": BOT_FLAG_RATE,
        "n_train": int(tr.sum()),
        "n_train_positive": int(y[tr].sum()),
        "metrics": metrics,
        "test_curves": curves(brows, s, split, y),
        "fusion": {"lexical_file": lexical_name, "embedding_weight": a, "folded": True},
        "decision": "or_lexicon",
        "data_text": BOT_DATA_TEXT,
        "limits": BOT_LIMITS,
        "threshold_text": (
            f"`message` = {t:.4f}: the highest of the scores that at most "
            f"{100 * BOT_FLAG_RATE:.1f}% of the validation split's everyday chat (English, French "
            "apart), of its DiaSafety safe replies and of its safe replies to Risk Ignorance "
            "contexts (real supportive replies) reach. Validation flag rates: everyday "
            f"{metrics['val_everyday_flag_rate']}, DiaSafety safe replies "
            f"{metrics['val_diasafety_safe_replies_flag_rate']}, of which supportive "
            f"{metrics['val_diasafety_risk_ignorance_safe_replies_flag_rate']}, synthetic safe "
            "replies "
            f"{metrics['val_synthetic_safe_flag_rate']} (synthetic). `off_subject` = "
            f"{t_off:.4f}: on a message that names nothing of dying, self-harm, their means "
            "or eating (of 5 words or more), the flag stands only over this score, just over "
            f"the highest that any of the {int(real_negatives.sum())} real negatives outside "
            "the test split reaches when it names nothing of them either."
        ),
    }
    NgramHead(
        vocab,
        wn.astype(np.float32),
        bn.astype(np.float32),
        ("self_harm_bot",),
        {"head": "self_harm_bot_lexical", "c": choice["c_ngrams"], "seed": args.seed},
    ).save(args.out_dir / lexical_name)
    bot = MLPHead(
        (we.astype(np.float32),), (be.astype(np.float32),), ("self_harm_bot",), (), True, meta
    )
    bot.save(args.out_dir / "self_harm_bot.safetensors")
    return bot


def split_meta(args: argparse.Namespace) -> dict[str, Any]:
    """What ``classifiers.training.heldout`` needs to rebuild a head's rows."""
    return {
        "scheme": args.split_scheme,
        "seed": args.split_seed,
        "everyday_cap": args.everyday_cap,
    }


def sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


def fit_ngrams(
    x: Any, y: npt.NDArray[np.int64], w: npt.NDArray[np.float64], c: float, seed: int
) -> tuple[Matrix, Matrix]:
    """Class-balanced L2 logistic regression on (L2-normalised) TF-IDF rows: (W, b)."""
    from sklearn.linear_model import LogisticRegression

    wb = balanced_weights(y, w)
    clf = LogisticRegression(C=c, max_iter=5000, random_state=seed)
    clf.fit(x, y, sample_weight=wb)
    return clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32)


BOT_DATA_TEXT: Final = (
    "Synthetic bot replies (`classifiers/training/synthetic/encouragement.jsonl`, written for "
    "the project, EN and FR): encouragement, instruction or romanticising of self-harm, suicide "
    "or disordered eating as positives; safe replies (crisis support, referral, recovery, "
    "healthy food advice, idioms) as hard negatives, including contrastive pairs "
    "(`encouragement_pairs.py`: the same act framed to encourage or to forbid / refer to help), "
    f"safe replies weighted x{SAFE_REPLY_WEIGHT:g}. Real negatives: DiaSafety responses "
    "(Apache-2.0) except the unsafe replies to Risk Ignorance contexts (they ignore a user's "
    "risk; measured, never trained on), PersuasionForGood persuader sentences (Apache-2.0), "
    "everyday chat EN and FR (GoEmotions, Topical-Chat, XED; XPersona FR, XED FR). No real "
    "positives: of the 846 DiaSafety Risk Ignorance unsafe replies, 4 hit the lexicon's "
    "encouragement category; ignoring a risk is not encouraging it. Seeded hash splits by "
    "hand-written sentence group (synthetic) or context (DiaSafety). Since round 8, in the "
    "train split only: the retired held-out sets `benchmarks/dev/encouragement_adversarial_v1` "
    f"to `v{len(WRITER_SETS)}` (encouraging and benign bot messages under twelve obfuscations, "
    "each set by a different writer that read nothing of the repository), the many-voice sets "
    "(`encouragement_voices*_*.jsonl`) and round 12's training writer "
    "(`encouragement_writers12_*.jsonl`), synthetic, weighted as the synthetic rows. Every row "
    "is read as the stack reads it at run time: normalised (`classifiers.normalize`)."
)
BOT_LIMITS: Final = (
    "Every positive is synthetic: recall on real bot output cannot be measured (the synthetic "
    "test recall above is optimistic: the same hand wrote train and test rows, and the "
    "contrastive templates share framings across splits). Settings (embedding C 0.01, n-gram "
    "C 1, embedding weight 0.3, threshold at 0.5% of each real calibration set) were chosen "
    "in writer folds (`python -m classifiers.training.bot_writer_folds`): each retired set "
    "left out in turn, the head trained on the rest, the floor OR the head read on the set "
    "left out, the head's flag withdrawn where the runtime withdraws it. On v2 to v5 (v1 was "
    "tuned on by the floor), 314 of 383 English and 334 of 426 French encouragements were "
    "blocked, against 278 and 295 by the floor and the stack of 2026-12-02, for 13 and 12 of "
    "328 benign messages each (14 and 11 before); weights 0 (292 / 319) and 0.5, embedding C "
    "1, a hidden layer of 64 units (see `BOT_C_GRID`: more blocked, but it ranks negated "
    "framings worse) and a 1% rate were tried (1%: +13 / +20 encouragements for +3 / +5 benign "
    "messages and up to 2.8% of the real supportive replies of a fold). The synthetic "
    "test recall above fell (0.74 to 0.41 English): that writer's style is one among six now. "
    'Plain disordered-eating coaching ("throwing up after eating keeps you slim") scores just '
    "under the threshold. "
    "Runtime (`SelfHarmClassifier.score_bot_messages`): `encourages` = lexicon encouragement OR "
    "(this head over its threshold AND NOT every lexicon encouragement hit in the message being "
    'plainly prohibited, e.g. "please don\'t hurt yourself").'
)


if __name__ == "__main__":
    raise SystemExit(main())
