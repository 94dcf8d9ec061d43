"""Quality of the sensitive head, as shipped (head + lexicon), per category and language.

``split_report`` measures a split of the training script's rows (real and synthetic apart,
never pooled); ``heldout_report`` the frozen held-out set of bot follow-ups
(``benchmarks/heldout/sensitive_followups.yaml``), which nothing here trains or tunes on.
Both return figures only: no text is printed or returned.

Figures: per category, AUPRC of the category's score (the head's probability, lifted to the
cue score where the lexicon names the category) against the texts that name no category,
and the recall of the runtime flag naming that category; the ``any`` score's AUPRC; flag
rates on everyday chat (per source, bot-like Topical-Chat and XPersona French apart) and on
benign personal follow-ups; recall by position (preview, body) where the rows say it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifiers.heads import FloatArray
from classifiers.results import SENSITIVE_CATEGORIES, SensitiveResult
from classifiers.sensitive import SensitiveClassifier
from classifiers.training.sensitive_data import SRow

Embed = Callable[[Sequence[str]], FloatArray]
BOT_LIKE = ("topical_chat", "xpersona_fr")
HELDOUT = (
    Path(__file__).resolve().parents[2] / "benchmarks" / "heldout" / "sensitive_followups.yaml"
)


def category_scores(results: Sequence[SensitiveResult]) -> npt.NDArray[np.float64]:
    """(n, categories): the head's probability, or the cue score where a term names it."""
    out = np.zeros((len(results), len(SENSITIVE_CATEGORIES)))
    for i, r in enumerate(results):
        named = {s.category for s in r.spans}
        for j, c in enumerate(SENSITIVE_CATEGORIES):
            out[i, j] = max(r.scores.get(c, 0.0), 1.0 if c in named else 0.0)
    return out


def _auprc(y: npt.NDArray[np.bool_], s: npt.NDArray[np.float64]) -> float | None:
    from sklearn.metrics import average_precision_score

    if not 0 < y.sum() < len(y):
        return None
    return round(float(average_precision_score(y, s)), 4)


def _rate(mask: npt.NDArray[np.bool_], flagged: npt.NDArray[np.bool_]) -> dict[str, Any]:
    n = int(mask.sum())
    return {"n": n, "flagged": int(flagged[mask].sum()),
            "rate": round(float(flagged[mask].mean()), 4) if n else None}  # fmt: skip


def figures(
    labels: Sequence[frozenset[str]],
    results: Sequence[SensitiveResult],
    langs: Sequence[str],
    negatives: npt.NDArray[np.bool_] | None = None,
) -> dict[str, Any]:
    """Per language (and ``all``): ``any`` AUPRC and recall, per category AUPRC and recall
    (flagged and naming the category), over the rows given. ``negatives`` marks the rows
    that count as negatives (default: every row without a category)."""
    cats = category_scores(results)
    flagged = np.asarray([r.flagged for r in results])
    anyscore = np.asarray([r.score for r in results])
    lang = np.asarray(langs)
    pos_any = np.asarray([bool(x) for x in labels])
    neg = ~pos_any if negatives is None else negatives
    out: dict[str, Any] = {}
    for code in ("en", "fr", "all"):
        m = np.ones(len(lang), bool) if code == "all" else lang == code
        if not (m & pos_any).any():
            continue
        keep = m & (pos_any | neg)
        block: dict[str, Any] = {
            "positives": int((m & pos_any).sum()),
            "negatives": int((m & neg).sum()),
            "any_auprc": _auprc(pos_any[keep], anyscore[keep]),
            "any_recall": round(float(flagged[m & pos_any].mean()), 4),
            "categories": {},
        }
        for j, c in enumerate(SENSITIVE_CATEGORIES):
            y = np.asarray([c in x for x in labels])
            if not (m & y).any():
                continue
            sel = m & (y | neg)
            named = np.asarray([c in r.categories for r in results])
            block["categories"][c] = {
                "n": int((m & y).sum()),
                "auprc": _auprc(y[sel], cats[sel, j]),
                "recall": round(float(named[m & y].mean()), 4),
                "flagged": round(float(flagged[m & y].mean()), 4),
            }
        out[code] = block
    return out


