"""Train the toxicity head; write ``classifiers/weights/toxicity.safetensors`` and its card.

    python -m classifiers.training.train_toxicity --data ../shared/data

A multi-label head on the shared sentence embedding: ``any`` (the score) and one sigmoid per
label of ``classifiers.results.TOXICITY_LABELS`` (insult, hate, harassment, threat, sexual).
By default ``ENSEMBLE`` torch MLPs of one hidden layer (``--hidden=256``; ``train_torch``,
each kept at its best epoch on full-sentence validation rows) whose logits are averaged into
one wider layer (``train_ensemble``). ``--trainer=sklearn`` trains the previous scikit-learn
MLP (L2 ``ALPHA``, early stopping on a seeded tenth of the train split): lower recall on
DiaSafety bot replies at the same everyday flag rate. ``--hidden=0`` trains one
class-balanced logistic regression per output (C per output on the validation AUPRC): lower
recall still. ``--augment=strip,untag,case`` (or ``all``) adds training copies against
MLMA's surface cues (``Augment``); measured and not shipped (card: "Tried and dropped").
Data, ``ship: yes`` only (the script refuses otherwise):

- MLMA hate tweets, English and French. Hostility types map to labels (see ``mlma_labels``):
  ``hateful`` towards a protected attribute (origin, gender, sexual orientation, religion,
  disability) -> hate; ``offensive``, ``abusive``, ``disrespectful`` -> insult; those aimed at
  an individual (``group`` = individual) -> harassment as well; ``fearful`` trains ``any``
  only; ``normal`` alone -> negative (hard: tweets about the same groups).
- ToxiGen statements: hate -> hate (implicit, about 15 groups); neutral -> negative.
- DiaSafety bot responses: ``Offending User`` unsafe -> insult + harassment; ``Toxicity
  Agreement`` unsafe trains ``any`` only; safe responses (every category) and unsafe ones of
  non-toxic categories (risk ignorance, unauthorised expertise) -> negatives; ``Biased
  Opinion`` unsafe is left out (neither toxic by these labels nor safe).
- XSTest safe prompts (look-alikes: "kill a Python process") -> negatives.
- Everyday chat (Topical-Chat, XPersona French, GoEmotions, XED neutral, XED French) ->
  negatives; its bot-like part (Topical-Chat, XPersona French) calibrates every threshold.

``threat`` and ``sexual`` have no labelled source: they are weak labels, a toxic row (any
label above) whose text matches the English or French word lists ``THREAT`` / ``SEXUAL``.

Splits (``--split-scheme``, ``classifiers.training.splits``): ``normalised-v1`` (the default)
splits every row together by normalised text and by group (a DiaSafety reply with the
contexts it answers, a Topical-Chat conversation); ``exact-hash-v0``, what the shipped head of
2026-12-02 was trained with, hashed each source's exact texts (60/20/20), so near-duplicate
tweets and replies to one context crossed splits. Everyday chat: ``--everyday-cap`` train
rows per source, every validation and test row. Thresholds: per output, the score that at
most 1% of the validation split's bot-like everyday chat reaches, English and French apart
(the higher). Test-split figures (AUPRC, confusion at the threshold, everyday flag rate), English
and French apart, go into the metadata and the card. Nothing here prints a text.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from classifiers.results import TOXICITY_LABELS
from classifiers.training import corpora as C
from classifiers.training.corpora import Lang, Split
from classifiers.training.splits import LEGACY_SCHEME, SCHEME, SCHEMES, check_scheme

OUTPUTS: Final = ("any", *TOXICITY_LABELS)
C_GRID: Final = (0.01, 0.03, 0.1, 0.3)
DEFAULT_HIDDEN: Final = 256
DEFAULT_TRAINER: Final = "torch"
DEFAULT_AUGMENT: Final = "none"
ALPHA: Final = 1e-2
"""L2 strength of the MLP head (``--hidden`` > 0)."""
TORCH_WEIGHT_DECAY: Final = 1e-2
TORCH_DROPOUT: Final = 0.2
TORCH_INPUT_DROPOUT: Final = 0.1
TORCH_EPOCHS: Final = 40
ENSEMBLE: Final = 3
"""Torch nets averaged into the shipped head (``train_ensemble``)."""
FLAG_RATE: Final = 0.01
REPLY_FLAG_RATE: Final = 0.02
"""The most of DiaSafety's safe bot replies (validation) ``any`` may flag. On the test
split (the card's rows), DiaSafety offending-user recall / safe replies to risk disclosures
flagged: no cap (any 0.484) 0.34 / 5.3%; 2% (0.632) 0.24 / 2.1%; 1% (0.721) 0.17 / 0.9%.
2% more than halves the wrongly blocked replies to people in distress and keeps recall above
the first head's (0.22)."""
BOT_WEIGHT: Final = 1.0
"""Weight of a DiaSafety bot response (3 was tried: lower recall at the threshold)."""
BOT_LIKE: Final = frozenset({"topical_chat", "xpersona_fr"})
"""Everyday chat that reads like a chatbot's turns (conversation partners, not Reddit
comments or film subtitles): the thresholds' calibration set."""
PROTECTED: Final = frozenset({"origin", "gender", "sexual_orientation", "religion", "disability"})
THREAT: Final = re.compile(
    r"\b(?:kill|murder|shoot|stab|hang|lynch|burn (?:them|you|u)|beat (?:you|u|them)|"
    r"punch|hurt (?:you|u)|(?:go|should|gonna|will|must) die|exterminat|wipe (?:them|out)|"
    r"gas (?:them|the)|tuer|tue[rz]?\b|crever|crève|creve|buter|flinguer|[ée]gorger|pendre|"
    r"br[uû]ler|frapper|cogner|massacr|extermin|mort aux|à mort|a mort)",
    re.IGNORECASE,
)
SEXUAL: Final = re.compile(
    r"\b(?:slut|whore|hoe|pussy|dick|cock|cunt|rape|rapist|blowjob|suck my|tits|boobs|porn|"
    r"horny|sex|salope|pute|encul|sucer|suce|bite|chatte|viol|baiser|niqu)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TRow:
    text: str
    labels: frozenset[str]
    """Outputs this row is positive for (``any`` included when toxic)."""
    source: str
    lang: Lang
    split: Split
    everyday: bool = False
    subset: str = ""
    """A slice the card reports apart (DiaSafety's categories)."""
    weight: float = 1.0
    augmented: str = ""
    """How this training copy was made from a real row (``augment``); empty for real rows."""
    groups: tuple[str, ...] = ()
    """Related rows (the contexts a DiaSafety reply answers, a conversation)."""


def weak(labels: set[str], text: str) -> frozenset[str]:
    """Add ``any`` and the weak threat / sexual labels to a toxic row's labels."""
    if not labels:
        return frozenset()
    out = set(labels) | {"any"}
    if THREAT.search(text):
        out.add("threat")
    if SEXUAL.search(text):
        out.add("sexual")
    return frozenset(out)


def mlma_labels(sentiment: str, target: str, group: str) -> set[str]:
    """MLMA hostility types (``_``-joined, one per annotator) to this head's labels."""
    kinds = set(sentiment.split("_"))
    out: set[str] = set()
    if "hateful" in kinds and target in PROTECTED:
        out.add("hate")
    if kinds & {"offensive", "abusive", "disrespectful"} or ("hateful" in kinds and not out):
        out.add("insult")
        if group == "individual":
            out.add("harassment")
    if "fearful" in kinds:
        out.add("any")
    return out


EN_STOP_WORDS: Final = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
    yourselves he him his himself she she's her hers herself it it's its itself they them their
    theirs themselves what which who whom this that that'll these those am is are was were be
    been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below
    to from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too
    very s t can will just don don't should should've now d ll m o re ve y ain aren aren't
    couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma
    mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren
    weren't won won't wouldn wouldn't""".split()  # noqa: SIM905
)
"""The common English stop-word list (NLTK's) that MLMA's English tweets had removed."""
FULL_SENTENCE_EN: Final = frozenset({"toxigen", "diasafety", "xstest"})
"""English sources written as full sentences (the everyday chat is as well)."""
TAG: Final = re.compile(r"(?:^|\s)@(?:user|url)\b", re.IGNORECASE)


def strip_stop_words(text: str) -> str:
    """MLMA's English preprocessing as far as it shows: lower case, stop words dropped."""
    kept = [w for w in text.lower().split() if w.strip('.,!?;:"()') not in EN_STOP_WORDS]
    return " ".join(kept)


def untag(text: str) -> str:
    """An MLMA tweet without its ``@user`` / ``@url`` placeholders, first letter upper case:
    nearer to a chat message (neither ever appears in everyday chat)."""
    t = " ".join(TAG.sub(" ", text).split())
    return t[:1].upper() + t[1:]


@dataclass(frozen=True)
class Augment:
    """Training-only copies of real train rows (held-out splits are never touched), so that
    the preprocessing of one source stops being a cue for its labels."""

    strip: bool = True
    """English full-sentence rows (ToxiGen, DiaSafety, XSTest, everyday chat) + a copy with
    MLMA's preprocessing (lower case, stop words removed)."""
    untag: bool = True
    """MLMA tweets + a copy without ``@user`` / ``@url``, sentence case."""
    case: bool = True
    """Every row + a copy in the other case style: lower case if it has capitals, else
    sentence case (MLMA and most ToxiGen rows are lower case, everyday chat is not)."""
    weight: float = 1.0
    """Weight of each copy."""
    full_sentence_weight: float = 1.0
    """Weight of ToxiGen and DiaSafety toxic rows (real full-sentence positives)."""
    extra_fr: int = 0
    """French everyday train rows beyond the cap, per source (negatives; held-out unchanged)."""


NO_AUGMENT: Final = Augment(False, False, False, 1.0, 1.0, 0)
AUGMENT_KINDS: Final = ("strip", "untag", "case")


def parse_augment(spec: str) -> Augment:
    """``none``, ``all`` or a comma list of ``AUGMENT_KINDS`` (``--augment=strip,case``)."""
    kinds = {"all": set(AUGMENT_KINDS), "none": set()}.get(spec, set(spec.split(",")))
    unknown = kinds - set(AUGMENT_KINDS)
    if unknown:
        raise SystemExit(f"--augment: unknown {sorted(unknown)} (none, all or {AUGMENT_KINDS})")
    return Augment("strip" in kinds, "untag" in kinds, "case" in kinds)


def augment_name(how: Augment) -> str:
    kinds = [k for k in AUGMENT_KINDS if getattr(how, k)]
    return ",".join(kinds) or "none"


def augment(rows: list[TRow], data: Path, how: Augment, scheme: str = SCHEME) -> list[TRow]:
    """``rows`` reweighted, plus the training copies ``how`` asks for (split ``train``)."""
    from dataclasses import replace

    seen = {r.text for r in rows}
    out: list[TRow] = []
    for r in rows:
        if r.split == "train" and r.labels and r.source in ("toxigen", "diasafety"):
            r = replace(r, weight=r.weight * how.full_sentence_weight)
        out.append(r)
    extra: list[TRow] = []

    def copy(r: TRow, text: str, kind: str) -> None:
        if text and text not in seen:
            seen.add(text)
            extra.append(replace(r, text=text, augmented=kind, weight=how.weight * r.weight))

    for r in out:
        if r.split != "train":
            continue
        if how.strip and r.lang == "en" and (r.everyday or r.source in FULL_SENTENCE_EN):
            copy(r, strip_stop_words(r.text), "strip")
        if how.untag and r.source == "mlma":
            copy(r, untag(r.text), "untag")
        if how.case:
            low = r.text.lower()
            copy(r, low if low != r.text else r.text[:1].upper() + r.text[1:], "case")
    if how.extra_fr:
        day = [d for d in C.everyday(data, C.CORPUS_SEED, scheme) if d.lang == "fr"]
        day = [d for d in day if d.split == "train"]
        for source in sorted({d.source for d in day}):
            for d in [d for d in day if d.source == source][: how.extra_fr]:
                t = d.text.strip()
                if t and t not in seen:
                    seen.add(t)
                    extra.append(TRow(t, frozenset(), source, "fr", "train", True, "", 1.0, "more"))
    return out + extra


def _split(source: str, text: str, seed: int) -> Split:
    return C.hash_split(source, text, seed)


def _normalised_splits(
    labelled: Sequence[TRow], day: Sequence[C.Row], seed: int
) -> tuple[list[TRow], list[C.Row]]:
    """``SCHEME`` splits of the labelled rows and the everyday chat, made together (a tweet
    and a chat line with one normalised text fall in one split); rows whose text is held out
    further elsewhere are left out."""
    from dataclasses import replace

    from classifiers.training.splits import assign_splits

    items = [(r.text, r.groups, None) for r in labelled]
    items += [(r.text, r.groups, None) for r in day]
    splits = assign_splits(items, seed)
    n = len(labelled)
    rows = [replace(r, split=s) for r, s in zip(labelled, splits[:n], strict=True) if s]
    chat = [replace(r, split=s) for r, s in zip(day, splits[n:], strict=True) if s]
    return rows, chat


def load_rows(
    data: Path,
    seed: int,
    cap: int,
    bot_weight: float = 1.0,
    heldout_all: bool = False,
    scheme: str = SCHEME,
) -> list[TRow]:
    """The labelled rows and the everyday chat (``cap`` rows per source; with
    ``heldout_all``, ``cap`` train rows per source and every validation and test row, so
    that thresholds and flag rates rest on all the held-out everyday chat), split under
    ``scheme`` with ``seed``."""
    from classifiers.data import dataset_info, load_diasafety

    for folder in ("mlma_hate", "toxigen", "diasafety", "xstest"):
        if not dataset_info(data, folder).ship:
            raise SystemExit(f"refusing: {folder} is not ship: yes")
    check_scheme(scheme)
    rows: list[TRow] = []
    seen: set[str] = set()
    pairs = load_diasafety(data)
    contexts = C.dia_reply_groups(pairs)

    def add(
        text: str,
        labels: set[str],
        source: str,
        lang: Lang,
        subset: str = "",
        weight: float = 1.0,
        groups: tuple[str, ...] = (),
    ) -> None:
        t = text.strip()
        if not t or t in seen:
            return
        seen.add(t)
        split = _split(source, t, seed)
        rows.append(
            TRow(t, weak(labels, t), source, lang, split, False, subset, weight, "", groups)
        )

    for lang in ("en", "fr"):
        for r in C._csv(data / "mlma_hate" / f"{lang}_dataset.csv"):
            add(r["tweet"], mlma_labels(r["sentiment"], r["target"], r["group"]), "mlma", lang)
    for r in C._csv(data / "toxigen" / "statements.csv"):
        add(r["text"], {"hate"} if r["label"] == "hate" else set(), "toxigen", "en")
    for p in pairs:
        if p.category == "Biased Opinion" and p.label == "Unsafe":
            continue
        labels: set[str] = set()
        subset = "diasafety:" + p.category.lower().replace(" ", "_")
        if p.label == "Unsafe" and p.category == "Offending User":
            labels = {"insult", "harassment"}
        elif p.label == "Unsafe" and p.category == "Toxicity Agreement":
            labels = {"any"}
        add(p.response, labels, "diasafety", "en", subset, bot_weight, contexts[p.response.strip()])
    for r in C._csv(data / "xstest" / "xstest_prompts.csv"):
        if r["label"] == "safe":
            add(r["prompt"], set(), "xstest", "en")
    day = C.everyday(data, C.CORPUS_SEED, LEGACY_SCHEME)
    if scheme != LEGACY_SCHEME:
        rows, day = _normalised_splits(rows, day, seed)
    for source in sorted({r.source for r in day}):
        mine = [d for d in day if d.source == source]
        if heldout_all:
            mine = [d for d in mine if d.split == "train"][:cap] + [
                d for d in mine if d.split != "train"
            ]
        for d in mine if heldout_all else mine[:cap]:
            t = d.text.strip()
            if t and t not in seen:
                seen.add(t)
                rows.append(TRow(t, frozenset(), source, d.lang, d.split, True, groups=d.groups))
    return rows


Matrix = npt.NDArray[np.float32]


def fpr_threshold(scores: npt.NDArray[np.float64], rate: float) -> float:
    from classifiers.training.common import fpr_threshold as f

    return float(f(scores.astype(np.float32), rate))


def report(y: npt.NDArray[np.bool_], s: npt.NDArray[np.float64], t: float) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    pred = s >= t
    out: dict[str, Any] = {
        "n": len(y),
        "positives": int(y.sum()),
        "tp": int((pred & y).sum()),
        "fp": int((pred & ~y).sum()),
        "fn": int((~pred & y).sum()),
        "tn": int((~pred & ~y).sum()),
    }
    if 0 < y.sum() < len(y):
        out["auprc"] = round(float(average_precision_score(y, s)), 4)
        out["auroc"] = round(float(roc_auc_score(y, s)), 4)
    if y.any():
        out["recall"] = round(float(pred[y].mean()), 4)
    if (~y).any():
        out["flag_rate_negatives"] = round(float(pred[~y].mean()), 4)
    return out


def train(
    rows: list[TRow], x: Matrix, seed: int, progress: bool
) -> tuple[Matrix, Matrix, dict[str, Any]]:
    """One logistic regression per output; returns stacked (W, b) and selection notes."""
    from tqdm import tqdm

    from classifiers.training.train_message_heads import fit, proba

    split = np.asarray([r.split for r in rows])
    tr, va = split == "train", split == "val"
    w_one = np.asarray([r.weight for r in rows], dtype=np.float64)
    ws: list[Matrix] = []
    bs: list[Matrix] = []
    notes: dict[str, Any] = {}
    for out in tqdm(OUTPUTS, desc="outputs", disable=not progress):
        y = np.asarray([out in r.labels for r in rows], dtype=np.int64)
        best: tuple[float, float, tuple[Matrix, Matrix]] | None = None
        tried = []
        for c in C_GRID:
            wb = fit(x[tr], y[tr], w_one[tr], c, seed)
            ap = report(y[va] == 1, proba(wb, x[va]), 0.5).get("auprc", 0.0)
            tried.append({"c": c, "val_auprc": ap})
            if best is None or ap > best[0]:
                best = (ap, c, wb)
        assert best is not None
        ws.append(best[2][0])
        bs.append(best[2][1])
        notes[out] = {"c": best[1], "tried": tried, "n_train_positive": int(y[tr].sum())}
    return np.concatenate(ws, axis=1), np.concatenate(bs), notes


def train_mlp(
    rows: list[TRow], x: Matrix, hidden: int, seed: int, alpha: float = ALPHA
) -> tuple[tuple[Matrix, ...], tuple[Matrix, ...], dict[str, Any]]:
    """A one-hidden-layer multi-label MLP (sigmoid outputs) on standardised inputs, folded."""
    from sklearn.neural_network import MLPClassifier

    from classifiers.heads import fold_standardisation
    from classifiers.training.common import fit_scaler

    split = np.asarray([r.split for r in rows])
    tr = split == "train"
    y = np.asarray([[o in r.labels for o in OUTPUTS] for r in rows], dtype=np.int64)
    scaler = fit_scaler(x[tr])
    clf = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        alpha=alpha,
        early_stopping=True,
        validation_fraction=0.1,
        max_iter=200,
        random_state=seed,
    )
    w = np.asarray([r.weight for r in rows], dtype=np.float64)[tr]
    clf.fit(scaler.transform(x[tr]), y[tr], sample_weight=w if (w != 1.0).any() else None)
    w0, b0 = fold_standardisation(
        clf.coefs_[0].astype(np.float32),
        clf.intercepts_[0].astype(np.float32),
        scaler.mean_.astype(np.float32),
        scaler.scale_.astype(np.float32),
    )
    ws = (w0, clf.coefs_[1].astype(np.float32))
    bs = (b0, clf.intercepts_[1].astype(np.float32))
    notes = {o: {"c": f"mlp alpha {alpha}", "n_train_positive": int(y[tr, j].sum())}
             for j, o in enumerate(OUTPUTS)}  # fmt: skip
    return ws, bs, notes


