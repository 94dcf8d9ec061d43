"""English and French crisis-language lexicons: cheap, high recall, the floor under the encoder.

The phrase lists live in ``classifiers/lexicons/<lang>.yaml`` (written for the project, not
taken from any data set). Categories: hopelessness, suicidal ideation, suicide plans,
self-injury (cutting, burning, hitting), disordered eating and attempts for user messages;
``encouragement`` (encouraging or instructing self-harm) for bot messages. Each category
carries a severity hint on the C-SSRS scale.

Matching runs on normalised text (lower case, accents removed, straight apostrophes, one space
between words) with word boundaries around every pattern; hit spans point into the original
text. A hit preceded closely by a negation ("I would never…", "je ne vais pas…") is kept but
marked ``negated`` and does not raise the severity.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt
import yaml

from classifiers.labels import SEVERITIES, Severity, severity_index

Role = Literal["user", "bot"]
LEXICON_DIR: Final = Path(__file__).resolve().parent / "lexicons"
LANGUAGES: Final[tuple[str, ...]] = ("en", "fr")

USER_CATEGORIES: Final[tuple[str, ...]] = (
    "hopelessness",
    "suicidal_ideation",
    "suicide_plan",
    "self_injury",
    "disordered_eating",
    "attempt",
)
BOT_CATEGORIES: Final[tuple[str, ...]] = ("encouragement",)
CATEGORIES: Final[tuple[str, ...]] = USER_CATEGORIES + BOT_CATEGORIES

_NEGATIONS: Final = re.compile(
    r"(?:^|\s)(?:not|never|no|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|can'?t|isn'?t|"
    r"ne|n'|pas|jamais|plus jamais|aucune?)(?:\s|$)"
)
_NEGATION_WINDOW: Final = 3  # words before the hit, within its clause
_SUGGESTIONS: Final = re.compile(r"(?:^|\s)(?:why|pourquoi) (?:not|don'?t|pas|ne)(?=\s|$)")
""""Why not just kill yourself?" suggests, it does not negate."""
_SUBJECT: Final = re.compile(r"^(?:i|i'm|im|i've|ive|i'd|je|j'\w*)$")
"""A first-person subject after a negation starts a new statement: in "im not okay i want
to die" the "not" belongs to "okay"."""
_CLAUSE_BREAK: Final = re.compile(r"[.,;:!?()\n]|\s(?:but|mais|and|et)\s")
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


class LexiconError(ValueError):
    """A lexicon file is malformed."""


_WORDS: Final = re.compile(r"\S+")


def _normalise_ascii(text: str) -> tuple[str, list[int]]:
    """``normalise`` for ASCII text (most chat): nothing to decompose, only case and spaces."""
    words: list[str] = []
    index: list[int] = []
    previous_end = 0
    for m in _WORDS.finditer(text):
        start, end = m.span()
        if words:
            index.append(previous_end)  # the run's first blank stands for the whole run
        words.append(m.group())
        index.extend(range(start, end))
        previous_end = end
    return " ".join(words).lower(), index


def _negated(before: list[str]) -> bool:
    """Whether the words just before a hit negate it (see _SUGGESTIONS and _SUBJECT)."""
    subjects = [i for i, word in enumerate(before) if _SUBJECT.match(word)]
    if subjects:
        before = before[subjects[-1] + 1 :]
    window = _SUGGESTIONS.sub(" ", " " + " ".join(before) + " ")
    return bool(_NEGATIONS.search(window + " "))


