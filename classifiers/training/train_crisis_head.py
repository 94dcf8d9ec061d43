"""Train the severity head (``classifiers/crisis_head.py``): at risk, behaviour, imminent.

    python -m classifiers.training.train_crisis_head --data ../shared/data [--threads 1]
        [--writer-sets 1-9|none]

Inputs: the shared sentence embedding and the crisis grammar's slot features. Three
class-balanced L2 logistic regressions, standardisation folded in, written to
``classifiers/weights/self_harm_severity.safetensors`` with its card (``.md``).

Data (``ship: yes`` only; splits are seeded hashes of (source, group): 60/20/20, as the
other per-message heads, ``classifiers.training.corpora``; the project's shared split module
is not on main yet, so texts are also de-duplicated after normalisation across splits here):

- real: AILuminate en_US (``ssh`` positive), SimpleSafetyTests, XSTest, DiaSafety contexts,
  MSTS English text-only prompts (``Suicide & Self-Harm`` positive, split by case), C-SSRS
  posts (weight 0.15, split by user), everyday chat EN and FR (negatives). Real positives
  carry no behaviour or imminence label: they train ``at_risk`` only.
- synthetic (``classifiers/training/synthetic/crisis.jsonl``, marked ``synthetic``): the
  project's own EN and FR crisis messages on the seven C-SSRS levels with ``imminent``, and
  look-alikes; the only French positives and the only behaviour and imminence labels.
- ``--writer-sets`` (the shipped head: ``1-9``): the single messages of the retired held-out
  sets ``benchmarks/dev/acute_crisis_vN.yaml``, synthetic, each written by other helper
  sessions. Trained on v1-v7 the head read the unseen writer's v8 better than a retrain
  without them (crisis path +3 EN, +5 FR of 134 / 136; look-alikes -1, -2), and on v1-v6
  and v8 it read v7 better (+3, +4 of 138 / 128; -1, -1), for 0.1-0.3 points more of
  everyday chat at ideation (round 11 of issue #22, ``self_harm.md``). v9 joined in round 12
  (neutral on the v8 fold: crisis path -2 EN, +0 FR of 134 / 136).
- any synthetic row equal to a message of a frozen held-out set
  (``benchmarks/heldout/acute_crisis_*``) is dropped (``common.held_out``).

C is chosen on the validation split's AUPRC (real and synthetic for ``at_risk``, synthetic
for the other two). Thresholds, on validation data only: ``at_risk`` the lowest score at
which the head's decision (where it may speak, see ``CrisisHead.read``) reaches at most
``EVERYDAY_RATE`` of each language's everyday chat; ``behavior`` and ``imminent`` the score
that keeps ``RECALL`` of their synthetic validation positives; the alone head's
``at_risk_alone`` once per language (that language's everyday chat and the shared caps) and
once for messages of no clear language (every cap). Test-split figures go into the
card, real and synthetic apart, English and French apart. Seeds fixed; prints no text.
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from classifiers.crisis_grammar import default_grammar
from classifiers.crisis_head import (
    ACUTE_WEIGHTS,
    FEATURE_NAMES,
    LABELS,
    alone_threshold,
    feature_matrix,
    material,
)
from classifiers.cssrs import SEVERITY_OF
from classifiers.data import default_data_dir
from classifiers.heads import MLPHead
from classifiers.lexicons import default_lexicon
from classifiers.training import corpora as C
from classifiers.training.common import balanced_weights, held_out
from classifiers.training.train_message_heads import fit

WEIGHTS: Final = Path(__file__).resolve().parent.parent / "weights"
SYNTHETIC_DIR: Final = Path(__file__).resolve().parent / "synthetic"
SYNTHETIC_FILES: Final = (
    "crisis.jsonl",
    "crisis_voices_en.jsonl",
    "crisis_voices_fr.jsonl",
    "crisis_voices2_en.jsonl",
    "crisis_voices2_fr.jsonl",
    "crisis_writers12_en.jsonl",
    "crisis_writers12_fr.jsonl",
)
"""The project's own crisis messages: the first writer's (``crisis_compose.py``), and the
many-voice sets of 2026-12-07 (twenty-odd voices per language, one writer each; the
second round, ``crisis_voices2_*``, 30 English and 46 French voices by two new writers),
and the training sets of round 12 (``crisis_writers12_*``: two more helper writers, one per
language, on the held-out sets' brief with more indirect crises and look-alikes in a
crisis's very words; their split conversations are kept in the file, not trained on).
The third round (``crisis_voices3_*``) is not trained on: with it both heads read the
development set v2 worse (crisis path 63 -> 60/96 EN, 61 -> 57/94 FR)."""
C_GRID: Final = (0.01, 0.03, 0.1, 0.3, 1.0)
EVERYDAY_RATE: Final = 0.002
"""At most this share of each language's everyday validation chat may get ``at_risk`` from
the head (the grammar's own everyday rate comes on top; together they stay under 1%)."""
ALONE_EVERYDAY_RATE: Final = 0.002
"""Where the head speaks alone (no crisis material, no keyword hit): at most this share of
each language's everyday validation chat (0.1% until round 5 of issue #22: with the gated
head's 0.2% and the per-message head's flag, everyday chat stays under the 1% bar) ..."""
ALONE_HARD_RATE: Final = 0.01
"""... and of the validation split's real hard negatives (other hazards, safe prompts,
other contexts) ..."""
CSSRS_NEGATIVE_RATE: Final = 0.10
"""... and of the C-SSRS posts of users labelled ``Supportive`` or ``Indicator``. Those
labels are the user's, not the post's: mental-health forum posts, many of them in
distress, some of them ideation the user label does not show. Capped at 1% with the other
real negatives until round 5, they bound the alone head's threshold (0.985: it then missed
half of a development set's crises that it ranked above 0.95); the crisis path on such a
post shows resources, which is no harm to its writer."""
ALONE_LOOKALIKE_RATE: Final = 0.05
"""... and of the synthetic validation look-alikes (idioms, grief, prevention talk)."""
IMMINENT_ALONE_FALSE: Final = 0.1
"""Alone, ``imminent`` needs a score that at most this share of the non-imminent synthetic
validation crises reach."""
IMMINENT_EVERYDAY_RATE: Final = 0.0
"""... and that at most this share of the everyday validation chat the alone head speaks of
reaches (none): an imminent reading holds every bot's outreach for a month and pages a
reviewer, and the alone head's everyday cap (0.2%) let a few everyday messages with a time
word ("tonight") reach it. On the development set v2 this kept 58 of 59 imminent crises
and cut false imminence on other crises from 11 to 9 of 88."""
BEHAVIOR_ALONE_FALSE: Final = 0.1
"""Alone, ``behavior`` (preparation or an attempt) needs a score that at most this share of
the synthetic validation crises below behavior (ideation, method, intent, plan) reach: an
attempt told in words the grammar does not parse ("the bottle's empty now") is more than
ideation."""
HARD_RATE: Final = 0.02
"""... and at most this share of the validation split's real hard negatives (other hazards
of AILuminate and MSTS, XSTest's safe prompts, DiaSafety's other contexts)."""
ACUTE_HIDDEN: Final = 256
ACUTE_ALPHA: Final = 1e-3
"""The alone head: one ReLU layer of this width, L2 ``alpha``, early stopping on a seeded
tenth of the train split. Chosen on the development sets beside the logistic at_risk output
(C 0.1-1): at the same caps the MLP kept about half again as many crises alone."""
RECALL: Final = 0.9
SYNTHETIC_WEIGHT: Final = 4.0
UNKNOWN: Final = -1
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Example:
    text: str
    y: tuple[int, int, int]
    """at_risk, behavior, imminent (``UNKNOWN``: not labelled)."""
    source: str
    lang: str
    split: str
    weight: float
    synthetic: bool
    everyday: bool = False


def _key(text: str) -> str:
    low = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"[^a-z0-9]+", " ", "".join(c for c in low if not unicodedata.combining(c)))


DEV_DIR: Final = Path(__file__).resolve().parents[2] / "benchmarks" / "dev"
WRITER_SETS: Final = "1-9"
"""The retired acute sets the shipped head trained on (``--writer-sets``' default)."""


def _synthetic(row: dict[str, Any], group: str, seed: int) -> Example:
    """A synthetic message labelled on the C-SSRS ladder: at_risk, behavior, imminent."""
    severity = SEVERITY_OF[row["level"]]
    y = (
        int(severity != "none"),
        int(severity in ("behavior", "attempt")),
        int(row["imminent"]),
    )
    split = C.hash_split("synthetic_crisis", group, seed)
    return Example(row["text"], y, "synthetic", row["lang"], split, SYNTHETIC_WEIGHT, True)


def writer_rows(versions: Sequence[int], seed: int) -> list[Example]:
    """Single messages of the retired held-out sets (``benchmarks/dev/acute_crisis_vN.yaml``:
    acute crises on the seven C-SSRS levels with ``imminent``, and look-alikes), each set
    written by other helper sessions: synthetic rows, split by (set, item) as the others.
    Split conversations are left out (no label says which turn carries the crisis)."""
    import yaml

    out = []
    for v in versions:
        path = DEV_DIR / f"acute_crisis_v{v}.yaml"
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            if "text" in item:
                out.append(_synthetic(item, f"v{v}:{item['id']}", seed))
    return out


def set_numbers(spec: str) -> list[int]:
    """ "1-6,8" -> [1, 2, 3, 4, 5, 6, 8]; "none" -> []."""
    out: list[int] = []
    if spec == "none":
        return out
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def synthetic_examples(seed: int, writers: Sequence[int] = ()) -> list[Example]:
    """The project's synthetic crisis messages (``SYNTHETIC_FILES``; split conversations
    left out: no label says which turn carries the crisis) and the retired held-out sets
    ``writers``, less any message of a frozen held-out set (``common.held_out``)."""
    out: list[Example] = []
    for source, line in (
        (name, line)
        for name in SYNTHETIC_FILES
        if (SYNTHETIC_DIR / name).is_file()
        for line in (SYNTHETIC_DIR / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ):
        row = json.loads(line)
        if row.get("synthetic") is not True:
            raise SystemExit(f"{source}: a row not marked synthetic")
        if "text" in row:
            out.append(_synthetic(row, row["group"], seed))
    out += writer_rows(writers, seed)
    return [e for e in out if not held_out(e.text, "acute_crisis_")]


def examples(
    data: Path, everyday_cap: int, seed: int, writers: Sequence[int] = ()
) -> list[Example]:
    real = [*C.self_harm_short(data), *C.msts(data)]
    kept: list[C.Row] = []
    for source in sorted({r.source for r in real}):
        group = [r for r in real if r.source == source]
        kept.extend(group if not group[0].everyday else group[:everyday_cap])
    out = [
        Example(r.text, (r.label, UNKNOWN if r.label else 0, UNKNOWN if r.label else 0),
                r.source, r.lang, r.split, r.weight, False, r.everyday)
        for r in kept
        if r.ship
    ]  # fmt: skip
    out += synthetic_examples(seed, writers)
    # A text (after normalisation) stays in the first split it was seen in.
    first: dict[str, str] = {}
    deduped = []
    for e in out:
        where = first.setdefault(_key(e.text), e.split)
        deduped.append(e if where == e.split else Example(
            e.text, e.y, e.source, e.lang, where, e.weight, e.synthetic, e.everyday))  # fmt: skip
    return deduped


def sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


def auprc(y: npt.NDArray[Any], s: npt.NDArray[np.float64]) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def rate(mask: npt.NDArray[np.bool_], hit: npt.NDArray[np.bool_]) -> dict[str, Any]:
    n = int(mask.sum())
    k = int((mask & hit).sum())
    return {"n": n, "k": k, "rate": round(k / n, 4) if n else None}


@dataclass(frozen=True)
class Columns:
    """What each row is, as arrays the thresholds and the report select on."""

    y: npt.NDArray[np.int64]
    """at risk, behavior, imminent (``UNKNOWN`` where a source does not say)."""
    split: npt.NDArray[Any]
    syn: npt.NDArray[np.bool_]
    day: npt.NDArray[np.bool_]
    """Everyday chat."""
    lang: npt.NDArray[Any]
    src: npt.NDArray[Any]
    topical: npt.NDArray[np.bool_]
    """The crisis lexicon finds something (the gated head's gate)."""
    seen: npt.NDArray[np.bool_]
    """The grammar reads material slots (the gated head's gate)."""

    @classmethod
    def of(
        cls, rows: list[Example], topical: npt.NDArray[np.bool_], seen: npt.NDArray[np.bool_]
    ) -> Columns:
        return cls(
            np.asarray([r.y for r in rows], dtype=np.int64),
            np.asarray([r.split for r in rows]),
            np.asarray([r.synthetic for r in rows]),
            np.asarray([r.everyday for r in rows]),
            np.asarray([r.lang for r in rows]),
            np.asarray([r.source for r in rows]),
            topical,
            seen,
        )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--out-dir", type=Path, default=WEIGHTS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--everyday-cap", type=int, default=3000, help="everyday rows per source")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--writer-sets",
        default=WRITER_SETS,
        help="the retired acute sets benchmarks/dev/acute_crisis_vN.yaml trained on too: "
        f"1-9, 1-6,8, none (default {WRITER_SETS}, the shipped head's)",
    )
    args = p.parse_args(argv)
    np.random.seed(args.seed)
    progress = not args.quiet

    from classifiers.cache import EmbeddingCache
    from classifiers.encoders import load_encoder
    from classifiers.training.common import encoder_metadata

    rows = examples(args.data, args.everyday_cap, args.seed, set_numbers(args.writer_sets))
    if not all(not r.synthetic or r.source == "synthetic" for r in rows):
        raise SystemExit("refusing: a row is neither real ship-yes nor marked synthetic")
    if progress:
        print(f"{len(rows)} rows ({sum(r.synthetic for r in rows)} synthetic); encoding")
    cache = EmbeddingCache(load_encoder("use", threads=args.threads))
    emb = cache.encode_documents([r.text for r in rows], progress=progress)
    if progress:
        print("reading the grammar's slots")
    grammar, lexicon = default_grammar(), default_lexicon()
    facts, languages = zip(*(grammar.facts_and_language(r.text) for r in rows), strict=True)
    x = np.hstack([emb, feature_matrix(facts)]).astype(np.float32)
    topical = np.asarray([bool(lexicon.scan(r.text).hits) for r in rows])
    seen = np.asarray([material(f) for f in facts])
    cols = Columns.of(rows, topical, seen)
    y, split, syn = cols.y, cols.split, cols.syn
    w = np.asarray([r.weight for r in rows], dtype=np.float64)

    weights, biases, chosen, scores = [], [], {}, np.zeros((len(rows), 3))
    for j, name in enumerate(LABELS):
        known = y[:, j] != UNKNOWN
        tr = known & (split == "train")
        va = known & (split == "val") & (syn if j else np.ones(len(rows), dtype=bool))
        best: tuple[float, float, tuple[Matrix, Matrix]] | None = None
        tried = []
        for c in C_GRID:
            wb = fit(x[tr], y[tr, j], w[tr], c, args.seed, max_iter=5000)
            ap = auprc(y[va, j], sigmoid((x[va] @ wb[0] + wb[1])[:, 0].astype(np.float64)))
            tried.append({"c": c, "val_auprc": round(ap, 4)})
            if progress:
                print(f"{name}: C={c} val AUPRC {ap:.4f}")
            if best is None or ap > best[0]:
                best = (ap, c, wb)
        assert best is not None
        chosen[name] = {"c": best[1], "selection": tried}
        weights.append(best[2][0])
        biases.append(best[2][1])
        scores[:, j] = sigmoid((x @ best[2][0] + best[2][1])[:, 0].astype(np.float64))

    thresholds = choose_thresholds(scores, cols)
    if progress:
        print("training the alone head")
    acute_head, acute = train_acute(x, y[:, 0], w, split, args.seed)
    alone = alone_caps(acute, cols)
    thresholds["at_risk_alone"] = alone["threshold"]
    for lang, value in alone["by_language"].items():
        thresholds[f"at_risk_alone_{lang}"] = value
    # each row's alone threshold, by the language the runtime reads it in
    alone_at = np.asarray([alone_threshold(thresholds, lang) for lang in languages])
    thresholds["imminent_alone"] = imminent_alone_on_everyday(
        scores[:, 2], acute, thresholds, (split == "val") & cols.day, alone_at
    )
    metrics = report(scores, cols, thresholds, acute, alone_at)
    meta = {
        **encoder_metadata(cache),
        "head": "self_harm_severity",
        "seed": args.seed,
        "split_seed": C.CORPUS_SEED,
        "trained_at": datetime.now(UTC).date().isoformat(),
        "thresholds": thresholds,
        "choice": chosen,
        "n_train": int((split == "train").sum()),
        "n_train_synthetic": int(((split == "train") & syn).sum()),
        "writer_sets": args.writer_sets,
        "metrics": metrics,
        "alone_caps": alone["caps"],
    }
    head = MLPHead(
        (np.hstack(weights).astype(np.float32),),
        (np.hstack(biases).astype(np.float32),),
        LABELS,
        FEATURE_NAMES,
        True,
        meta,
    )
    head.save(args.out_dir / "self_harm_severity.safetensors")
    acute_meta = {
        **{k: v for k, v in meta.items() if k not in ("thresholds", "choice", "metrics")},
        "head": "self_harm_acute",
        "threshold": alone["threshold"],
        "thresholds_by_language": alone["by_language"],
        "caps": alone["caps"],
        "hidden": ACUTE_HIDDEN,
        "alpha": ACUTE_ALPHA,
    }
    MLPHead(acute_head[0], acute_head[1], ("acute",), FEATURE_NAMES, True, acute_meta).save(
        args.out_dir / ACUTE_WEIGHTS.name
    )
    (args.out_dir / "self_harm_severity.md").write_text(card(meta), "utf-8")
    print(json.dumps({"thresholds": thresholds, "metrics": metrics}, indent=1))
    return 0