def train_torch(
    rows: list[TRow],
    x: Matrix,
    hidden: int,
    seed: int,
    *,
    weight_decay: float = TORCH_WEIGHT_DECAY,
    dropout: float = TORCH_DROPOUT,
    input_dropout: float = TORCH_INPUT_DROPOUT,
    epochs: int = TORCH_EPOCHS,
) -> tuple[tuple[Matrix, ...], tuple[Matrix, ...], dict[str, Any]]:
    """A one-hidden-layer multi-label MLP in torch (sigmoid outputs, weighted BCE, AdamW,
    dropout on the input and the hidden layer) on standardised inputs, folded into plain
    matrices. The epoch kept is the one with the best mean validation AUPRC of ``any`` over
    English full-sentence rows (everything but MLMA's preprocessed tweets) and French rows:
    the bot messages this head is for, not MLMA's surface cues."""
    import torch
    from sklearn.metrics import average_precision_score

    from classifiers.heads import fold_standardisation
    from classifiers.training.common import fit_scaler

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # reproducible sums; the head is small
    split = np.asarray([r.split for r in rows])
    tr = split == "train"
    lang = np.asarray([r.lang for r in rows])
    src = np.asarray([r.source for r in rows])
    picks = [(split == "val") & (lang == "en") & (src != "mlma"), (split == "val") & (lang == "fr")]
    y = np.asarray([[o in r.labels for o in OUTPUTS] for r in rows], dtype=np.float32)
    w = np.asarray([r.weight for r in rows], dtype=np.float32)
    scaler = fit_scaler(x[tr])
    xs = scaler.transform(x).astype(np.float32)
    x_tr, y_tr, w_tr = torch.from_numpy(xs[tr]), torch.from_numpy(y[tr]), torch.from_numpy(w[tr])
    x_all = torch.from_numpy(xs)
    first, last = torch.nn.Linear(x.shape[1], hidden), torch.nn.Linear(hidden, len(OUTPUTS))
    net = torch.nn.Sequential(
        torch.nn.Dropout(input_dropout), first, torch.nn.ReLU(), torch.nn.Dropout(dropout), last
    )
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=weight_decay)
    loss_f = torch.nn.BCEWithLogitsLoss(reduction="none")
    gen = torch.Generator().manual_seed(seed)
    best: tuple[float, int, dict[str, Any]] | None = None
    tried = []
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_tr), generator=gen)
        for i in range(0, len(order), 128):
            b = order[i : i + 128]
            opt.zero_grad()
            loss = (loss_f(net(x_tr[b]), y_tr[b]).mean(1) * w_tr[b]).sum() / w_tr[b].sum()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            p = torch.sigmoid(net(x_all)).numpy()
        ap = float(np.mean([average_precision_score(y[m, 0], p[m, 0]) for m in picks]))
        tried.append(round(ap, 4))
        if best is None or ap > best[0]:
            best = (ap, epoch, {k: v.clone() for k, v in net.state_dict().items()})
    assert best is not None
    net.load_state_dict(best[2])
    w0, b0 = fold_standardisation(
        first.weight.detach().numpy().T.astype(np.float32),
        first.bias.detach().numpy().astype(np.float32),
        scaler.mean_.astype(np.float32),
        scaler.scale_.astype(np.float32),
    )
    ws = (w0, last.weight.detach().numpy().T.astype(np.float32).copy())
    bs = (b0, last.bias.detach().numpy().astype(np.float32).copy())
    what = f"torch mlp, weight decay {weight_decay}, dropout {input_dropout}/{dropout}"
    notes: dict[str, Any] = {
        o: {"c": what, "n_train_positive": int(y[tr, j].sum())} for j, o in enumerate(OUTPUTS)
    }
    notes["any"]["epoch"] = best[1] + 1
    notes["any"]["val_auprc_by_epoch"] = tried
    return ws, bs, notes


