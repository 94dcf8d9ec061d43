"""English and French crisis-language lexicons: cheap, high recall, the floor under the encoder.

The phrase lists live in ``classifiers/lexicons/<lang>.yaml`` (written for the project, not
taken from any data set). Categories: hopelessness, suicidal ideation, suicide plans,
self-injury (cutting, burning, hitting), disordered eating and attempts for user messages;
``encouragement`` (encouraging or instructing self-harm) for bot messages. Each category
carries a severity hint on the C-SSRS scale.

Matching runs on normalised text (lower case, accents removed, straight apostrophes, one space
between words) with word boundaries around every pattern; hit spans point into the original
text. Negation, user messages: it applies to the matched phrase only. A hit is ``negated``
(kept, but raising nothing) when a negation stands right before it, or a few fillers before
("I would never kill myself", "I don't really want to die", "je ne vais pas me tuer"); any
other word in between ends the search, so "im not okay i want to die" stays ideation. A
clause opening "not that I...", "pas que je..." is ``hedged``: the hit counts as an
indicator. Bot messages: a negation never hides encouragement; only a plain prohibition
("please don't hurt yourself") cancels a hit, never a question or a taunt ("why not just...",
"don't you think you'd be better off...", "can't you see...").

Besides the categories, each file lists a ``topic`` vocabulary (words any message on the
subject tends to use), ``laughter`` markers and everyday ``idioms`` (hyperbole whose words do
not count as topic words): the self-harm head's flag needs a topic word and is refused by
laughter (``classifiers.self_harm``).
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

# fmt: off
_NEGATIONS: Final = frozenset((
    "not", "never", "no", "don't", "dont", "doesn't", "doesnt", "didn't", "didnt", "won't",
    "wont", "wouldn't", "wouldnt", "can't", "cant", "cannot", "couldn't", "couldnt", "isn't",
    "isnt", "aren't", "arent", "wasn't", "wasnt", "shouldn't", "shouldnt", "mustn't",
    "ne", "n'", "pas", "jamais",
))
"""Words that negate what follows them (whole words of normalised text)."""
_FILLERS: Final = frozenset((
    "really", "ever", "even", "actually", "honestly", "seriously", "truly", "necessarily",
    "at", "all", "be", "been", "being", "am", "feel", "feeling", "felt", "vraiment", "du", "tout",
))
"""Words that may stand between a negation and the phrase it governs ("not really", "never
been")."""
_NEGATION_REACH: Final = 3
"""At most this many filler words between a negation and the phrase it negates."""
_HEDGES: Final = re.compile(r"^(?:it'?s |it is )?not (?:that|like) |^(?:ce n'est |c'est )?pas que ")
"""A clause that opens "not that I...", "it's not like I...", "(ce n'est) pas que je...":
the speaker denies and discloses at once; the hit counts, but only as an indicator."""
_PROHIBITIONS: Final = frozenset((
    "don't", "dont", "never", "shouldn't", "shouldnt", "mustn't", "not", "ne", "n'", "pas",
    "jamais",
))
"""On bot messages: a negation that forbids the act ("please don't hurt yourself")."""
_BOT_FILLERS: Final = frozenset(("please", "ever", "just", "want", "you", "to", "tell", "ask"))
# fmt: on
_RHETORICAL: Final = frozenset(["why", "how", "pourquoi", "comment"])
"""One of these in the two words before a bot-side negation makes it a question or a taunt
("why not...", "pourquoi tu ne..."), which encourages rather than forbids."""
_CLAUSE_BREAK: Final = re.compile(r"[.,;:!?()\n]|\s(?:but|mais|and|et)\s")
_SENTENCE_END: Final = re.compile(r"[.!?\n]")
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


_INDICATOR: Final = severity_index("indicator")


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
    hedged: bool = False
    """Said and denied at once ("not that I want to die, but..."): counts as an indicator."""


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
                level = severity_index(h.severity)
                best = max(best, min(level, _INDICATOR) if h.hedged else level)
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


def _negated(before: Sequence[str]) -> bool:
    """A user-message hit is negated only when a negation governs the phrase itself: it stands
    right before the hit, or a few fillers before ("never really", "not been"). Any other word
    in between ends the search, so "I'm not okay, I want to die" is not negated."""
    for skipped, word in enumerate(reversed(before)):
        if word in _NEGATIONS:
            return True
        if word not in _FILLERS or skipped >= _NEGATION_REACH:
            return False
    return False


def _is_question(norm: str, end: int) -> bool:
    """The clause holding the hit ends with a question mark."""
    rest = _CLAUSE_BREAK.search(norm, end)
    return rest is not None and rest.group().strip() == "?"


def _prohibited(before: Sequence[str], question: bool) -> bool:
    """A bot-message hit is cancelled only by a plain prohibition ("please don't hurt
    yourself", "I would never tell you to..."); a question or a taunt ("why not...", "don't
    you think...", "can't you see...") never hides encouragement."""
    if question:
        return False
    for skipped, i in enumerate(range(len(before) - 1, -1, -1)):
        word = before[i]
        if word in _PROHIBITIONS:
            return not _RHETORICAL.intersection(before[max(0, i - 2) : i])
        if word not in _BOT_FILLERS or skipped >= _NEGATION_REACH:
            return False
    return False


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
    topic: re.Pattern[str] | None = field(default=None, repr=False)
    """The self-harm topic vocabulary, all languages (see ``on_topic``)."""
    laughter: re.Pattern[str] | None = field(default=None, repr=False)
    """Laughter and joke markers ("lol", "mdr"), all languages (see ``laughs``)."""
    idioms: re.Pattern[str] | None = field(default=None, repr=False)
    """Everyday hyperbole ("my feet are killing me", "mort de rire"): its words are not
    topic words (see ``on_topic``)."""

    @classmethod
    def load(cls, languages: Sequence[str] = LANGUAGES, folder: Path = LEXICON_DIR) -> Lexicon:
        compiled: list[_Category] = []
        extra: dict[str, list[str]] = {"topic": [], "laughter": [], "idioms": []}
        for language in languages:
            path = folder / f"{language}.yaml"
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
                raise LexiconError(f"{path.name}: expected a 'categories' mapping")
            for name, spec in data["categories"].items():
                if name not in CATEGORIES:
                    raise LexiconError(f"{path.name}: unknown category {name!r}")
                compiled.append(_compile(language, name, spec))
            for key, found in extra.items():
                words = data.get(key, [])
                if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                    raise LexiconError(f"{path.name}: '{key}' must be a list of patterns")
                found.extend(words)
        try:
            topic, laughter, idioms = (whole_words(v) if v else None for v in extra.values())
        except re.error as exc:
            raise LexiconError(f"topic, laughter or idioms: bad pattern: {exc}") from exc
        return cls(tuple(compiled), tuple(languages), topic, laughter, idioms)

    @classmethod
    def from_categories(cls, language: str, categories: dict[str, Any]) -> Lexicon:
        """A lexicon of one language from categories already read (``name: {severity,
        roles, patterns}``), for pattern files with their own loader (the bot floor's)."""
        compiled = []
        for name, spec in categories.items():
            if name not in CATEGORIES:
                raise LexiconError(f"{language}: unknown category {name!r}")
            compiled.append(_compile(language, name, spec))
        return cls(tuple(compiled), (language,))

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
                before = clause.split()
                if role == "bot":
                    negated, hedged = _prohibited(before, _is_question(norm, m.end())), False
                else:
                    negated, hedged = _negated(before), bool(_HEDGES.search(clause.lstrip()))
                hits.append(
                    LexiconHit(
                        language=cat.language,
                        category=cat.name,
                        severity=cat.severity,
                        start=index[m.start()],
                        end=index[m.end() - 1] + 1,
                        negated=negated,
                        hedged=hedged and not negated,
                    )
                )
        hits.sort(key=lambda h: (h.start, h.category))
        return LexiconResult(tuple(hits))

    def on_topic(self, text: str) -> bool:
        """Whether ``text`` uses any word of the self-harm topic vocabulary (``topic:`` in the
        lexicon files): death, pain, hopelessness, self-injury, eating... The trained head's
        flag needs it, so small talk the head over-scores ("thanks!") is never flagged. Words
        inside an everyday idiom ("this exam is killing me") do not count."""
        norm = normalise(text)[0]
        if self.idioms is not None:
            norm = self.idioms.sub(" ", norm)
        return self.topic is not None and bool(self.topic.search(norm))

    def laughs(self, text: str) -> bool:
        """Whether ``text`` laughs or jokes ("lol", "haha", "mdr"): hyperbole, not distress,
        when nothing explicit is said ("this exam is killing me lol")."""
        return self.laughter is not None and bool(self.laughter.search(normalise(text)[0]))

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