def train_acute(
    x: Matrix, y: npt.NDArray[np.int64], w: npt.NDArray[np.float64], split: Any, seed: int
) -> tuple[tuple[tuple[Matrix, ...], tuple[Matrix, ...]], npt.NDArray[np.float64]]:
    """The alone head on the train split (class-balanced weights): its layers and its
    scores on every row."""
    from sklearn.neural_network import MLPClassifier

    tr = (y != UNKNOWN) & (split == "train")
    mlp = MLPClassifier(
        hidden_layer_sizes=(ACUTE_HIDDEN,),
        alpha=ACUTE_ALPHA,
        max_iter=200,
        early_stopping=True,
        random_state=seed,
    )
    mlp.fit(x[tr], y[tr], sample_weight=balanced_weights(y[tr], w[tr]))
    layers = (
        tuple(np.asarray(c, dtype=np.float32) for c in mlp.coefs_),
        tuple(np.asarray(b, dtype=np.float32) for b in mlp.intercepts_),
    )
    return layers, np.asarray(mlp.predict_proba(x)[:, 1], dtype=np.float64)


def alone_caps(acute: npt.NDArray[np.float64], cols: Columns) -> dict[str, Any]:
    """The alone head's threshold: no gate, so every validation row counts; the strictest of
    the caps (everyday chat per language, real hard negatives, C-SSRS users' posts,
    synthetic look-alikes)."""
    from classifiers.training.common import fpr_threshold

    shares = {
        "everyday_en": ALONE_EVERYDAY_RATE,
        "everyday_fr": ALONE_EVERYDAY_RATE,
        "real_hard_negatives": ALONE_HARD_RATE,
        "cssrs_negatives": CSSRS_NEGATIVE_RATE,
        "synthetic_lookalikes": ALONE_LOOKALIKE_RATE,
    }
    found = {
        name: float(fpr_threshold(acute[m].astype(np.float32), shares[name]))
        for name, m in validation_negatives(cols).items()
        if m.any()
    }

    # never under 0.5 (a head that says nothing of its caps) nor over 0.999
    def strictest(caps: list[float]) -> float:
        return float(min(max([0.5, *caps]), 0.999))

    # Each language's own: its everyday chat and the shared caps (hard negatives, C-SSRS
    # posts and look-alikes hold for both); until round 12 French took English's.
    by_language = {
        lang: strictest([v for k, v in found.items() if k != f"everyday_{other}"])
        for lang, other in (("en", "fr"), ("fr", "en"))
    }
    return {
        "threshold": strictest(list(found.values())),
        "by_language": by_language,
        "caps": found,
    }