def normalise(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the index of the original one."""
    text = text.translate(_APOSTROPHES)
    if text.isascii():
        return _normalise_ascii(text)
    out: list[str] = []
    index: list[int] = []
    previous_space = True
    for i, ch in enumerate(text):
        if ch.isspace():
            if not previous_space:
                out.append(" ")
                index.append(i)
            previous_space = True
            continue
        previous_space = False
        for part in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(part):
                continue
            for low in part.lower():
                out.append(low)
                index.append(i)
    while out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), index


@dataclass(frozen=True)
class LexiconHit:
    language: str
    category: str
    severity: Severity
    start: int
    """Span of the hit in the original text (``text[start:end]``)."""
    end: int
    negated: bool


@dataclass(frozen=True)
class LexiconResult:
    hits: tuple[LexiconHit, ...] = ()

    @property
    def flagged(self) -> bool:
        """A hit that is not negated."""
        return any(not h.negated for h in self.hits)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(h.category for h in self.hits if not h.negated)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(h.language for h in self.hits if not h.negated)

    @property
    def severity(self) -> Severity:
        """Highest severity hint among the non-negated user-category hits (``none`` if none)."""
        best = 0
        for h in self.hits:
            if not h.negated and h.category in USER_CATEGORIES:
                best = max(best, severity_index(h.severity))
        return SEVERITIES[best]

    @property
    def encouragement(self) -> bool:
        """A bot message that encourages or instructs self-harm."""
        return any(h.category == "encouragement" and not h.negated for h in self.hits)


@dataclass(frozen=True)
class _Category:
    language: str
    name: str
    severity: Severity
    roles: frozenset[str]
    pattern: re.Pattern[str]


def whole_words(patterns: Iterable[str]) -> re.Pattern[str]:
    """One alternation of ``patterns``, each matching whole words of normalised text
    (not inside a word, nor right after an apostrophe: "l'" is not "l")."""
    alternation = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"(?<![\w'])(?:{alternation})(?!\w)")


def _compile(language: str, name: str, spec: Any) -> _Category:
    if not isinstance(spec, dict):
        raise LexiconError(f"{language}/{name}: expected a mapping")
    severity = spec.get("severity")
    if severity not in SEVERITIES:
        raise LexiconError(f"{language}/{name}: unknown severity {severity!r}")
    roles = spec.get("roles", ["user"])
    patterns = spec.get("patterns")
    if not isinstance(patterns, list) or not patterns:
        raise LexiconError(f"{language}/{name}: no patterns")
    try:
        pattern = whole_words(patterns)
    except re.error as exc:
        raise LexiconError(f"{language}/{name}: bad pattern: {exc}") from exc
    return _Category(language, name, cast(Severity, severity), frozenset(roles), pattern)


@dataclass(frozen=True)
class Lexicon:
    """Compiled lexicons of several languages; ``scan`` one text, ``features`` many."""

    categories: tuple[_Category, ...] = field(repr=False)
    languages: tuple[str, ...]

    @classmethod
    def load(cls, languages: Sequence[str] = LANGUAGES, folder: Path = LEXICON_DIR) -> Lexicon:
        compiled: list[_Category] = []
        for language in languages:
            path = folder / f"{language}.yaml"
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
                raise LexiconError(f"{path.name}: expected a 'categories' mapping")
            for name, spec in data["categories"].items():
                if name not in CATEGORIES:
                    raise LexiconError(f"{path.name}: unknown category {name!r}")
                compiled.append(_compile(language, name, spec))
        return cls(tuple(compiled), tuple(languages))

    def scan(self, text: str, role: Role = "user") -> LexiconResult:
        norm, index = normalise(text)
        hits: list[LexiconHit] = []
        for cat in self.categories:
            if role not in cat.roles:
                continue
            for m in cat.pattern.finditer(norm):
                if m.end() <= m.start():
                    continue
                clause = _CLAUSE_BREAK.split(norm[: m.start()])[-1]
                negated = _negated(clause.split()[-_NEGATION_WINDOW:])
                hits.append(
                    LexiconHit(
                        language=cat.language,
                        category=cat.name,
                        severity=cat.severity,
                        start=index[m.start()],
                        end=index[m.end() - 1] + 1,
                        negated=negated,
                    )
                )
        hits.sort(key=lambda h: (h.start, h.category))
        return LexiconResult(tuple(hits))

    def features(self, texts: Iterable[str], role: Role = "user") -> npt.NDArray[np.float32]:
        """Per text: per user category min(hits, 3) / 3, a negated-hit flag, severity / 4."""
        rows = [feature_row(self.scan(t, role)) for t in texts]
        if not rows:
            return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
        return np.asarray(rows, dtype=np.float32)


def feature_row(result: LexiconResult) -> list[float]:
    """The features of one scan (see ``Lexicon.features``)."""
    counts = dict.fromkeys(USER_CATEGORIES, 0)
    for h in result.hits:
        if not h.negated and h.category in counts:
            counts[h.category] += 1
    row = [min(counts[c], 3) / 3.0 for c in USER_CATEGORIES]
    row.append(1.0 if any(h.negated for h in result.hits) else 0.0)
    row.append(severity_index(result.severity) / (len(SEVERITIES) - 1))
    return row


FEATURE_NAMES: Final[tuple[str, ...]] = (
    *(f"lex_{c}" for c in USER_CATEGORIES),
    "lex_negated",
    "lex_severity",
)


@lru_cache(maxsize=4)
def default_lexicon(languages: tuple[str, ...] = LANGUAGES) -> Lexicon:
    return Lexicon.load(languages)
