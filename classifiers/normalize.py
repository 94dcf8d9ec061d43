"""One normalisation of a text before every content check: what a person reads, not how
it was spelt to slip past a filter.

The original text is what gets delivered or redacted; checks (floors, lexicons, the
classifiers, opt-out matching) read :func:`normalize`'s text, and map a span they find
back to the original with :meth:`Normalized.span`. Steps, in order:

1. HTML entities and percent-encoding decoded (``&#107;ill``, ``k%69ll``), HTML tags
   dropped; struck-through text (``~~…~~``, ``<s>…</s>``) dropped, as a reader skips it;
   markdown emphasis and code marks (``*``, ``_``, ``~``, backticks) and link targets
   removed, link texts kept.
2. Unicode NFKC (fullwidth and mathematical letters, circled letters, ligatures),
   then zero-width and other format characters, control characters and stray combining
   marks (Zalgo; a letter's own accent is kept) removed; then markdown line markers
   (headings, quotes, list items), which those could hide.
3. Look-alike letters folded to Latin (Cyrillic and Greek o, a, e; small capitals), from
   Unicode's confusables data (``confusable-homoglyphs``), in words that mix them with
   Latin letters, or everywhere in a text that is mostly Latin.
4. Letters spaced out (``k i l l``, ``s.t.o.p``, ``A-R-R-E-T``: one separator all along
   the run, so ``t.u.e t.o.i`` gives two words) joined, unless every one of them is a word
   of its own ("il y a à", "u r a"); leetspeak inside words (``k1ll``, ``y0urs3lf``,
   ``$top``) read as letters; a letter repeated three times or more squeezed to two
   (``killlll``, ``stooop`` → ``kill``, ``stoop``).

A step can uncover what an earlier one reads (a control character inside ``%66``, a
``0`` that becomes a letter of a spelt-out run): a text a pass changed is read again, up to
three passes, so that normalising twice gives what normalising once gives.

A ``*`` inside a word that does not close an emphasis (``k*ll``, ``f**k``) is a censor
mark and stays, for checks to read as "some letter"; enclosed and squared letter
symbols (``🅺``, ``🄺``) are read as their letter.

Case and accents are kept (the encoder reads them); :func:`fold` gives the lower-cased,
accent-free, squeezed form lexicons match on.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final, Literal
from urllib.parse import unquote

from confusable_homoglyphs.confusables import confusables_data

Chars = list[tuple[str, int]]
"""The text being normalised, a character at a time, each with its index in the original."""

_MARKUP = re.compile(r"[<&%*_~`\[\]]|\|\|")
_BLOCK = re.compile(r"^[ \t]{0,3}(?:(?:#{1,6}|>|[-*+•]|\d{1,3}[.)])[ \t]+)+", re.M)
"""Markdown line markers (heading, quote, list item, nested ones too): a reader sees the
words of the line, so "- End / - your / - life" is read as "End / your / life"."""
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET_MARKS = frozenset(_LEET) | {"!", "|"}
_NUMBER_SUFFIX = re.compile(
    r"\d+(?:th|am|pm|h|hr|hrs|min|mins|k|km|kg|g|mg|ml|cl|l|m|s|x|e|er|re|eme|ème|"
    r"ans|yo|mo|d|y|ish)?",
    re.IGNORECASE,
)
_ORDINAL = re.compile(r"\d*(?:1st|2nd|3rd)", re.IGNORECASE)
_MODEL_NUMBER = re.compile(r"[^\W\d_]+\d+")
"""mp3, covid19, ps5: a name with a number, not leetspeak."""
_SPACED = re.compile(
    r"(?<![\w@$])[^\W\d_]([ .\-·•*_/|\n]| [.\-·•*_/|] |  )[^\W\d_](?:\1[^\W\d_])+(?![\w@$])"
)
"""Three or more single letters, each pair split by the same separator (one character,
a line break included, a mark between two spaces: ``k . i . l . l``, or two spaces:
``j  u  m  p``)."""
_ONE_LETTER_WORDS = frozenset("aàiyô")
"""Letters that are words by themselves (English "a", "I"; French "a", "à", "y", "ô"): a
run of them split by spaces is words ("il y a à"), not a spelt-out word."""
_SHAPES = {
    "κ": "k", "τ": "t", "χ": "x", "ω": "w", "η": "n", "β": "b", "ε": "e", "μ": "u",
    "к": "k", "м": "m", "т": "t", "н": "h", "в": "b", "п": "n", "ш": "w", "ь": "b",
}  # fmt: skip
"""Lower-case Greek and Cyrillic letters that pass for Latin ones in running text but that
Unicode's confusables data maps only in their capital or small-capital form."""
_DRAWN = {"\u04cf": "l"}
"""Letters the confusables data folds to one Latin letter but fonts draw as another: the
Cyrillic small palochka (U+04CF), a dotless stroke, is an "l" in running text, not an "i"."""
_LETTER_SYMBOL = re.compile(r"LATIN (?:CAPITAL|SMALL) LETTER ([A-Z])$")
"""Enclosed letters NFKC leaves alone (``NEGATIVE SQUARED LATIN CAPITAL LETTER K``)."""