def imminent_alone_on_everyday(
    imminent: npt.NDArray[np.float64],
    acute: npt.NDArray[np.float64],
    t: dict[str, float],
    everyday: npt.NDArray[np.bool_],
    alone_at: npt.NDArray[np.float64],
) -> float:
    """``imminent_alone``, raised so that at most ``IMMINENT_EVERYDAY_RATE`` of the everyday
    validation chat reaches it where the alone head speaks (``alone_at``: each row's
    ``at_risk_alone``, by its language)."""
    spoken = np.sort(imminent[everyday & (acute >= alone_at)])[::-1]
    allowed = int(np.floor(IMMINENT_EVERYDAY_RATE * int(everyday.sum())))
    if len(spoken) <= allowed:
        return t["imminent_alone"]
    return float(max(t["imminent_alone"], np.nextafter(spoken[allowed], np.inf)))


def validation_negatives(cols: Columns) -> dict[str, npt.NDArray[np.bool_]]:
    """The validation rows a threshold is capped on: everyday chat per language, real hard
    negatives (other hazards, safe prompts, other contexts), the C-SSRS posts of users not
    labelled ideation or worse (labelled by user: see ``CSSRS_NEGATIVE_RATE``), synthetic
    look-alikes."""
    y, day, syn, lang, src = cols.y, cols.day, cols.syn, cols.lang, cols.src
    va = cols.split == "val"
    real_negative = va & ~day & ~syn & (y[:, 0] == 0)
    return {
        "everyday_en": va & day & (lang == "en"),
        "everyday_fr": va & day & (lang == "fr"),
        "real_hard_negatives": real_negative & (src != "cssrs"),
        "cssrs_negatives": real_negative & (src == "cssrs"),
        "synthetic_lookalikes": va & syn & (y[:, 0] == 0),
    }