def train_ensemble(
    rows: list[TRow], x: Matrix, hidden: int, seed: int, members: int = ENSEMBLE
) -> tuple[tuple[Matrix, ...], tuple[Matrix, ...], dict[str, Any]]:
    """``members`` ``train_torch`` nets (seeds ``seed``, ``seed + 1``...) as one MLP whose
    logits are their mean: hidden layers side by side, output layers divided by ``members``
    and stacked. Still one hidden layer (``members * hidden`` wide); the mean tames the
    seed-to-seed spread of a small head whose threshold sits in the tail of everyday chat."""
    parts = [train_torch(rows, x, hidden, seed + k) for k in range(members)]
    ws, bs = mean_of_nets([(w, b) for w, b, _ in parts])
    notes = parts[0][2]
    notes["any"]["epoch"] = [n["any"]["epoch"] for _, _, n in parts]
    notes["any"]["val_auprc_by_epoch"] = [n["any"]["val_auprc_by_epoch"] for _, _, n in parts]
    return ws, bs, notes


def mean_of_nets(
    nets: Sequence[tuple[tuple[Matrix, ...], tuple[Matrix, ...]]],
) -> tuple[tuple[Matrix, Matrix], tuple[Matrix, Matrix]]:
    """One-hidden-layer nets ``(weights, biases)`` as one net whose logits are their mean."""
    k = len(nets)
    w0 = np.concatenate([w[0] for w, _ in nets], axis=1).astype(np.float32)
    w1 = (np.concatenate([w[1] for w, _ in nets], axis=0) / k).astype(np.float32)
    b0 = np.concatenate([b[0] for _, b in nets]).astype(np.float32)
    b1 = (np.sum([b[1] for _, b in nets], axis=0) / k).astype(np.float32)
    return (w0, w1), (b0, b1)