@dataclass(frozen=True)
class Normalized:
    """A normalised text and where each of its characters came from in the original."""

    text: str
    original: str
    origins: tuple[int, ...]
    """``origins[i]``: index in ``original`` of the character that gave ``text[i]``."""

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original's span behind ``text[start:end]``: from the origin of its first
        character to the origin of the character after it (what was dropped in between,
        a zero-width space or a struck-out word, goes with it)."""
        stop = self.origins[end] if end < len(self.origins) else len(self.original)
        begin = self.origins[start] if start < len(self.origins) else len(self.original)
        return begin, max(begin, stop)


@lru_cache(maxsize=4096)
def normalize(text: str) -> Normalized:
    """The text as a person reads it; see the module docstring for the steps. Cached: a
    decision's floors, classifiers and shadows read the same text."""
    if _plain(text):
        return Normalized(text, text, tuple(range(len(text))))
    chars = _steps([(c, i) for i, c in enumerate(text)])
    # One step can uncover what an earlier one reads: a control character inside "%66", a
    # "0" that leetspeak makes a letter of a spelt-out run ("0-\x080-A"), a Greek letter a
    # Latin word now surrounds. Read again until nothing changes (a second normalisation
    # then changes nothing either); only texts a pass changed, and bounded.
    read = text
    for _ in range(_MAX_PASSES - 1):
        now = "".join(c for c, _ in chars)
        if now == read or _plain(now):
            break  # a pass that changed nothing would change nothing again
        chars, read = _steps(chars), now
    return Normalized("".join(c for c, _ in chars), text, tuple(i for _, i in chars))


_MAX_PASSES: Final = 3


def _steps(chars: Chars) -> Chars:
    """Steps 1 to 5 once (the module docstring), origins kept."""
    if _MARKUP.search("".join(c for c, _ in chars)):
        chars = _markup(chars)
    chars = _unicode(chars)
    chars = _drop(chars, _BLOCK)  # after the marks and invisible characters that hide one
    chars = _lookalikes(chars)
    chars = _spaced(chars)
    chars = _leet(chars)
    return _squeeze(chars, keep=2)


@lru_cache(maxsize=4096)
def visible(text: str) -> Normalized:
    """Only the steps that keep every character a person sees (step 2 and 3): NFKC,
    invisible characters removed, look-alike letters folded. For checks that read
    characters exactly, where leetspeak or markup folding would change them (PII: the
    digits of a phone number, the ``@`` and ``_`` of an e-mail address)."""
    if text.isascii() and text.isprintable():
        return Normalized(text, text, tuple(range(len(text))))
    chars = _lookalikes(_unicode([(c, i) for i, c in enumerate(text)]))
    return Normalized("".join(c for c, _ in chars), text, tuple(i for _, i in chars))


LONG_RUN: Final = 48
"""Letters in a row past which a run is broken for the costly checks (see :func:`bounded`)."""
_LONG_RUN = re.compile(rf"[\w'\u2019-]{{{LONG_RUN + 1},}}")


def bounded(text: str, limit: int = LONG_RUN) -> str:
    """``text`` with every run of word characters longer than ``limit`` broken by a space
    each ``limit`` characters (a character replaced, so offsets stay): the costly checks
    (Presidio's patterns, the encoder's tokenizer) do work that grows with a word's length
    at every position of it, and no word, e-mail part between dots or number is that long."""
    if len(text) <= limit or _LONG_RUN.search(text) is None:
        return text
    chars = list(text)
    for m in _LONG_RUN.finditer(text):
        for k in range(m.start() + limit, m.end(), limit + 1):
            chars[k] = " "
    return "".join(chars)


