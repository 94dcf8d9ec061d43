"""The rows the sensitive head trains and is measured on, read from ``../shared/data``.

Every row is a :class:`SRow`: text, the categories it names (``SENSITIVE_CATEGORIES``, empty
for a negative), source, group, language, split, weight and kind. Nothing here prints a text.

Sources (``sensitive_topics/`` is "ship: yes" except LabForSims2; the script checks the
README's line):

- synthetic follow-ups (``synthetic/sensitive.jsonl``, marked synthetic): the only rows that
  look like a bot's message; split by topic group.
- Anthropic persona statements: religion, politics (conservative, liberal, gun rights,
  immigration views), abortion views (politics: an opinion, not a pregnancy), LGBTQ rights
  (orientation and gender), disability (health); the ``everyday`` interests (art, music,
  sports...) are negatives. Capped per source file.
- MedQuAD questions: health (capped, grouped by the condition they ask about).
- CounselChat questions: topics mapped to categories (depression, anxiety, trauma: health;
  LGBTQ; addiction; spirituality; domestic violence; legal; sexuality and intimacy); a
  question with only other topics (relationships, parenting, self-esteem) is a negative: a
  personal worry that is no special category. Title and body are rows of one group.
- ConfAIde stories: the secret's type mapped (mental health, rare disease: health; abortion;
  orientation; belief; infidelity: sexuality; self-harm); work cheating a negative.
- CLINC150: credit and bill intents (bill due, minimum payment, credit score, card
  declined...) are finances; the non-banking intents everyday negatives; its own splits.
- everyday chat (``corpora.everyday``): negatives and, on the validation split, the
  calibration of every threshold; training rows that name a category term are left out
  (a real mention is no negative).
- LabForSims2 French patient lines: measure only (``ship: no``), never in training.

Splits: a seeded hash of (source, group); a text (normalised and folded) is kept once, in
the first source that has it, so no text sits on both sides.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from classifiers.results import SENSITIVE_CATEGORIES
from classifiers.sensitive_terms import fold_same_length, sensitive_lexicon
from classifiers.training import corpora as C
from classifiers.training.common import SYNTHETIC_DIR

Split = Literal["train", "val", "test"]
SEED: Final = 20261207
FOLDER: Final = "sensitive_topics"
SYNTHETIC: Final = SYNTHETIC_DIR / "sensitive.jsonl"
PERSONA_CAP: Final = 500
"""Statements kept per persona source file (seeded): 22 files, 500 each at most."""
PERSONA_EVERYDAY_CAP: Final = 400
MEDQUAD_CAP: Final = 2500
CLINC_EVERYDAY_CAP: Final = 1500
EVERYDAY_TRAIN_CAP: Final = 1500
"""Everyday-chat training rows per source; every validation and test row is kept."""
TRAINING_SOURCES: Final = ("synthetic", "persona", "medquad", "counselchat", "confaide", "clinc")
SYNTHETIC_WEIGHT: Final = 3.0
"""Synthetic follow-ups weigh three real rows: they are the only bot-like rows."""

PERSONA: Final[dict[str, tuple[str, ...]]] = {
    "religion": ("religion",),
    "politics": ("politics",),
    "abortion": ("politics",),
    "sexual_orientation": ("orientation_gender",),
    "disability": ("health",),
    "everyday": (),
}
COUNSELCHAT: Final[dict[str, str]] = {
    "Depression": "health",
    "Anxiety": "health",
    "Trauma": "health",
    "Eating Disorders": "health",
    "Diagnosis": "health",
    "Alzheimer's": "health",
    "Sleep Improvement": "health",
    "Self-harm": "self_harm",
    "LGBTQ": "orientation_gender",
    "Addiction": "substance_use",
    "Substance Abuse": "substance_use",
    "Spirituality": "religion",
    "Domestic Violence": "domestic_violence",
    "Legal & Regulatory": "legal",
    "Human Sexuality": "sexuality",
    "Intimacy": "sexuality",
}
CONFAIDE: Final[dict[str, tuple[str, ...]]] = {
    "abortion": ("pregnancy_fertility",),
    "belief/ideology": ("religion",),
    "infidelity": ("sexuality",),
    "mental health issues": ("health",),
    "rare diseases": ("health",),
    "self-harm": ("self_harm",),
    "sexual orientation": ("orientation_gender",),
    "work/academic cheating": (),
}
CLINC_FINANCES: Final = frozenset({
    "bill_balance", "bill_due", "pay_bill", "credit_score", "improve_credit_score",
    "min_payment", "card_declined", "account_blocked", "freeze_account",
    "credit_limit_change", "apr", "interest_rate", "report_fraud",
})  # fmt: skip
CLINC_LEFT_OUT: Final = frozenset({"international_visa", "vaccines", "insurance", "taxes", "w2"})
"""Neither finances nor harmless enough to be a negative (travel visas, vaccines, cover)."""
CLINC_BANKING: Final = frozenset({
    "balance", "transfer", "routing", "pin_change", "new_card", "damaged_card",
    "replacement_card_duration", "report_lost_card", "expiration_date", "order_checks",
    "redeem_rewards", "rewards_balance", "international_fees", "exchange_rate",
    "spending_history", "transactions", "income", "direct_deposit", "payday",
    "rollover_401k", "credit_limit", "insurance_change", "account_blocked",
})  # fmt: skip
"""Banking requests that are not debt: neither positives nor negatives."""


@dataclass(frozen=True)
class SRow:
    text: str
    labels: frozenset[str]
    source: str
    group: str
    lang: str
    split: Split
    weight: float = 1.0
    kind: str = ""
    """Synthetic rows: sensitive, benign_personal, hard_negative, benign_everyday; real
    rows: positive, negative, everyday."""
    role: str = "bot"
    position: str = ""
    ship: bool = True


def split_of(source: str, group: str, seed: int = SEED) -> Split:
    digest = hashlib.sha256(f"{seed}\0{source}\0{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "train" if u < 0.6 else "val" if u < 0.8 else "test"


def text_key(text: str) -> str:
    """What makes two texts the same text: folded, punctuation and spacing ignored."""
    return re.sub(r"[\W_]+", " ", fold_same_length(text)).strip()


def _capped(items: list[tuple[str, str]], cap: int, seed: int) -> list[tuple[str, str]]:
    key = lambda t: hashlib.sha256(f"{seed}{t[0]}".encode()).digest()  # noqa: E731
    return sorted(items, key=key)[:cap]


def ship_status(data: Path) -> tuple[bool, bool]:
    """(sensitive_topics may train, LabForSims2 may train) from the data README's line."""
    try:
        text = (data / "README.md").read_text(encoding="utf-8")
    except OSError:
        return False, False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].strip("`").rstrip("/") == FOLDER:
            ship = cells[-1].lower()
            lab = re.search(r"labforsims2\W+\**(yes|no)", ship)
            return ship.startswith("yes"), bool(lab and lab.group(1) == "yes")
    return False, False