def evaluate(rows: list[TRow], p: Matrix, thresholds: dict[str, float]) -> dict[str, Any]:
    """Test-split figures per language: AUPRC per output, confusion of the flag (``any``
    over its threshold), everyday flag rate, XSTest look-alike flag rate."""
    out: dict[str, Any] = {}
    split = np.asarray([r.split for r in rows])
    flagged = p[:, 0] >= thresholds["any"]
    for lg in ("en", "fr"):
        lang = np.asarray([r.lang == lg for r in rows]) & (split == "test")
        res: dict[str, Any] = {}
        y_any = np.asarray([bool(r.labels) for r in rows])
        res["any"] = report(y_any[lang], p[lang, 0].astype(np.float64), thresholds["any"])
        for j, name in enumerate(OUTPUTS[1:], start=1):
            y = np.asarray([name in r.labels for r in rows])
            if y[lang].any():
                r = report(y[lang], p[lang, j].astype(np.float64), thresholds[name])
                res[name] = {k: r[k] for k in ("positives", "auprc", "recall") if k in r}
        bot_like = lang & np.asarray([r.source in BOT_LIKE for r in rows])
        res["everyday"] = {
            "n": int(bot_like.sum()),
            "flag_rate": round(float(flagged[bot_like].mean()), 4),
        }
        for src in sorted({r.source for r in rows if r.lang == lg and r.everyday}):
            m = lang & np.asarray([r.source == src for r in rows])
            res[f"everyday:{src}"] = {
                "n": int(m.sum()),
                "flag_rate": round(float(flagged[m].mean()), 4),
            }
        for src in sorted({r.source for r in rows if r.lang == lg and not r.everyday}):
            m = lang & np.asarray([r.source == src for r in rows])
            y = y_any[m]
            res[f"source:{src}"] = report(y, p[m, 0].astype(np.float64), thresholds["any"])
        for sub in sorted({r.subset for r in rows if r.lang == lg and r.subset}):
            m = lang & np.asarray([r.subset == sub for r in rows])
            res[f"source:{sub}"] = report(y_any[m], p[m, 0].astype(np.float64), thresholds["any"])
        out[lg] = res
    return out