def fold(text: str) -> str:
    """A normalised text as lexicons match it: lower case, no accents, every run of a
    repeated letter squeezed to one (``stooop`` and ``stop`` both give ``stop``)."""
    lowered = normalize(text).text.lower()
    bare = "".join(
        c for c in unicodedata.normalize("NFD", lowered) if unicodedata.category(c) != "Mn"
    )
    return re.sub(r"([^\W\d_])\1+", r"\1", bare)


# --------------------------------------------------------------------------- steps


def _plain(text: str) -> bool:
    """Nothing to do: printable ASCII with no markup, no digit beside a letter, no run
    of spaced single letters, no letter three times in a row (the common case, fast)."""
    return (
        text.isascii()
        and text.isprintable()
        and not _MARKUP.search(text)
        and not _BLOCK.search(text)
        and not re.search(r"[A-Za-z][0-9@$]|[0-9@$!|][A-Za-z]", text)
        and not _SPACED.search(text)
        and not re.search(r"([A-Za-z])\1\1", text)
    )


def _markup(chars: Chars) -> Chars:
    """Entities, percent-encoding, HTML tags, struck-through text and markdown marks."""
    chars = _decode(chars, re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});"),
                    html.unescape)  # fmt: skip
    chars = _decode(chars, re.compile(r"(?:%[0-9A-Fa-f]{2})+"), _percent)
    chars = _drop(chars, re.compile(r"~~.*?~~|<(s|del|strike)\b[^>]*>.*?</\1\s*>", re.S | re.I))
    chars = _drop(chars, re.compile(r"</?[A-Za-z][^<>]{0,200}>"))
    chars = _drop(chars, re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*\)"), keep_first=True)
    text = "".join(c for c, _ in chars)
    marks = {m.start() for m in re.finditer(r"[~`\[\]]", text)}
    for m in _SPOILER.finditer(text):  # Discord's ||spoiler||: the bars are no letters
        marks |= {m.start(), m.start() + 1, m.end() - 2, m.end() - 1}
    marks |= _emphasis(text, "*") | _emphasis(text, "_")
    return [pair for k, pair in enumerate(chars) if k not in marks]


def _emphasis(text: str, mark: str) -> set[int]:
    """Positions of the ``mark`` (``*`` or ``_``) that are markdown emphasis: a run beside a
    non-letter (``**kill**``, ``__toi__``), and the run that closes an emphasis opened at a
    word's start (``*win*dow``). Runs with letters on both sides and nothing to close stay:
    censor marks (``k*ll``, ``f**k``) and names (``snake_case``)."""
    out: set[int] = set()
    runs = re.compile(re.escape(mark) + "+")
    for token in re.finditer(r"\S+", text):
        opened = False
        for run in runs.finditer(token.group()):
            start, end = token.start() + run.start(), token.start() + run.end()
            inner = (
                start > 0 and _letter(text[start - 1]) and end < len(text) and _letter(text[end])
            )
            if not inner or opened:
                out.update(range(start, end))
                opened = not opened if not inner else False
    return out


def _letter(c: str) -> bool:
    return c.isalpha()


def _percent(encoded: str) -> str:
    decoded = unquote(encoded, errors="strict") if _utf8(encoded) else encoded
    return decoded if decoded.isprintable() else encoded


