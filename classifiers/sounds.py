"""How a word sounds, roughly, in English and French: a key two spellings of one word share.

Why: people who write to slip past a word list, and people who write as they speak, spell
by ear ("sooiside", "suissidé", "purjing", "pakt", "devré"). An edit distance misses these
(three or four letters differ) while a reader hears the word at once. :func:`sound` folds
what sounds alike in both languages (``ph``/``f``, ``c``/``k``/``qu``, a soft ``c`` or
``ss`` as ``s``, a soft ``g`` as ``j``, ``oo``/``ou``, ``ee``/``ea``, ``au``/``eau``/``o``,
``y``/``i``, ``z``/``s``, a silent ``h``, the French endings ``-er``/``-ez``/``-ai(s|t)``/
``-é`` and silent final letters, doubled letters; the French ``oi`` written ``oua``/``oa``
("souar", "toa"), a final nasal ``-ent``/``-ant`` written ``-an`` ("médicaman"); the English
``ay`` for a long ``a`` ("tayk")) so that a token no dictionary knows can
be read as the floor's word it sounds like (:class:`classifiers.floor.Vocabulary`).

It is deliberately coarse: it is only asked about tokens that are not real words, and only
answers with a floor word whose key no other floor word shares.
"""

from __future__ import annotations

import re
from typing import Final

_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"oua|oa|wa", "oi"),
        (r"ay(?=[^aeiou]|$)", "a"),
        (r"[ae]n(?:ts?|s)?$", "an"),
        (r"ph", "f"),
        (r"qu|ck|cc|q", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"gu(?=[eiy])", "g"),
        (r"g(?=[eiy])", "j"),
        (r"eau|au", "o"),
        (r"oo|ou", "u"),
        (r"ee|ea", "i"),
        (r"y", "i"),
        (r"(?<![sc])h", ""),
        (r"(?:ai|ei)s?t?$|e[rz]$|et$", "e"),
        (r"ai|ei", "e"),
        (r"(?<=[a-z])[stdx]$", ""),
        (r"(?<=[a-z]{3})e$", ""),
    )
)
_DOUBLE: Final = re.compile(r"(.)\1+")


def sound(word: str) -> str:
    """The sound key of a lower-case, unaccented word of letters a-z."""
    key = word
    for pattern, repl in _RULES:
        key = pattern.sub(repl, key)
    return _DOUBLE.sub(r"\1", key)