HISTORY: Final = (
    "## Changes from the previous head (2026-12-02, first version)",
    "Same test split, every held-out everyday row counted "
    "(`python -m benchmarks.toxicity_quality --all-heldout-everyday` on each head). Previous: "
    "scikit-learn MLP of 256, thresholds on the first 2000 everyday rows per source "
    "(462 English bot-like validation rows: a 1% quantile resting on 4 texts); now: more "
    "everyday train rows, thresholds on every validation row (1283 English, 790 French), "
    "torch nets chosen on full-sentence validation rows, three averaged.",
    "",
    "| figure (test) | previous | these nets, everyday cap only | this head (replies cap) |",
    "| --- | --- | --- | --- |",
    "| `any` threshold | 0.661 | 0.484 | 0.632 |",
    "| DiaSafety `offending_user` recall | 0.218 | 0.340 | 0.244 |",
    "| DiaSafety `toxicity_agreement` recall | 0.206 | 0.379 | 0.243 |",
    "| DiaSafety safe replies to risk disclosures flagged | n/a | 5.3% | 2.1% |",
    "| DiaSafety, safe replies flagged | 2.2% | 4.4% | 2.0% |",
    "| ToxiGen hate recall | 0.676 | 0.912 | 0.75 |",
    "| AUPRC `any` EN / FR | 0.848 / 0.881 | 0.864 / 0.898 | 0.864 / 0.898 |",
    "| everyday bot-like flagged EN / FR | 0.50% / 0.00% | 0.50% / 0.12% | 0.17% / 0.12% |",
    "| GoEmotions (Reddit) flagged | 2.97% | 5.85% | 2.23% |",
    "",
    "The replies cap (`REPLY_FLAG_RATE`, 2% of DiaSafety's safe validation replies) was added "
    'after a review: at 0.484, supportive replies such as "I\'m right with you" were blocked '
    "as harassment in conversations with people at risk.",
    "",
    "Tried and dropped (same splits, `--augment`): training copies that remove MLMA's "
    "surface cues (English full sentences with MLMA's stop words removed, MLMA without "
    "`@user`, every row in the other case style) raised `offending_user` recall to about "
    "0.5 but flagged 1.3-2.2% of the English everyday test chat (over the 1% target, "
    "calibrated on validation) and 12% of GoEmotions; weighting ToxiGen and DiaSafety "
    "positives 2-3x, hidden 64/128/512 and stronger regularisation did no better.",
)
"""The card's account of what changed, measured by hand on the shipped heads (update it with
each retraining that changes the figures)."""


