"""English and French terms of the special categories, with their spans in the original text.

The lexicon (``classifiers/lexicons/sensitive_{en,fr}.yaml``) is the precise half of the
``sensitive`` check: a term flags on its own, names its category, and says where it stands,
which the gateway needs twice: to tell whether a reference falls in a message's preview (the
lock-screen line) and to redact it from the delivered text the audit log keeps. The trained
head (``classifiers.sensitive``) covers paraphrases but gives no spans.

Matching reads :func:`classifiers.normalize.normalize`'s text (what a person reads), folded
character by character (lower case, accents and apostrophe variants removed) so that every
position still maps back to the original (:meth:`Normalized.span`); a text of plain Latin
letters and punctuation (accents and line breaks allowed) is already what a person reads and
skips the normalisation. Both languages' terms apply to every text: a French follow-up may
quote an English diagnosis.

Speed: the terms are tried only where a word starts, and only those whose first letter is
that word's (one alternation per first character, from the parsed patterns): about 20 us
for a short message, where one alternation of every term took three to four times longer.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

from classifiers.normalize import normalize
from classifiers.results import SENSITIVE_CATEGORIES, SensitiveSpan

sre_parser: Any = importlib.import_module("re._parser")  # a pattern's parsed form: its first
sre_constants: Any = importlib.import_module("re._constants")  # characters (see ``_first``)
LEXICON_DIR: Final = Path(__file__).resolve().parent / "lexicons"
LANGUAGES: Final = ("en", "fr")
_APOSTROPHES: Final = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"}
_FOLD: Final = {
    **{ord(k): v for k, v in _APOSTROPHES.items()},
    **{
        i: unicodedata.normalize("NFD", chr(i))[0].lower()
        for i in range(0xC0, 0x250)
        if len(unicodedata.normalize("NFD", chr(i))[0].lower()) == 1
    },
}
"""Latin-1 and Latin Extended letters to their bare lower-case letter, one for one."""
_READABLE: Final = re.compile(
    r"[\x20-\x7e\n\t\u00a0\u00c0-\u00ff\u0152\u0153\u2019\u2018\u201c\u201d\u00ab\u00bb\u2013\u2014\u2026\u20ac]*"
)
_TRICKS: Final = re.compile(
    r"[A-Za-z][0-9@$]|[0-9@$!|][A-Za-z]|(?:\b[A-Za-z][ .\-·*_/|]){2,}[A-Za-z]\b"
    r"|([A-Za-z])\1\1|[<&%*_~`\[\]]"
)
"""What :func:`classifiers.normalize.normalize` would undo: leetspeak, spaced letters,
stretched letters, markup."""
_WORD_START: Final = re.compile(r"(?<![\w'-])[\w']")
_END: Final = r"(?![\w-])"


class SensitiveLexiconError(ValueError):
    """A lexicon file is malformed (an unknown category, a pattern that does not compile)."""


def _fold_char(c: str) -> str:
    """One character lower-cased without its accent, always one character long."""
    if c in _APOSTROPHES:
        return _APOSTROPHES[c]
    base = unicodedata.normalize("NFD", c)[0].lower()
    return base[0] if base else c


def fold_same_length(text: str) -> str:
    """``text`` folded for matching, position for position (offsets stay valid)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    if len(lowered) != len(text):  # a letter whose lower case is longer: one at a time
        return "".join(_fold_char(c) for c in text)
    folded = lowered.translate(_FOLD)
    if folded.isascii():
        return folded
    return "".join(c if c.isascii() else _fold_char(c) for c in folded)


def _readable(text: str) -> bool:
    """Plain Latin text a person reads as written: nothing for the normalisation to undo."""
    return _READABLE.fullmatch(text) is not None and _TRICKS.search(text) is None