def decide(
    scores: npt.NDArray[np.float64],
    t: dict[str, float],
    topical: npt.NDArray[np.bool_],
    seen: npt.NDArray[np.bool_],
    acute: npt.NDArray[np.float64] | None = None,
    alone_at: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The heads' own decisions, as ``CrisisHead.read`` takes them (``acute``: the alone
    head's scores; ``alone_at``: each row's alone threshold, ``at_risk_alone`` for all when
    not given)."""
    gated = (seen | topical) & (scores[:, 0] >= t["at_risk"])
    at = t["at_risk_alone"] if alone_at is None else alone_at
    alone = ~gated & (acute >= at if acute is not None else np.zeros(len(scores), dtype=bool))
    risk = gated | alone
    behavior = (seen & gated & (scores[:, 1] >= t["behavior"])) | (
        alone & (scores[:, 1] >= t.get("behavior_alone", np.inf))
    )
    imminent = (seen & gated & (scores[:, 2] >= t["imminent"])) | (
        alone & (scores[:, 2] >= t.get("imminent_alone", np.inf))
    )
    return risk, behavior, imminent


def choose_thresholds(scores: npt.NDArray[np.float64], cols: Columns) -> dict[str, float]:
    from classifiers.training.common import fpr_threshold

    y, syn = cols.y, cols.syn
    va = cols.split == "val"
    gate = cols.seen | cols.topical
    t_risk = 0.0
    negatives = validation_negatives(cols)
    for m, share in (
        (negatives["everyday_en"], EVERYDAY_RATE),
        (negatives["everyday_fr"], EVERYDAY_RATE),
        (negatives["real_hard_negatives"], HARD_RATE),
        (negatives["cssrs_negatives"], CSSRS_NEGATIVE_RATE),
    ):
        # Rows the gate shuts can never be flagged: they score 0 here.
        s = np.where(gate[m], scores[m, 0], 0.0)
        t_risk = max(t_risk, fpr_threshold(s.astype(np.float32), share))
    out = {"at_risk": float(max(t_risk, 0.05))}
    for j, name in ((1, "behavior"), (2, "imminent")):
        pos = va & syn & (y[:, j] == 1)
        s = np.sort(scores[pos, j])
        k = int(np.floor((1 - RECALL) * len(s)))
        out[name] = float(s[k]) if len(s) else 0.5
    at_risk = va & syn & (y[:, 0] == 1)
    for j, name, share in (
        (2, "imminent", IMMINENT_ALONE_FALSE),
        (1, "behavior", BEHAVIOR_ALONE_FALSE),
    ):
        # the alone head's: at most ``share`` of the synthetic crises below the level reach it
        below = at_risk & (y[:, j] == 0)
        below_at = fpr_threshold(scores[below, j].astype(np.float32), share)
        out[f"{name}_alone"] = float(max(out[name], below_at) if below.any() else 1.0)
    return out


def report(
    scores: npt.NDArray[np.float64],
    cols: Columns,
    t: dict[str, float],
    acute: npt.NDArray[np.float64] | None = None,
    alone_at: npt.NDArray[np.float64] | None = None,
) -> dict[str, Any]:
    """Validation and test figures: real and synthetic apart, EN and FR apart."""
    y, split, syn, day, lang, src = cols.y, cols.split, cols.syn, cols.day, cols.lang, cols.src
    risk, behavior, imminent = decide(scores, t, cols.topical, cols.seen, acute, alone_at)
    out: dict[str, Any] = {}
    for part in ("val", "test"):
        m = split == part
        block: dict[str, Any] = {}
        for lg in ("en", "fr"):
            block[f"everyday_{lg}_at_risk"] = rate(m & day & (lang == lg), risk)
            block[f"everyday_{lg}_imminent"] = rate(m & day & (lang == lg), imminent)
        for s in sorted(set(src[~syn & ~day])):
            pos = m & (src == s) & (y[:, 0] == 1)
            neg = m & (src == s) & (y[:, 0] == 0)
            block[f"real_{s}"] = {
                "at_risk_recall": rate(pos, risk),
                "negatives_flagged": rate(neg, risk),
                "auprc": round(auprc(y[m & (src == s), 0], scores[m & (src == s), 0]), 4),
            }
        for lg in ("en", "fr"):
            k = m & syn & (lang == lg)
            block[f"synthetic_{lg} (SYNTHETIC)"] = {
                "at_risk_recall": rate(k & (y[:, 0] == 1), risk),
                "behavior_recall": rate(k & (y[:, 1] == 1), behavior),
                "imminent_recall": rate(k & (y[:, 2] == 1), imminent),
                "lookalikes_at_risk": rate(k & (y[:, 0] == 0), risk),
                "imminent_on_non_imminent": rate(k & (y[:, 2] == 0), imminent),
            }
        out[part] = block
    return out


def writer_sets_note(spec: str) -> str:
    """The card's line on the retired held-out sets trained on (``--writer-sets``)."""
    if spec == "none":
        return "No retired held-out set was trained on."
    return (
        f"Also SYNTHETIC: the single messages of the retired held-out sets v{spec} "
        "(`benchmarks/dev/acute_crisis_vN.yaml`, each by other helper writers who read nothing "
        "of the repository), split by (set, item) like the rest; never a frozen set of "
        "`benchmarks/heldout/`."
    )