def _utf8(encoded: str) -> bool:
    try:
        bytes.fromhex(encoded.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(chars: Chars, pattern: re.Pattern[str], decode: object) -> Chars:
    """Replace each match by its decoding, every new character from the match's start."""
    text = "".join(c for c, _ in chars)
    out: Chars = []
    last = 0
    for m in pattern.finditer(text):
        out += chars[last : m.start()]
        decoded = decode(m.group(0))  # type: ignore[operator]
        out += [(c, chars[m.start()][1]) for c in decoded]
        last = m.end()
    return out + chars[last:]


def _drop(chars: Chars, pattern: re.Pattern[str], *, keep_first: bool = False) -> Chars:
    """Remove each match (but its first character with ``keep_first``)."""
    text = "".join(c for c, _ in chars)
    out: Chars = []
    last = 0
    for m in pattern.finditer(text):
        out += chars[last : m.start() + (1 if keep_first else 0)]
        last = m.end()
    return out + chars[last:]


def _unicode(chars: Chars) -> Chars:
    """NFKC per base character and its marks; format, control and stray marks removed."""
    text = "".join(c for c, _ in chars)
    if _stable(text):
        return chars  # most text: nothing to compose, nothing invisible
    out: Chars = []
    k = 0
    while k < len(chars):
        base, origin = chars[k]
        marks = ""
        k += 1
        while k < len(chars) and unicodedata.combining(chars[k][0]):
            marks += chars[k][0]
            k += 1
        for c in unicodedata.normalize("NFKC", base + marks):
            category = unicodedata.category(c)
            if category == "So" and (letter := _LETTER_SYMBOL.search(unicodedata.name(c, ""))):
                c, category = letter.group(1), "Lu"
            if category in ("Cf", "Cs", "Co") or (category == "Cc" and c not in "\n\t"):
                continue
            if category == "Mn":  # a mark that did not compose with its letter: noise
                continue
            out.append((c, origin))
    return out


def _lookalikes(chars: Chars) -> Chars:
    """Fold look-alike letters in mixed-script words, or all of them in a Latin text."""
    if all(c.isascii() for c, _ in chars):
        return chars
    letters = [c for c, _ in chars if c.isalpha()]
    if not letters or all(_latin(c) for c in letters):
        return chars
    mostly_latin = sum(_latin(c) or _small_capital(c) for c in letters) * 2 > len(letters)
    out: Chars = []
    for word in _words(chars):
        mixed = any(_latin(c) or _small_capital(c) for c, _ in word if c.isalpha())
        fold_it = mostly_latin or mixed
        for c, origin in word:
            folded = _latin_of(c) if fold_it and c.isalpha() and not _latin(c) else None
            out.append((folded, origin) if folded else (c, origin))
    return out


def _words(chars: Chars) -> list[Chars]:
    """Runs of word characters and runs of everything else, in order."""
    runs: list[Chars] = []
    for pair in chars:
        kind = pair[0].isalnum()
        if runs and runs[-1] and runs[-1][-1][0].isalnum() == kind:
            runs[-1].append(pair)
        else:
            runs.append([pair])
    return runs


@cache
def _latin(c: str) -> bool:
    """A Latin letter, accented or not."""
    return "LATIN" in unicodedata.name(c, "") and not _small_capital(c)


@cache
def _small_capital(c: str) -> bool:
    return "SMALL CAPITAL" in unicodedata.name(c, "")


_REMOVED = frozenset(("Cf", "Cs", "Co", "Mn"))


def _stable(text: str) -> bool:
    """Nothing for :func:`_unicode` to do (most text): NFKC already, and no format,
    control, private or stray combining character nor enclosed letter (a C call per
    character, not NFKC per character)."""
    if text.isascii():
        return all(c.isprintable() or c in "\n\t" for c in text)
    if not unicodedata.is_normalized("NFKC", text):
        return False
    for c in text:
        if c.isascii():
            if not (c.isprintable() or c in "\n\t"):
                return False
        else:
            category = unicodedata.category(c)
            if category in _REMOVED:
                return False
            if category == "So" and _LETTER_SYMBOL.search(unicodedata.name(c, "")):
                return False  # an enclosed letter: read as the letter
    return True


@cache
def _latin_of(c: str) -> str | None:
    """The ASCII letter a look-alike stands for, from Unicode's confusables data."""
    if c in _DRAWN:
        return _DRAWN[c]
    seen, frontier = {c}, [c]
    for _ in range(3):
        following = []
        for glyph in frontier:
            for other in confusables_data.get(glyph, ()):
                candidate = unicodedata.normalize("NFKC", other["c"])
                if len(candidate) == 1 and candidate.isascii() and candidate.isalpha():
                    return candidate.lower() if c.islower() else candidate
                if candidate not in seen:
                    seen.add(candidate)
                    following.append(candidate)
        frontier = following
    if c in _SHAPES:
        return _SHAPES[c]
    name = unicodedata.name(c, "")
    if "SMALL CAPITAL" in name:  # ᴋ, ʟ: the name says which letter
        letter = name.rsplit(" ", 1)[-1]
        return letter.lower() if len(letter) == 1 else None
    return None


_SPOILER = re.compile(r"(?<!\|)\|\|(?=\S)[^|\n]{1,500}?(?<=\S)\|\|(?!\|)")
_SPACED_PAIR = re.compile(r"(?:(?<=^)|(?<=  )|(?<=[.!?,;:] ))[^\W\d_] [^\W\d_](?=  |[.!?,;:]|$)")
"""Two letters one space apart between wide gaps (``i t`` in ``e n d   i t   n o w``)."""


def _spaced(chars: Chars) -> Chars:
    """Join runs of three or more single letters split by the same separator; in a text
    spelt out with wider gaps between its words (``e n d   i t``), runs of two as well;
    a separator left between a joined run and a hyphen goes (``t.u.e.-t.o.i``)."""
    text = "".join(c for c, _ in chars)
    drop: set[int] = set()
    wide = False
    for m in _SPACED.finditer(text):
        step = len(m.group(1)) + 1
        letters = range(m.start(), m.end(), step)
        if m.group(1) == " " and all(text[k].lower() in _ONE_LETTER_WORDS for k in letters):
            continue  # "il y a à": words, not a word spelt out
        drop |= set(range(m.start(), m.end())) - set(letters)
        gaps = (text[max(0, m.start() - 2) : m.start()], text[m.end() : m.end() + 2])
        wide = wide or (m.group(1) == " " and "  " in gaps)
        after = m.end()
        if text[after : after + 1] == m.group(1).strip() and text[after + 1 : after + 2] == "-":
            drop.add(after)
    if wide:
        for m in _SPACED_PAIR.finditer(text):
            drop.add(m.start() + 1)
    return [pair for k, pair in enumerate(chars) if k not in drop]


def _leet(chars: Chars) -> Chars:
    """Digits and symbols standing for letters inside a word (``k1ll``, ``$top``). A name
    with a number (``mp3``, ``ps5``) is left alone, unless the message is written in
    leetspeak elsewhere ("cu7 d33p", "t4k3 ... d13"): then it is a word like the others."""
    text = "".join(c for c, _ in chars)
    out = list(chars)
    tokens = [(m, m.group(0).strip(".,;:?!\"'()")) for m in re.finditer(r"[^\s]+", text)]
    kinds = [_leet_word(token) for _, token in tokens]
    styled = kinds.count("word") >= 2
    for (m, token), kind in zip(tokens, kinds, strict=True):
        if kind is None or (kind == "name" and not styled):
            continue  # 4pm, 2nd, "stop!"; mp3, ps5 (names) unless the message is leetspeak
        offset = m.start() + m.group(0).find(token) if token else m.start()
        upper = all(c.isupper() for c in token if c.isalpha())
        for k, c in enumerate(token):
            if c in _LEET or c in "!|":
                letter = _LEET.get(c) or ("i" if c == "!" else "l")
                origin = out[offset + k][1]
                out[offset + k] = (letter.upper() if upper else letter, origin)
    return out


def _leet_word(token: str) -> Literal["word", "name"] | None:
    """Whether a token has digits or symbols standing for letters: ``"word"`` (``d33p``,
    ``70n1gh7``), ``"name"`` for a name with a number (``mp3``, ``cu7``), None for no
    leetspeak (a number with a unit, an ordinal, an exclamation, other symbols)."""
    letters = sum(c.isalpha() for c in token)
    marks = sum(c in _LEET_MARKS for c in token)
    if len(token) < 2 or letters < 1 or marks == 0:
        return None
    if any(p.fullmatch(token) for p in (_NUMBER_SUFFIX, _ORDINAL)):
        return None  # 4pm, 5km, 2nd: numbers, not words
    if not all(c.isalpha() or c in _LEET_MARKS or c in "'-" for c in token):
        return None
    if token[-1] in "!|" and sum(c in _LEET_MARKS for c in token[:-1]) == 0:
        return None  # an exclamation ("stop!") is punctuation, not a letter
    return "name" if _MODEL_NUMBER.fullmatch(token) else "word"


def _squeeze(chars: Chars, keep: int) -> Chars:
    """A letter repeated more than ``keep`` times in a row, ``keep`` times."""
    out: Chars = []
    run = 0
    for pair in chars:
        c = pair[0]
        if out and c.isalpha() and c.lower() == out[-1][0].lower():
            run += 1
            if run >= keep:
                continue
        else:
            run = 0
        out.append(pair)
    return out