def _branches(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern (``a|b(?:c|d)`` -> ``a``, ``b(?:c|d)``)."""
    out, depth, current, i = [], 0, "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            current += pattern[i : i + 2]
            i += 2
            continue
        depth += (c == "(") - (c == ")")
        if c == "|" and depth == 0:
            out.append(current)
            current = ""
        else:
            current += c
        i += 1
    return [*out, current]


def _first(sequence: Any) -> tuple[set[str] | None, bool]:
    """(characters a parsed sequence may start with, or None for any; may it match empty)."""
    found: set[str] = set()
    for op, av in sequence:
        chars, empty = _first_of(op, av)
        if chars is None:
            return None, False
        found |= chars
        if not empty:
            return found, False
    return found, True


def _first_of(op: Any, av: Any) -> tuple[set[str] | None, bool]:
    c = sre_constants
    if op is c.LITERAL:
        return {chr(av)}, False
    if op is c.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is c.LITERAL:
                chars.add(chr(value))
            elif kind is c.RANGE:
                chars |= {chr(x) for x in range(value[0], value[1] + 1)}
            else:
                return None, False
        return chars, False
    if op is c.BRANCH:
        chars, empty = set(), False
        for branch in av[1]:
            first, may_be_empty = _first(branch)
            if first is None:
                return None, False
            chars, empty = chars | first, empty or may_be_empty
        return chars, empty
    if op is c.SUBPATTERN:
        return _first(av[3])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        first, empty = _first(av[2])
        return first, empty or av[0] == 0
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return set(), True
    return None, False


@dataclass(frozen=True)
class SensitiveLexicon:
    """Per first character, one alternation with a named group per category."""

    by_first: dict[str, re.Pattern[str]]

    @classmethod
    def load(
        cls, folder: Path = LEXICON_DIR, languages: Sequence[str] = LANGUAGES
    ) -> SensitiveLexicon:
        terms: dict[str, list[str]] = {c: [] for c in SENSITIVE_CATEGORIES}
        for lang in languages:
            path = folder / f"sensitive_{lang}.yaml"
            spec: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(spec, dict) or not isinstance(spec.get("categories"), dict):
                raise SensitiveLexiconError(f"{path.name}: expected a mapping 'categories'")
            for category, patterns in spec["categories"].items():
                if category not in terms:
                    raise SensitiveLexiconError(f"{path.name}: unknown category {category!r}")
                if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                    raise SensitiveLexiconError(f"{path.name}: {category} needs a list of strings")
                for p in patterns:
                    try:
                        re.compile(p)
                    except re.error as exc:
                        raise SensitiveLexiconError(f"{path.name}: {category}: {exc}") from None
                terms[category].extend(patterns)
        table: dict[str, dict[str, list[str]]] = {}
        for category, patterns in terms.items():
            for branch in (b for p in patterns for b in _branches(p)):
                first, empty = _first(sre_parser.parse(branch))
                if first is None or empty:
                    raise SensitiveLexiconError(f"{category}: {branch!r} may start anywhere")
                for c in first:
                    table.setdefault(c, {}).setdefault(category, []).append(branch)
        return cls(
            {
                c: re.compile(
                    "(?:"
                    + "|".join(
                        f"(?P<{k}>{'|'.join(f'(?:{b})' for b in bs)})" for k, bs in by.items()
                    )
                    + f"){_END}"
                )
                for c, by in table.items()
            }
        )

    def find(self, text: str) -> tuple[SensitiveSpan, ...]:
        """Every category term in ``text``, in order, with its span in ``text`` itself."""
        if _readable(text):
            return self._find(fold_same_length(text), None)
        norm = normalize(text)
        return self._find(fold_same_length(norm.text), norm.span)

    def _find(
        self, folded: str, span: Callable[[int, int], tuple[int, int]] | None
    ) -> tuple[SensitiveSpan, ...]:
        out, after = [], 0
        for word in _WORD_START.finditer(folded):
            i = word.start()
            pattern = self.by_first.get(folded[i]) if i >= after else None
            m = pattern.match(folded, i) if pattern is not None else None
            if m is None or m.lastgroup is None:
                continue
            start, end = (i, m.end()) if span is None else span(i, m.end())
            out.append(SensitiveSpan(m.lastgroup, start, end))
            after = m.end()
        return tuple(out)

    def categories(self, text: str) -> tuple[str, ...]:
        """The categories named in ``text``, in ``SENSITIVE_CATEGORIES`` order."""
        found = {s.category for s in self.find(text)}
        return tuple(c for c in SENSITIVE_CATEGORIES if c in found)


@cache
def sensitive_lexicon() -> SensitiveLexicon:
    """The shipped lexicon, loaded once per process."""
    return SensitiveLexicon.load()


@lru_cache(maxsize=1024)
def find_terms(text: str) -> tuple[SensitiveSpan, ...]:
    """:meth:`SensitiveLexicon.find` with the shipped lexicon, remembered for the last
    texts: one decision asks about the same text several times (the rule, the audit
    redaction)."""
    return sensitive_lexicon().find(text)


def redact_terms(text: str, spans: Sequence[SensitiveSpan] | None = None) -> str:
    """``text`` with every category term replaced by its category in capitals
    (``[HEALTH]``): what an audit record may keep of a message that names one."""
    found = sorted(find_terms(text) if spans is None else spans, key=lambda s: s.start)
    out, last = [], 0
    for span in found:
        if span.start < last:  # overlapping terms: the first one covers it
            continue
        out += [text[last : span.start], f"[{span.category.upper()}]"]
        last = span.end
    return "".join(out) + text[last:]