def card(meta: dict[str, Any]) -> str:
    t = meta["thresholds"]
    lines = [
        "# Model card: self_harm_severity head",
        "",
        f"File: `self_harm_severity.safetensors` (three logistic outputs, at_risk / behavior / "
        f"imminent, over the {meta['dim']}-dimensional sentence embedding and "
        f"{len(FEATURE_NAMES)} crisis-grammar slot features; float32). Trained "
        f"{meta['trained_at']} by `python -m classifiers.training.train_crisis_head` (seed "
        f"{meta['seed']}, split seed {meta['split_seed']}). Encoder: {meta['encoder']} "
        f"(`{meta['encoder_name']}`).",
        "",
        "## What it does",
        "Adds to the crisis grammar (`classifiers/crisis_grammar.py`) what the embedding sees "
        "in a user message: ideation or worse (`at_risk`), preparatory behaviour or an attempt "
        "(`behavior`), imminence. It speaks where there is something to read: `at_risk` "
        "where the grammar found crisis material or the keyword lexicon a hit; "
        "`behavior` and `imminent` where the grammar found a means, act, place, note or "
        "goodbye, or weaker material (a second goodbye, a give-away, a plan, a decision: "
        "`crisis_head.material`); and, over the stricter `at_risk_alone` and "
        "`imminent_alone`, where nothing else spoke (a crisis in words no lexicon lists). Its "
        "thresholds are the recall-first operating point; the everyday-calibrated `flagged` "
        "stays the `self_harm_message` head's (its own card). Severity is the highest of the "
        "grammar's, the keyword lexicon's and this head's "
        "(`classifiers/crisis.py`).",
        "",
        "## Data",
        "Real (ship: yes): AILuminate en_US (`ssh` positive), SimpleSafetyTests, XSTest, "
        "DiaSafety contexts, MSTS English text-only prompts (`Suicide & Self-Harm` positive, "
        "split by case), C-SSRS posts (weight 0.15, split by user), everyday chat EN/FR "
        "(GoEmotions, Topical-Chat, XED; XPersona FR, XED FR). Real positives train `at_risk` "
        "only. SYNTHETIC (`classifiers/training/synthetic/crisis.jsonl` and the many-voice "
        "`crisis_voices_*.jsonl`, `crisis_voices2_*.jsonl`, written for the "
        "project, never from the held-out or development sets): EN and FR messages on the "
        "seven C-SSRS "
        "levels with `imminent`, and look-alikes; the only French positives and the only "
        "behaviour and imminence labels. Seeded 60/20/20 hash splits by source and group "
        "(the shared split module is not on main), texts de-duplicated across splits after "
        f"normalisation. Train rows {meta['n_train']} ({meta['n_train_synthetic']} synthetic). "
        + writer_sets_note(meta.get("writer_sets", "none")),
        "",
        "## Thresholds (validation data only)",
        f"- `at_risk` = {t['at_risk']:.4f}: the lowest score at which the head's gated decision "
        f"reaches at most {100 * EVERYDAY_RATE:.1f}% of each language's everyday validation "
        f"chat, {100 * HARD_RATE:.0f}% of the validation split's real hard negatives and "
        f"{100 * CSSRS_NEGATIVE_RATE:.0f}% of the posts of C-SSRS users labelled below ideation.",
        f"- `behavior` = {t['behavior']:.4f}, `imminent` = {t['imminent']:.4f}: keep "
        f"{100 * RECALL:.0f}% of their synthetic validation positives.",
        f"- `at_risk_alone` = {t.get('at_risk_alone', float('nan')):.4f}: where the grammar and "
        f"the keyword lexicon found nothing, the head says ideation over this score, which at "
        f"most {100 * ALONE_EVERYDAY_RATE:.1f}% of each language's everyday validation chat, "
        f"{100 * ALONE_HARD_RATE:.0f}% of real hard negatives, "
        f"{100 * CSSRS_NEGATIVE_RATE:.0f}% of C-SSRS users' posts below ideation and "
        f"{100 * ALONE_LOOKALIKE_RATE:.0f}% of synthetic look-alikes reach; `imminent_alone` = "
        f"{t.get('imminent_alone', float('nan')):.4f}: at most "
        f"{100 * IMMINENT_ALONE_FALSE:.0f}% of non-imminent synthetic validation crises and "
        f"{100 * IMMINENT_EVERYDAY_RATE:.2f}% of everyday validation chat; "
        f"`behavior_alone` = {t.get('behavior_alone', float('nan')):.4f}: at most "
        f"{100 * BEHAVIOR_ALONE_FALSE:.0f}% of synthetic validation crises below behavior. "
        "`at_risk_alone` is the threshold of the alone head, `self_harm_acute.safetensors` "
        f"(one ReLU layer of {ACUTE_HIDDEN} over the same inputs, L2 {ACUTE_ALPHA:g}, early "
        "stopping; one output, ideation or worse), the strictest of its caps on validation "
        "data: "
        + ", ".join(f"{k} {v:.4f}" for k, v in meta.get("alone_caps", {}).items())
        + ". Each language has its own (its everyday chat's cap and the shared ones): "
        + ", ".join(f"{k[-2:]} {v:.4f}" for k, v in t.items() if k.startswith("at_risk_alone_"))
        + "; a message whose language the grammar cannot tell gets the strictest.",
        "",
        "## Figures (the head's own decisions; test split)",
        "",
        "| slice | figure | k / n | rate |",
        "| --- | --- | --- | --- |",
    ]
    for name, block in meta["metrics"]["test"].items():
        if "n" in block:
            lines.append(f"| {name} | | {block['k']} / {block['n']} | {block['rate']} |")
            continue
        for fig, v in block.items():
            if isinstance(v, dict):
                lines.append(f"| {name} | {fig} | {v['k']} / {v['n']} | {v['rate']} |")
            else:
                lines.append(f"| {name} | {fig} | | {v} |")
    lines += [
        "",
        "Synthetic rows are the project's own sentences (SYNTHETIC, not a quality figure: the "
        "same hand wrote train and test, and the grammar was written on them). Quality on "
        "unseen wording is the frozen held-out acute set's (`benchmarks/acute_heldout.py`, "
        "reported in `classifiers/weights/self_harm.md`).",
        "",
        "## Limits",
        "No real French crisis text exists in the shipped data, and no real behaviour or "
        "imminence labels: those outputs learn from synthetic sentences only. Outside the "
        "gate the head speaks only over its stricter threshold, so a crisis worded entirely "
        "outside the lexicons' vocabulary is found only when it reads as plainly as the "
        "synthetic crises it learnt from.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