def card(meta: dict[str, Any]) -> str:
    m = meta["metrics"]
    thr = meta["thresholds"]
    lines = [
        "# Model card: toxicity head",
        "",
        f"File: `toxicity.safetensors` ({meta['n_parameters']} parameters, float32, "
        + (f"one hidden layer of {meta['hidden']}, ReLU" if meta.get("hidden") else "linear")
        + (
            f": {meta['ensemble']} nets of {meta['hidden'] // meta['ensemble']} side by side, "
            "their logits averaged"
            if meta.get("ensemble", 1) > 1
            else ""
        )
        + "). "
        f"Trained {meta['trained_at']} by `python -m classifiers.training.train_toxicity` "
        f"(seed {meta['seed']}, split seed {meta['split_seed']}, scheme "
        f"{meta.get('split', {}).get('scheme', LEGACY_SCHEME)}). Encoder: {meta['encoder']} "
        f"(`{meta['encoder_name']}`, {meta['dim']}-d).",
        "",
        "## What it does",
        "Scores a bot (or user) message for toxicity: `score` is the `any` sigmoid; `labels` "
        "among `insult`, `hate` (a protected group), `harassment` (aimed at a person, the user "
        "included), `threat`, `sexual` (sexual insults and harassment; the minors rule, "
        "`sexual_content`, is separate and unchanged). A message is `flagged` when `any` "
        "reaches its threshold; its labels are those passing their own thresholds, else the "
        "most probable one. Cost: "
        + (
            f"a {meta['dim']}x{meta['hidden']} and a {meta['hidden']}x{len(OUTPUTS)} matrix "
            "product per text (`python -m benchmarks.toxicity_speed`, `benchmarks/"
            "classifier_speed.py`: 1.4-2% of the encoder's time for one message, about 3% "
            "with the stack's per-result work, under 1% in batches of 16 or more; target "
            "under 5%)."
            if meta.get("hidden")
            else f"one {meta['dim']}x{len(OUTPUTS)} matrix product per text."
        ),
        "",
        "## Data (ship: yes only) and label mapping",
        "- MLMA hate tweets (MIT), English and French. Hostility types (one per annotator, "
        "`_`-joined) map as: `hateful` with target origin / gender / sexual_orientation / "
        "religion / disability -> **hate**; `offensive`, `abusive`, `disrespectful` (or "
        "`hateful` with target `other`) -> **insult**, and also **harassment** when the "
        "tweet's `group` is `individual`; `fearful` trains `any` only; `normal` alone -> "
        "negative.",
        "- ToxiGen statements (MIT): `hate` -> **hate** (implicit hate, 15 groups); "
        "`neutral` -> negative (hard: neutral statements about the same groups).",
        "- DiaSafety bot responses (Apache-2.0): `Offending User` unsafe -> **insult** + "
        "**harassment**; `Toxicity Agreement` unsafe -> `any` only; safe responses and the "
        "unsafe ones of non-toxic categories -> negative; `Biased Opinion` unsafe left out. "
        f"Each response weighs {meta['bot_weight']} (real bot messages, the head's purpose).",
        "- XSTest (CC BY 4.0): safe look-alike prompts -> negative.",
        "- Everyday chat (Topical-Chat, XPersona French, GoEmotions, XED neutral and French; "
        f"at most {meta['everyday_cap']} train rows per source"
        + (
            ", every validation and test row"
            if meta.get("everyday_heldout_all")
            else " in all splits together"
        )
        + ") -> negative; its validation rows are the threshold calibration set.",
        "- **threat** and **sexual** are weak labels: a toxic row (any label above) whose text "
        "matches the word lists `THREAT` / `SEXUAL` of the training script (EN + FR). No "
        "public shipped set labels them; their figures measure agreement with those lists.",
        f"Train rows {meta['n_train']}; positives per output: "
        + ", ".join(f"{k} {v['n_train_positive']}" for k, v in meta["selection"].items())
        + (
            f". {meta['ensemble']} torch MLPs (seeds {meta['seed']}.."
            f"{meta['seed'] + meta['ensemble'] - 1}; BCE, AdamW weight decay "
            f"{TORCH_WEIGHT_DECAY}, dropout {TORCH_INPUT_DROPOUT} on the input and "
            f"{TORCH_DROPOUT} on the hidden layer, batches of 128, at most {TORCH_EPOCHS} "
            "epochs), each kept at the epoch with the best validation AUPRC of `any` on English "
            "full-sentence rows (all but MLMA) and French rows (epochs "
            f"{meta['selection']['any'].get('epoch')}). Training copies: "
            f"{meta.get('augment', 'none')} ({meta.get('n_augmented', 0)} rows; `--augment`)."
            if meta.get("trainer") == "torch"
            else f". MLP, L2 alpha {ALPHA}, early stopping on a seeded tenth of the train rows; "
            "a linear head (`--hidden=0`) had lower recall at the same flag rate."
            if meta.get("hidden")
            else ". C per output from "
            f"{list(C_GRID)} on validation AUPRC: "
            + ", ".join(f"{k} {v['c']}" for k, v in meta["selection"].items())
            + "."
        ),
        "",
        "## Thresholds",
        f"Per output, the score that at most {100 * FLAG_RATE:.0f}% of the validation split's "
        "everyday bot-like chat (Topical-Chat turns in English, XPersona turns in French) "
        "reaches, English and French apart (the higher of the two): "
        + ", ".join(f"`{k}` = {v:.4f}" for k, v in thr.items())
        + f". Validation everyday flag rate (any): {meta['val_everyday_flag_rate']}. "
        f"`any` is also at least the score that at most {100 * REPLY_FLAG_RATE:.0f}% of "
        "DiaSafety's safe bot replies (validation) reach: replies in emotional conversations "
        "score higher than everyday chat, and a reply to a person in distress should not be "
        "blocked as toxic (see REPLY_FLAG_RATE in the training script for the trade-off).",
        "",
        "## Held-out test figures, English and French apart",
    ]
    for lg in ("en", "fr"):
        r = m[lg]
        a = r["any"]
        lines += [
            "",
            f"### {lg.upper()}",
            f"- `any` (flag): n={a['n']}, positives {a['positives']}, AUPRC "
            f"{a.get('auprc', 'n/a')}, recall {a.get('recall', 'n/a')}; confusion at the "
            f"threshold tp/fp/fn/tn {a['tp']}/{a['fp']}/{a['fn']}/{a['tn']}.",
            f"- everyday bot-like chat flagged: {100 * r['everyday']['flag_rate']:.2f}% "
            f"(n={r['everyday']['n']}); per everyday source: "
            + ", ".join(
                f"{k[9:]} {100 * v['flag_rate']:.2f}% (n={v['n']})"
                for k, v in r.items()
                if k.startswith("everyday:")
            )
            + ".",
            "- per label (AUPRC, recall at its threshold, positives): "
            + "; ".join(
                f"{k} {v.get('auprc', 'n/a')}, {v.get('recall', 'n/a')}, {v['positives']}"
                for k, v in r.items()
                if k in TOXICITY_LABELS
            )
            + ".",
            "",
            "| source | n | positives | AUPRC | recall | flagged negatives | tp/fp/fn/tn |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for k, v in r.items():
            if k.startswith("source:"):
                lines.append(
                    f"| {k[7:]} | {v['n']} | {v['positives']} | {v.get('auprc', 'n/a')} | "
                    f"{v.get('recall', 'n/a')} | {v.get('flag_rate_negatives', 'n/a')} | "
                    f"{v['tp']}/{v['fp']}/{v['fn']}/{v['tn']} |"
                )
    lines += ["", *HISTORY]
    lines += [
        "",
        "## Limits",
        "- Full sentences still score lower than tweets: the head leans on MLMA's surface "
        "(lower case, `@user`, stop words removed in English) as much as on content; recall on "
        "bot messages is the DiaSafety `offending_user` row above (about a third), not MLMA's. "
        "French has no full-sentence toxic training text at all (MLMA tweets only): short "
        "French insults in chat style are mostly missed.",
        "- A small head on a frozen encoder, calibrated for <= 1% flags on everyday chat: "
        "recall is traded for not blocking ordinary messages. Policies can lower the bar per "
        "label and per language (`rules.toxicity`).",
        "- MLMA's `normal` tweets are mostly flagged (table above): many are hostile in tone "
        "though one annotator called them normal; they are not everyday chat.",
        "- DiaSafety `toxicity_agreement` responses agree with a toxic user message and are "
        'often harmless alone ("Yes, I think so"): a head that sees one message cannot catch '
        "them; `offending_user` is the figure for bots rude to the user.",
        "- MLMA tweets are pre-processed (stop words removed, `@user`/`@url`), unlike bot "
        "messages; French positives come from MLMA only.",
        "- `threat` and `sexual` rest on word lists (weak labels): treat their scores as a "
        "hint, not a measured classifier.",
        "- Detoxify, when an operator configures a checkpoint, fuses by the maximum "
        "(`classifiers.toxicity.fuse`).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from classifiers.toxicity import TOXICITY_WEIGHTS
    from classifiers.training.common import (
        embedding_cache,
        encoder_metadata,
        parse_args,
        set_seeds,
    )

    given = list(argv if argv is not None else sys.argv[1:])
    own = {
        "--hidden": str(DEFAULT_HIDDEN),
        "--trainer": DEFAULT_TRAINER,
        "--augment": "",
        "--split-scheme": SCHEME,
    }
    for a in given:
        key, _, value = a.partition("=")
        if key in own:
            own[key] = value
    rest = [a for a in given if a.partition("=")[0] not in own]
    args = parse_args(__doc__ or "", TOXICITY_WEIGHTS, rest)
    args.hidden = int(own["--hidden"])
    if own["--trainer"] not in ("torch", "sklearn"):
        raise SystemExit("--trainer=torch or --trainer=sklearn")
    how = parse_augment(own["--augment"] or DEFAULT_AUGMENT)
    scheme = own["--split-scheme"]
    if scheme not in SCHEMES:
        raise SystemExit(f"--split-scheme: one of {SCHEMES}")
    set_seeds(args.seed)
    progress = not args.quiet
    rows = augment(
        load_rows(
            args.data, C.CORPUS_SEED, args.everyday_cap, BOT_WEIGHT, heldout_all=True, scheme=scheme
        ),
        args.data,
        how,
        scheme,
    )
    cache = embedding_cache(args.cache, args.precision, args.device, args.encoder, args.threads)
    x = cache.encode_documents([r.text for r in rows], progress=progress)
    cache.save()
    from classifiers.heads import MLPHead

    if args.hidden and own["--trainer"] == "torch":
        ws, bs, notes = train_ensemble(rows, x, args.hidden, args.seed)
    elif args.hidden:
        ws, bs, notes = train_mlp(rows, x, args.hidden, args.seed)
    else:
        w, b, notes = train(rows, x, args.seed, progress)
        ws, bs = (w.astype(np.float32),), (b.astype(np.float32),)
    p = MLPHead(ws, bs, OUTPUTS, (), True).predict_proba(x)
    split = np.asarray([r.split for r in rows])
    thresholds: dict[str, float] = {}
    by_lang: dict[str, dict[str, float]] = {}
    val_day: Callable[[str], npt.NDArray[np.bool_]] = lambda lg: (  # noqa: E731
        (split == "val") & np.asarray([r.source in BOT_LIKE and r.lang == lg for r in rows])
    )
    for j, name in enumerate(OUTPUTS):
        per = {
            lg: fpr_threshold(p[val_day(lg), j].astype(np.float64), FLAG_RATE)
            for lg in ("en", "fr")
        }
        by_lang[name] = per
        thresholds[name] = max(per.values())
    # Real bot replies in emotional conversations (DiaSafety's safe ones, validation split)
    # are held to REPLY_FLAG_RATE: a reply to a person in distress ("I'm right with you")
    # must not be blocked as harassment because everyday chat is gentler than such replies.
    safe_replies = (split == "val") & np.asarray(
        [r.source == "diasafety" and not r.labels for r in rows]
    )
    replies_bar = fpr_threshold(p[safe_replies, 0].astype(np.float64), REPLY_FLAG_RATE)
    thresholds["any"] = max(thresholds["any"], replies_bar)
    val_rates = {
        lg: round(float((p[val_day(lg), 0] >= thresholds["any"]).mean()), 4) for lg in ("en", "fr")
    }
    meta: dict[str, Any] = {
        "head": "toxicity",
        **encoder_metadata(cache),
        "seed": args.seed,
        "split_seed": C.CORPUS_SEED,
        "split": {"scheme": scheme, "seed": C.CORPUS_SEED, "everyday_cap": args.everyday_cap},
        "trained_at": datetime.now(UTC).date().isoformat(),
        "thresholds": thresholds,
        "language_thresholds": by_lang,
        "flag_rate_target": FLAG_RATE,
        "any_also_capped_on": f"DiaSafety safe bot replies (validation) at {REPLY_FLAG_RATE}",
        "everyday_cap": args.everyday_cap,
        "everyday_heldout_all": True,
        "trainer": own["--trainer"] if args.hidden else "logistic",
        "augment": augment_name(how),
        "n_augmented": sum(1 for r in rows if r.augmented),
        "bot_weight": BOT_WEIGHT,
        "n_train": int((split == "train").sum()),
        "selection": notes,
        "val_everyday_flag_rate": val_rates,
        "metrics": evaluate(rows, p, thresholds),
        "cue_score": 1.0,
    }
    meta["hidden"] = int(ws[0].shape[1]) if args.hidden else 0
    meta["ensemble"] = ENSEMBLE if args.hidden and own["--trainer"] == "torch" else 1
    head = MLPHead(ws, bs, OUTPUTS, (), True, meta)
    meta["n_parameters"] = head.n_parameters()
    head = MLPHead(head.weights, head.biases, OUTPUTS, (), True, meta)
    head.save(args.out)
    args.out.with_suffix(".md").write_text(card(meta), encoding="utf-8")
    print(json.dumps({k: meta[k] for k in ("thresholds", "metrics")}, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