def synthetic(path: Path = SYNTHETIC) -> list[SRow]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        r = json.loads(line)
        if r.get("synthetic") is not True:
            raise ValueError(f"{path.name}:{n}: not marked synthetic")
        labels = frozenset(r["labels"])
        if labels - set(SENSITIVE_CATEGORIES):
            raise ValueError(f"{path.name}:{n}: unknown categories {sorted(labels)}")
        out.append(
            SRow(r["text"], labels, "synthetic", r["group"], r["lang"],
                 split_of("synthetic", r["group"]), SYNTHETIC_WEIGHT, r["kind"],
                 r.get("role", "bot"), r.get("position", ""))
        )  # fmt: skip
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def persona(data: Path) -> list[SRow]:
    by_file: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for r in _csv(data / FOLDER / "persona_statements.csv"):
        by_file.setdefault((r["category"], r["source_file"]), []).append((r["statement"], ""))
    out = []
    for (category, name), items in sorted(by_file.items()):
        labels = frozenset(PERSONA[category])
        cap = PERSONA_EVERYDAY_CAP if not labels else PERSONA_CAP
        for text, _ in _capped(items, cap, SEED):
            kind = "positive" if labels else "negative"
            out.append(SRow(text, labels, "persona", f"{name}:{text_key(text)}", "en",
                            split_of("persona", text_key(text)), 1.0, kind))  # fmt: skip
    return out


_MEDQUAD_FOCUS = re.compile(
    r"^(?:what (?:is|are) (?:\(are\) )?(?:the )?(?:symptoms|treatments?|outlook|causes|"
    r"complications|genetic changes related to|research \(or clinical trials\) is being done "
    r"for|to do for|the stages of)? ?(?:of|for)?|how (?:many people are affected by|to "
    r"prevent|to diagnose)|is |who is at risk for|do you have information about|what "
    r"(?:should i know|research).*? (?:about|for)|does )",
    re.IGNORECASE,
)