def split_report(
    clf: SensitiveClassifier, rows: Sequence[SRow], embed: Embed, split: str = "test"
) -> dict[str, Any]:
    """Figures on one split: real rows and synthetic rows apart, and the flag rates."""
    chosen = [r for r in rows if r.split == split]
    results = clf.score(embed([r.text for r in chosen]), [r.text for r in chosen])
    flagged = np.asarray([r.flagged for r in results])
    src = np.asarray([r.source for r in chosen])
    kind = np.asarray([r.kind for r in chosen])
    lang = np.asarray([r.lang for r in chosen])
    syn = src == "synthetic"
    everyday = kind == "everyday"
    real = ~syn & ~everyday
    out: dict[str, Any] = {"split": split}
    sel = [i for i in range(len(chosen)) if real[i] or everyday[i]]
    out["real"] = figures([chosen[i].labels for i in sel], [results[i] for i in sel],
                          [chosen[i].lang for i in sel])  # fmt: skip
    bot = syn & (np.asarray([r.role for r in chosen]) == "bot")
    idx = [i for i in range(len(chosen)) if bot[i]]
    benign = np.asarray([chosen[i].kind == "benign_personal" for i in idx])
    out["synthetic"] = figures([chosen[i].labels for i in idx], [results[i] for i in idx],
                               [chosen[i].lang for i in idx], negatives=benign)  # fmt: skip
    pos = np.asarray([bool(r.labels) for r in chosen])
    out["synthetic_position"] = {
        f"{p}_{code}": _rate(bot & pos & (np.asarray([r.position for r in chosen]) == p)
                             & (lang == code), flagged)
        for p in ("preview", "body") for code in ("en", "fr")
    }  # fmt: skip
    langs = ("en", "fr")
    kinds = ("benign_personal", "hard_negative", "benign_everyday")
    rates: dict[str, Any] = {}
    for s in sorted(set(src[everyday])):
        rates[f"everyday:{s}"] = _rate(everyday & (src == s), flagged)
    for code in langs:
        rates[f"bot_like_{code}"] = _rate(
            everyday & np.isin(src, BOT_LIKE) & (lang == code), flagged
        )
    for k in kinds:
        for code in langs:
            rates[f"synthetic:{k}_{code}"] = _rate(bot & (kind == k) & (lang == code), flagged)
    for s in sorted(set(src[real & ~pos])):
        rates[f"real_negatives:{s}"] = _rate(real & ~pos & (src == s), flagged)
    out["flag_rates"] = rates
    return out


def measure_only(clf: SensitiveClassifier, rows: Sequence[SRow], embed: Embed) -> dict[str, Any]:
    """Rows that may never train (LabForSims2 French patient lines): share flagged, and
    flagged as health."""
    if not rows:
        return {}
    results = clf.score(embed([r.text for r in rows]), [r.text for r in rows])
    return {
        "n": len(rows),
        "flagged": round(float(np.mean([r.flagged for r in results])), 4),
        "health": round(float(np.mean(["health" in r.categories for r in results])), 4),
    }


def heldout_report(
    clf: SensitiveClassifier, embed: Embed, path: Path = HELDOUT
) -> dict[str, Any] | None:
    """The frozen held-out follow-ups (synthetic, written before this head): per category
    and language, per position, and the benign kinds' flag rates. Read, scored, counted:
    no item is printed and nothing here feeds training or thresholds."""
    import yaml

    if not path.is_file():
        return None
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    texts = [str(i["text"]) for i in items]
    results = clf.score(embed(texts), texts)
    labels = [frozenset(i.get("categories") or ()) for i in items]
    langs = [str(i["lang"]) for i in items]
    flagged = np.asarray([r.flagged for r in results])
    lang = np.asarray(langs)
    sensitive = np.asarray([bool(x) for x in labels])
    benign = np.asarray([i.get("kind") == "benign_personal" for i in items])
    out: dict[str, Any] = {"n": len(items), "by_language": figures(labels, results, langs, benign)}
    pos = np.asarray([str(i.get("position", "")) for i in items])
    kinds = np.asarray([str(i.get("kind", "")) for i in items])
    out["position"] = {f"{p}_{c}": _rate(sensitive & (pos == p) & (lang == c), flagged)
                       for p in ("preview", "body") for c in ("en", "fr")}  # fmt: skip
    out["benign"] = {f"{k}_{c}": _rate(~sensitive & (kinds == k) & (lang == c), flagged)
                     for k in ("benign_personal", "benign_everyday", "hard_negative")
                     for c in ("en", "fr")}  # fmt: skip
    right = [bool(set(r.categories) & set(lab)) for r, lab in zip(results, labels, strict=True)]
    out["category_named"] = round(float(np.mean([x for x, s in zip(right, sensitive, strict=True)
                                                 if s])), 4)  # fmt: skip
    gate = np.asarray(as_the_gateway_reads(clf, embed, texts))
    out["gateway"] = {
        "note": "flagged when the whole text or any of its sentences is (the analysis stage)",
        **{f"recall_{c}": _rate(sensitive & (lang == c), gate) for c in ("en", "fr")},
        **{f"{p}_{c}": _rate(sensitive & (pos == p) & (lang == c), gate)
           for p in ("preview", "body") for c in ("en", "fr")},
        **{f"{k}_{c}": _rate(~sensitive & (kinds == k) & (lang == c), gate)
           for k in ("benign_personal", "benign_everyday", "hard_negative") for c in ("en", "fr")},
    }  # fmt: skip
    return out


def as_the_gateway_reads(
    clf: SensitiveClassifier, embed: Embed, texts: Sequence[str]
) -> list[bool]:
    """Per text: flagged as a whole or in one of its sentences, as the gateway's analysis
    stage scores a message (``guardrail.analysis``: the whole text and each sentence)."""
    from classifiers.pii_redact import sentence_spans

    parts: list[tuple[int, str]] = []
    for i, text in enumerate(texts):
        spans = sentence_spans(text)
        parts += [(i, text)] + ([(i, text[a:b]) for a, b in spans] if len(spans) > 1 else [])
    results = clf.score(embed([t for _, t in parts]), [t for _, t in parts])
    out = [False] * len(texts)
    for (i, _), r in zip(parts, results, strict=True):
        out[i] = out[i] or r.flagged
    return out
