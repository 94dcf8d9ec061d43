"""Short-text corpora for the per-message heads, read from ``../shared/data``, split by seed.

Every row is a ``Row``: text, binary label for the task, source set, language, split, weight,
and whether the source may train shipped weights (``ship``, from the data README). Splits
are a seeded hash of (source, group) so a rerun gives the same rows, and a set's rows never
move between train and held-out when other sets change. Nothing here prints a text.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from classifiers.data import (
    dataset_info,
    load_cssrs,
    load_diasafety,
    split_users,
)
from classifiers.labels import AT_RISK_FROM, severity_index

Lang = Literal["en", "fr"]
Split = Literal["train", "val", "test"]
CORPUS_SEED: Final = 20261202
"""Seed of every hash split here; changing it changes every reported figure."""
FRACTIONS: Final = (0.6, 0.2)
"""train, val; the rest is test."""
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


def hash_split(source: str, group: str, seed: int = CORPUS_SEED) -> Split:
    """Reproducible split of one group of one source."""
    digest = hashlib.sha256(f"{seed}\0{source}\0{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "train" if u < FRACTIONS[0] else "val" if u < sum(FRACTIONS) else "test"


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
) -> list[Row]:
    """``(text, label, group)`` items as rows; empty texts dropped, duplicates kept once."""
    out: list[Row] = []
    seen: set[str] = set()
    for text, label, group in items:
        t = text.strip()
        if not t or t in seen:
            continue
        seen.add(t)
        out.append(
            Row(t, label, source, lang, hash_split(source, group, seed), weight, ship, everyday)
        )
    return out


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
    return _rows("diasafety", items, "en", info.ship, seed=seed)


def cssrs_posts(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    """C-SSRS posts labelled by their user (ideation or worse), split by user with the
    project's user split (``classifiers.data.split_users``)."""
    cssrs = load_cssrs(data)
    splits = split_users(cssrs.users)
    risk = severity_index(AT_RISK_FROM)
    out = []
    for p in cssrs.posts:
        if not p.text.strip():
            continue
        label = int(severity_index(p.severity) >= risk)
        out.append(Row(p.text, label, "cssrs", "en", splits[p.user], CSSRS_WEIGHT, cssrs.info.ship))
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
    rows = _rows("topical_chat", items, "en", info.ship, everyday=True, seed=seed)
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
    return _rows("xpersona_fr", items, "fr", info.ship, everyday=True, seed=seed)


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


def xed_pairs(data: Path, emotion: str = "sadness") -> tuple[list[Row], list[Row]]:
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
    return (
        _rows("xed_pairs_en", en_items, "en", info.ship),
        _rows("xed_pairs_fr", fr_items, "fr", info.ship),
    )


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


def everyday(data: Path, seed: int = CORPUS_SEED) -> list[Row]:
    """Every everyday-chat source, English and French."""
    return [
        *goemotions(data, seed),
        *topical_chat(data, seed),
        *xed_neutral(data, seed),
        *xpersona_fr(data, seed),
        *xed_french(data, seed),
    ]


def self_harm_short(data: Path, seed: int = CORPUS_SEED, cssrs: bool = True) -> list[Row]:
    """The per-message self-harm corpus: labelled sets, C-SSRS posts, everyday negatives."""
    rows = [
        *ailuminate(data, seed),
        *simplesafetytests(data, seed),
        *xstest(data, seed),
        *diasafety_contexts(data, seed),
        *everyday(data, seed),
    ]
    if cssrs:
        rows.extend(cssrs_posts(data, seed))
    return rows


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


def persuasionforgood(data: Path) -> list[Row]:
    """Persuader sentences: the related tactics positive, tactic-free sentences negative;
    the file's train split trains (dialogue-grouped val/train by hash), its test file tests."""
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
                )
            )
    return out
