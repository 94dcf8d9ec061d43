"""Short-text corpora for the per-message heads, read from ``../shared/data``, split by seed.

Every row is a ``Row``: text, binary label for the task, source set, language, split, weight,
whether the source may train shipped weights (``ship``, from the data README), and the groups
it belongs to (a conversation, a DiaSafety context, a C-SSRS user). Splits come from
``classifiers.training.splits`` under a named scheme: ``SCHEME`` (the default, by normalised
text and group across every source of a corpus, ``resplit``) or ``LEGACY_SCHEME`` (a seeded
hash of (source, exact text or id), what the shipped heads of 2026-12-02 were trained with).
Nothing here prints a text.

Sources and their role (self-harm per message):

- AILuminate en_US: ``ssh`` prompts positive, the other 11 hazards hard negatives.
- SimpleSafetyTests: the self-harm / eating-disorder area positive, other areas negative.
- XSTest: unsafe prompts about suicide or self-harm positive; safe look-alikes negative.
- DiaSafety: ``Risk Ignorance`` contexts positive, other contexts negative.
- C-SSRS posts: ideation-or-worse users' posts positive, others negative, down-weighted
  (long Reddit posts, weak post labels), split by user.
- Everyday chat (negatives, and the held-out calibration of every threshold): GoEmotions,
  Topical-Chat, XED neutral lines (English); XPersona French turns and XED French lines.
- IRF ``belong`` (loneliness): measure-only, never trains (``ship`` false).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

from classifiers.data import (
    SPLIT_SEED,
    DiaSafetyPair,
    dataset_info,
    load_cssrs,
    load_diasafety,
    split_users,
)
from classifiers.labels import AT_RISK_FROM, severity_index
from classifiers.training.splits import FRACTIONS as FRACTIONS
from classifiers.training.splits import LEGACY_SCHEME as LEGACY_SCHEME
from classifiers.training.splits import SCHEME as SCHEME
from classifiers.training.splits import Split as Split
from classifiers.training.splits import assign_splits, check_scheme, legacy_split, text_key

Lang = Literal["en", "fr"]
CORPUS_SEED: Final = 20261202
"""Seed of every split here; changing it changes every reported figure."""
CSSRS_WEIGHT: Final = 0.15
"""Per-post weight of C-SSRS posts: long posts with weak labels, not short chat."""
EVERYDAY_CAP: Final = 6000
"""Rows kept per everyday source (seeded), so each encoder pass fits in minutes."""

SELF_HARM_WORDS: Final = re.compile(
    r"suicid|self[- ]?harm|kill (?:myself|yourself|themselves|himself|herself)|"
    r"cut(?:ting)? (?:myself|yourself)|overdos|end (?:my|your) life|anorex|bulimi|starv",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Row:
    text: str
    label: int
    source: str
    lang: Lang
    split: Split
    weight: float = 1.0
    ship: bool = True
    everyday: bool = False
    """Everyday chat: the rows thresholds are calibrated on."""
    groups: tuple[str, ...] = ()
    """Related rows (a conversation, a context, a user): never in two splits."""
    fixed: bool = False
    """The split comes from the source (a user split, a test file) and ``resplit`` keeps it."""


def hash_split(source: str, group: str, seed: int = CORPUS_SEED) -> Split:
    """The legacy split of one group (or exact text) of one source (``LEGACY_SCHEME``)."""
    return legacy_split(source, group, seed, FRACTIONS)


def dia_group(context: str) -> str:
    """The group of a DiaSafety pair: its user message, normalised (replies to near-identical
    openers count as one conversation)."""
    return "diasafety:" + text_key(context)


def dia_reply_groups(pairs: Iterable[DiaSafetyPair]) -> dict[str, tuple[str, ...]]:
    """A DiaSafety reply (stripped text) -> the groups of every context it answers."""
    out: dict[str, set[str]] = {}
    for p in pairs:
        out.setdefault(p.response.strip(), set()).add(dia_group(p.context))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def resplit(rows: Sequence[Row], seed: int, scheme: str) -> list[Row]:
    """``rows`` under ``scheme``: unchanged for ``LEGACY_SCHEME``; for ``SCHEME``, split
    together by normalised text and group (``splits.assign_splits``; fixed rows keep their
    split), rows whose text is held out further elsewhere left out."""
    if check_scheme(scheme) == LEGACY_SCHEME:
        return list(rows)
    splits = assign_splits([(r.text, r.groups, r.split if r.fixed else None) for r in rows], seed)
    return [replace(r, split=s) for r, s in zip(rows, splits, strict=True) if s is not None]


def _csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _rows(
    source: str,
    items: Iterable[tuple[str, int, str]],
    lang: Lang,
    ship: bool,
    *,
    everyday: bool = False,
    weight: float = 1.0,
    seed: int = CORPUS_SEED,
    groups: Callable[[str, str], tuple[str, ...]] | None = None,
) -> list[Row]:
    """``(text, label, id)`` items as rows; empty texts dropped, duplicates kept once. The
    legacy split hashes ``id``; ``groups(text, id)`` names the row's groups (none: the id
    relates no rows, e.g. a comment id)."""
    out: list[Row] = []
    seen: set[str] = set()
    for text, label, group in items:
        t = text.strip()
        if not t or t in seen:
            continue
        seen.add(t)
        split = hash_split(source, group, seed)
        g = groups(t, group) if groups is not None else ()
        out.append(Row(t, label, source, lang, split, weight, ship, everyday, g))
    return out


def _by_id(source: str) -> Callable[[str, str], tuple[str, ...]]:
    """Rows sharing an id (a conversation, a dialogue, a film) are one group."""
    return lambda _text, gid: (f"{source}:{gid}",)


def _cap(rows: list[Row], cap: int, seed: int) -> list[Row]:
    if len(rows) <= cap:
        return rows
    keyed = sorted(rows, key=lambda r: hashlib.sha256(f"{seed}{r.text}".encode()).digest())
    return keyed[:cap]


# --------------------------------------------------------------------------- sources


def ailuminate(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    info = dataset_info(data, "ailuminate_en")
    rows = _csv(data / "ailuminate_en" / "prompts_en_us.csv")
    items = ((r["prompt_text"], int(r["hazard"] == "ssh"), r["release_prompt_id"]) for r in rows)
    return _rows("ailuminate", items, "en", info.ship, seed=seed)


def simplesafetytests(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    info = dataset_info(data, "simplesafetytests")
    rows = _csv(data / "simplesafetytests" / "test_cases.csv")
    items = ((r["prompts_final"], int(r["harm_area"].startswith("Suicide")), r["id"]) for r in rows)
    return _rows("sst", items, "en", info.ship, seed=seed)


def xstest(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    info = dataset_info(data, "xstest")
    rows = _csv(data / "xstest" / "xstest_prompts.csv")
    items = (
        (
            r["prompt"],
            int(r["label"] == "unsafe" and bool(SELF_HARM_WORDS.search(r["prompt"]))),
            r["id"],
        )
        for r in rows
    )
    return _rows("xstest", items, "en", info.ship, seed=seed)


def msts(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    """MSTS English text-only prompts: "Suicide & Self-Harm" positive (self-harm, suicide,
    eating disorders, dangerous challenges; first-person intentions and requests), the other
    hazards hard negatives. Split by case, so a case's two wordings stay together."""
    info = dataset_info(data, "msts")
    rows = _csv(data / "msts" / "english_textonly.csv")
    items = (
        (r["prompt_text"], int(r["hazard_category"].startswith("Suicide")), r["case_id"])
        for r in rows
    )
    return _rows("msts", items, "en", info.ship, seed=seed)