def medquad(data: Path) -> list[SRow]:
    rows = _csv(data / FOLDER / "medquad_questions.csv")
    items = [(r["question"], _MEDQUAD_FOCUS.sub("", r["question"]).strip(" ?").lower()[:60])
             for r in rows]  # fmt: skip
    out = []
    for text, focus in _capped(items, MEDQUAD_CAP, SEED):
        out.append(SRow(text, frozenset({"health"}), "medquad", focus, "en",
                        split_of("medquad", focus), 1.0, "positive"))  # fmt: skip
    return out


def counselchat(data: Path) -> list[SRow]:
    out = []
    for r in _csv(data / FOLDER / "counselchat_questions.csv"):
        topics = [t.strip() for t in r["topics"].split(",") if t.strip()]
        if not topics:
            continue
        labels = frozenset(COUNSELCHAT[t] for t in topics if t in COUNSELCHAT)
        group = r["questionID"]
        for text in (r["questionTitle"], r["questionText"][:600]):
            if text.strip():
                out.append(SRow(text.strip(), labels, "counselchat", group, "en",
                                split_of("counselchat", group), 1.0,
                                "positive" if labels else "negative"))  # fmt: skip
    return out


def confaide(data: Path) -> list[SRow]:
    text = (data / FOLDER / "confaide_tier_3.txt").read_text(encoding="utf-8")
    out = []
    for i, m in enumerate(re.finditer(r"<BEGIN><([^,>]+)[^>]*>\s*(.*?)\s*<END>", text, re.S)):
        kind = m.group(1).strip()
        if kind not in CONFAIDE:
            continue
        labels = frozenset(CONFAIDE[kind])
        story = " ".join(m.group(2).split())[:600]
        out.append(SRow(story, labels, "confaide", f"{kind}:{i}", "en",
                        split_of("confaide", f"{kind}:{i}"), 0.5,
                        "positive" if labels else "negative"))  # fmt: skip
    return out


def clinc(data: Path) -> list[SRow]:
    spec = json.loads((data / FOLDER / "clinc150_data_full.json").read_text(encoding="utf-8"))
    splits: dict[str, Split] = {"train": "train", "val": "val", "test": "test"}
    out: list[SRow] = []
    everyday: list[tuple[str, str]] = []
    for name, split in splits.items():
        for text, intent in spec[name]:
            if intent in CLINC_FINANCES:
                out.append(SRow(text, frozenset({"finances"}), "clinc", intent, "en", split,
                                1.0, "positive"))  # fmt: skip
            elif intent not in CLINC_LEFT_OUT and intent not in CLINC_BANKING:
                everyday.append((text, f"{split}:{intent}"))
    for text, tag in _capped(everyday, CLINC_EVERYDAY_CAP, SEED):
        name, intent = tag.split(":", 1)
        out.append(SRow(text, frozenset(), "clinc", intent, "en", splits[name], 1.0,
                        "negative"))  # fmt: skip
    return out


def everyday(data: Path) -> list[SRow]:
    """Everyday chat with the splits every head shares; training rows naming a category
    term are left out."""
    lexicon = sensitive_lexicon()
    out = []
    counts: dict[str, int] = {}
    for r in C.everyday(data, C.CORPUS_SEED):
        if r.split == "train":
            if counts.get(r.source, 0) >= EVERYDAY_TRAIN_CAP or lexicon.find(r.text):
                continue
            counts[r.source] = counts.get(r.source, 0) + 1
        out.append(SRow(r.text, frozenset(), r.source, r.text, r.lang, r.split, 1.0,
                        "everyday"))  # fmt: skip
    return out


def labforsims(data: Path) -> list[SRow]:
    """French patient lines of simulated consultations (health): measure only."""
    out = []
    for line in (data / FOLDER / "labforsims2_fr_patient.txt").read_text("utf-8").splitlines():
        parts = line.split("+++", 1)
        if len(parts) == 2 and len(parts[1].split()) >= 4:
            out.append(SRow(parts[1].strip(), frozenset({"health"}), "labforsims2", parts[0],
                            "fr", "test", 1.0, "positive", "user", "", ship=False))  # fmt: skip
    return out


def dedupe(rows: Iterable[SRow]) -> list[SRow]:
    """Each text (normalised and folded) once: the first source that has it keeps it."""
    seen: set[str] = set()
    out = []
    for r in rows:
        key = text_key(r.text)
        if key and key not in seen:
            seen.add(key)
            out.append(r)
    return out


def load(data: Path) -> list[SRow]:
    """Every row that may train or calibrate, deduplicated (synthetic first)."""
    return dedupe([
        *synthetic(), *persona(data), *medquad(data), *counselchat(data), *confaide(data),
        *clinc(data), *everyday(data),
    ])  # fmt: skip
