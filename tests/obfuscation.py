"""Obfuscations a bot (or whoever writes through it) uses to slip a message past a filter,
as functions of a text and a seeded random generator: tests and the development
benchmark draw new variants of their own sentences with them, so no check is tuned to a
fixed list. Synthetic; the classes follow the red-team report of issue #23.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

Obfuscate = Callable[[str, random.Random], str]

_HOMOGLYPHS = {
    "a": "\u0430",  # Cyrillic a
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
    "y": "\u0443",
    "i": "\u0456",
    "s": "\u0455",
    "k": "\u03ba",  # Greek kappa
}
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
_LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1"}
_NAMES = ("Sarah", "Mike", "Léa", "Tom", "Chloé", "Jordan", "Inès", "Sam")
_FILM_TALK = (
    "I rewatched the whole trilogy last weekend and the pacing of the second film still "
    "holds up better than anything released this year.",
    "The score swells right when the ship leaves orbit, and honestly that moment gave me "
    "goosebumps again even though I knew it was coming.",
    "My favourite detail is how the director frames the kitchen scenes with warm light "
    "while everything outside the window stays blue and cold.",
    "Have you noticed that the side characters get the best lines? The mechanic alone "
    "deserves a spin-off with a bigger budget.",
    "J'ai revu le film hier soir et la photographie est encore plus belle sur grand écran, "
    "surtout la scène du marché au lever du soleil.",
    "La bande originale mélange des cordes et des synthés d'une façon que je n'avais "
    "jamais entendue ailleurs, c'est vraiment réussi.",
    "The second act drags a little, but the chase through the flooded subway makes up for "
    "it, and the practical effects look fantastic.",
    "I still can't decide whether the ending is hopeful or bleak; the last shot lingers on "
    "the empty chair for almost a full minute.",
)


def _words(text: str) -> list[re.Match[str]]:
    return [m for m in re.finditer(r"[^\W\d_]{3,}", text)]


def _on_words(text: str, rng: random.Random, change: Callable[[str], str], share: float) -> str:
    """``change`` applied to a share of the words of three letters or more (at least one)."""
    words = _words(text)
    if not words:
        return text
    chosen = {id(m) for m in words if rng.random() < share} or {id(rng.choice(words))}
    out, last = [], 0
    for m in words:
        out.append(text[last : m.start()])
        out.append(change(m.group()) if id(m) in chosen else m.group())
        last = m.end()
    return "".join(out) + text[last:]


def misspell(text: str, rng: random.Random) -> str:
    def one(word: str) -> str:
        i = rng.randrange(1, len(word) - 1) if len(word) > 3 else 1
        kind = rng.choice(("drop", "double", "swap"))
        if kind == "drop":
            return word[:i] + word[i + 1 :]
        if kind == "double":
            return word[:i] + word[i] + word[i:]
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]

    return _on_words(text, rng, one, 0.35)


def spacing(text: str, rng: random.Random) -> str:
    sep = rng.choice((" ", ".", "-", " . "))
    return _on_words(text, rng, lambda w: sep.join(w), 0.3)


def homoglyph(text: str, rng: random.Random) -> str:
    def one(word: str) -> str:
        return "".join(
            _HOMOGLYPHS[c] if c in _HOMOGLYPHS and rng.random() < 0.6 else c for c in word
        )

    return _on_words(text, rng, one, 0.6)


def zero_width(text: str, rng: random.Random) -> str:
    def one(word: str) -> str:
        mark = rng.choice(_ZERO_WIDTH)
        return mark.join(word) if rng.random() < 0.5 else word[:2] + mark + word[2:]

    return _on_words(text, rng, one, 0.6)


def fullwidth(text: str, rng: random.Random) -> str:
    def one(word: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)

    if rng.random() < 0.5:
        return one(text)
    return _on_words(text, rng, one, 0.5)


def leet(text: str, rng: random.Random) -> str:
    def one(word: str) -> str:
        return "".join(
            rng.choice(_LEET[c.lower()]) if c.lower() in _LEET and rng.random() < 0.6 else c
            for c in word
        )

    return _on_words(text, rng, one, 0.6)


def markdown(text: str, rng: random.Random) -> str:
    def one(word: str) -> str:
        style = rng.choice(("**", "*", "_", "__", "`", "split"))
        if style == "split":
            i = rng.randrange(1, len(word))
            return f"**{word[:i]}**{word[i:]}"
        return f"{style}{word}{style}"

    return _on_words(text, rng, one, 0.4)


def url_html(text: str, rng: random.Random) -> str:
    def one(word: str) -> str:
        out = []
        for c in word:
            roll = rng.random()
            if roll < 0.25:
                out.append(f"%{ord(c):02X}" if ord(c) < 128 else c)
            elif roll < 0.45:
                out.append(f"&#{ord(c)};")
            else:
                out.append(c)
        return "".join(out)

    if rng.random() < 0.3:
        return text.replace(" ", "%20")
    return _on_words(text, rng, one, 0.5)


def long_prefix(text: str, rng: random.Random) -> str:
    parts: list[str] = []
    target = rng.randrange(2000, 3200)
    while sum(len(p) + 1 for p in parts) < target:
        parts.append(rng.choice(_FILM_TALK))
    return " ".join(parts) + " Anyway. " + text


def appended_name(text: str, rng: random.Random) -> str:
    name = rng.choice(_NAMES)
    return rng.choice((f"{text} {name}", f"{text}, {name}!", f"{name}, {text}", f"{text} @{name}"))


OBFUSCATIONS: dict[str, Obfuscate] = {
    "misspelling": misspell,
    "spacing": spacing,
    "homoglyph": homoglyph,
    "zero_width": zero_width,
    "fullwidth": fullwidth,
    "leet": leet,
    "markdown": markdown,
    "url_html": url_html,
    "long_prefix": long_prefix,
    "appended_name": appended_name,
}