def diasafety_contexts(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    info = dataset_info(data, "diasafety")
    pairs = load_diasafety(data)
    items = ((p.context, int(p.category == "Risk Ignorance"), p.context) for p in pairs)
    return _rows(
        "diasafety", items, "en", info.ship, seed=seed, groups=lambda t, _: (dia_group(t),)
    )


def cssrs_group(user: str) -> str:
    return f"cssrs:{user}"


def cssrs_posts(data: Path, seed: int = CORPUS_SEED, split_seed: int = SPLIT_SEED) -> list[Row]:
    """C-SSRS posts labelled by their user (ideation or worse), split by user with the
    project's user split (``classifiers.data.split_users``, stratified: ``fixed``)."""
    cssrs = load_cssrs(data)
    splits = split_users(cssrs.users, seed=split_seed)
    risk = severity_index(AT_RISK_FROM)
    out = []
    for p in cssrs.posts:
        if not p.text.strip():
            continue
        label = int(severity_index(p.severity) >= risk)
        out.append(
            Row(
                p.text,
                label,
                "cssrs",
                "en",
                splits[p.user],
                CSSRS_WEIGHT,
                cssrs.info.ship,
                groups=(cssrs_group(p.user),),
                fixed=True,
            )
        )
    return out


def goemotions(data: Path, seed: int = CORPUS_SEED, cap: int = EVERYDAY_CAP) -> list[Row]:
    info = dataset_info(data, "goemotions")
    items: list[tuple[str, int, str]] = []
    for name in ("train.tsv", "dev.tsv"):
        with (data / "goemotions" / name).open(encoding="utf-8") as fh:
            for line in fh:
                cells = line.rstrip("\n").split("\t")
                if len(cells) >= 3:
                    items.append((cells[0], 0, cells[2]))
    rows = _rows("goemotions", items, "en", info.ship, everyday=True, seed=seed)
    return _cap(rows, cap, seed)


def topical_chat(data: Path, seed: int = CORPUS_SEED, cap: int = EVERYDAY_CAP) -> list[Row]:
    info = dataset_info(data, "topical_chat")
    items: list[tuple[str, int, str]] = []
    for name in ("valid_freq.json", "valid_rare.json"):
        convs = json.loads((data / "topical_chat" / name).read_text(encoding="utf-8"))
        for cid, conv in convs.items():
            items.extend((turn["message"], 0, cid) for turn in conv["content"])
    rows = _rows(
        "topical_chat",
        items,
        "en",
        info.ship,
        everyday=True,
        seed=seed,
        groups=_by_id("topical_chat"),
    )
    return _cap(rows, cap, seed)


def xed_neutral(data: Path, seed: int = CORPUS_SEED, cap: int = EVERYDAY_CAP) -> list[Row]:
    info = dataset_info(data, "xed")
    items: list[tuple[str, int, str]] = []
    for i, line in enumerate((data / "xed" / "neu_en.txt").read_text("utf-8").splitlines()):
        cells = line.split("\t", 1)
        if len(cells) == 2:
            items.append((cells[1], 0, str(i)))
    rows = _rows("xed_neutral", items, "en", info.ship, everyday=True, seed=seed)
    return _cap(rows, cap, seed)


def xed_french(data: Path, seed: int = CORPUS_SEED, cap: int = EVERYDAY_CAP) -> list[Row]:
    """XED French subtitle lines (emotional, everyday): French everyday negatives."""
    info = dataset_info(data, "xed")
    items: list[tuple[str, int, str]] = []
    for i, line in enumerate((data / "xed" / "fr-projections.tsv").read_text("utf-8").splitlines()):
        cells = line.split("\t")
        if cells:
            items.append((cells[0], 0, str(i)))
    rows = _rows("xed_fr", items, "fr", info.ship, everyday=True, seed=seed)
    return _cap(rows, cap, seed)


def xpersona_fr(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    info = dataset_info(data, "xpersona_fr")
    dialogues = json.loads((data / "xpersona_fr" / "fr_valid.json").read_text("utf-8"))
    items: list[tuple[str, int, str]] = []
    for d, dialogue in enumerate(dialogues):
        for pair in dialogue["dialogue"]:
            items.extend((turn, 0, str(d)) for turn in pair)
    return _rows(
        "xpersona_fr",
        items,
        "fr",
        info.ship,
        everyday=True,
        seed=seed,
        groups=_by_id("xpersona_fr"),
    )


XED_LABELS: Final = (
    "anger",
    "anticipation",
    "disgust",
    "fear",
    "joy",
    "sadness",
    "surprise",
    "trust",
)


def _key(text: str) -> str:
    """Lower-case letters and digits only: the annotated file spaces punctuation."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def xed_pairs(
    data: Path, emotion: str = "sadness", scheme: str = SCHEME
) -> tuple[list[Row], list[Row]]:
    """Cross-lingual transfer check: English XED lines labelled ``emotion`` or not, and the
    French side of the aligned pairs whose English line carries a label (same label).

    Pairs are grouped by source film, so a film's lines are all in one split."""
    info = dataset_info(data, "xed")
    target = str(XED_LABELS.index(emotion) + 1)
    labels: dict[str, int] = {}
    for line in (data / "xed" / "en-annotated.tsv").read_text("utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) == 2:
            labels[_key(cells[0])] = int(target in [c.strip() for c in cells[1].split(",")])
    en_items, fr_items = [], []
    for line in (data / "xed" / "pairs-fr.txt").read_text("utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) != 6 or _key(cells[4]) not in labels:
            continue
        label = labels[_key(cells[4])]
        film = cells[0]
        en_items.append((cells[4], label, film))
        fr_items.append((cells[5], label, film))
    by_film = _by_id("xed_film")
    en = _rows("xed_pairs_en", en_items, "en", info.ship, groups=by_film)
    fr = _rows("xed_pairs_fr", fr_items, "fr", info.ship, groups=by_film)
    both = resplit([*en, *fr], CORPUS_SEED, scheme)
    return [r for r in both if r.lang == "en"], [r for r in both if r.lang == "fr"]


def irf_belong(data: Path) -> list[Row]:
    """IRF thwarted belongingness: measure only (train file as val, val file as test)."""
    info = dataset_info(data, "irf_measure_only")
    splits: tuple[tuple[str, Split], ...] = (("train_data.csv", "val"), ("val_data.csv", "test"))
    out = []
    for name, split in splits:
        for r in _csv(data / "irf_measure_only" / name):
            if r["text"].strip():
                label = int(float(r["belong"]) > 0)
                out.append(Row(r["text"], label, "irf", "en", split, 1.0, info.ship))
    return out


def _everyday(data: Path, seed: int) -> list[Row]:
    return [
        *goemotions(data, seed),
        *topical_chat(data, seed),
        *xed_neutral(data, seed),
        *xpersona_fr(data, seed),
        *xed_french(data, seed),
    ]


def everyday(data: Path, seed: int = CORPUS_SEED, scheme: str = SCHEME) -> list[Row]:
    """Every everyday-chat source, English and French, split together under ``scheme``."""
    return resplit(_everyday(data, seed), seed, scheme)


def self_harm_short(
    data: Path, seed: int = CORPUS_SEED, cssrs: bool = True, scheme: str = SCHEME
) -> list[Row]:
    """The per-message self-harm corpus: labelled sets, C-SSRS posts, everyday negatives,
    split together under ``scheme``."""
    rows = [
        *ailuminate(data, seed),
        *simplesafetytests(data, seed),
        *xstest(data, seed),
        *diasafety_contexts(data, seed),
        *_everyday(data, seed),
    ]
    if cssrs:
        rows.extend(cssrs_posts(data, seed))
    return resplit(rows, seed, scheme)


def texts(rows: Sequence[Row]) -> list[str]:
    return [r.text for r in rows]


P4G_POSITIVE: Final = ("emotion-appeal", "foot-in-the-door", "personal-story")
"""PersuasionForGood strategies nearest to manipulative outreach tactics (guilt and emotional
pressure, escalating asks, personal disclosure used to persuade)."""
P4G_NEGATIVE: Final = (
    "non-strategy",
    "provide-org-facts",
    "task-related-inquiry",
    "personal-related-inquiry",
    "provide-donation-procedure",
)
"""Persuader sentences with no persuasion tactic (greetings, facts, questions, procedure)."""


def persuasionforgood(data: Path, scheme: str = SCHEME) -> list[Row]:
    """Persuader sentences: the related tactics positive, tactic-free sentences negative.

    ``LEGACY_SCHEME``: the train file's dialogues hashed to train or val, the test file is
    the test split. But the two files split sentences, not dialogues: every test-file
    dialogue also has sentences in the train file. ``SCHEME`` splits by dialogue (``B2``)
    across both files, and by normalised text (greetings and thanks recur everywhere)."""
    info = dataset_info(data, "persuasionforgood")
    out: list[Row] = []
    for name in ("train.csv", "test.csv"):
        for r in _csv(data / "persuasionforgood" / name):
            label = r["label_inter"]
            if label not in P4G_POSITIVE + P4G_NEGATIVE or not r["Unit"].strip():
                continue
            split: Split = "test" if name == "test.csv" else hash_split("p4g", r["B2"])
            if split == "test" and name == "train.csv":
                split = "val"
            out.append(
                Row(
                    r["Unit"].strip(),
                    int(label in P4G_POSITIVE),
                    "p4g",
                    "en",
                    split,
                    1.0,
                    info.ship,
                    groups=(f"p4g:{r['B2']}",),
                )
            )
    return resplit(out, CORPUS_SEED, scheme)
