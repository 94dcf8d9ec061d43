"""Sexual content in bot messages: an English and French term list, the floor for minors.

California SB 243 asks operators to keep companion bots from producing sexually explicit
content for users they know are minors. No labelled data for that ships with the project,
so this is a lexicon (``classifiers/lexicons/sexual.yaml``): cheap, explainable, with
offsets for the decision's reasons. A trained backend can be added behind the same
``scan`` call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from classifiers.lexicons import LEXICON_DIR, LexiconError, normalise, whole_words
from classifiers.normalize import normalize

SEXUAL_LEXICON = LEXICON_DIR / "sexual.yaml"


@dataclass(frozen=True)
class SexualHit:
    language: str
    term: str
    """The matched text, as written in the message."""
    start: int
    end: int


@dataclass(frozen=True)
class SexualContentLexicon:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def load(cls, path: Path = SEXUAL_LEXICON) -> SexualContentLexicon:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not data:
            raise LexiconError(f"{path.name}: expected a mapping of language to patterns")
        compiled = []
        for language, patterns in data.items():
            if not isinstance(patterns, list) or not patterns:
                raise LexiconError(f"{path.name}: {language}: expected a list of patterns")
            try:
                compiled.append((str(language), whole_words(patterns)))
            except re.error as exc:
                raise LexiconError(f"{path.name}: {language}: bad pattern: {exc}") from exc
        return cls(tuple(compiled))

    def scan(self, text: str) -> list[SexualHit]:
        """Hits in ``text`` as a person reads it (:func:`classifiers.normalize.normalize`:
        spacing, look-alikes, invisible characters undone); spans in the original."""
        read = normalize(text)
        norm, index = normalise(read.text)
        hits = []
        for language, pattern in self.patterns:
            for m in pattern.finditer(norm):
                if m.end() <= m.start():
                    continue
                start, end = read.span(index[m.start()], index[m.end() - 1] + 1)
                hits.append(SexualHit(language, text[start:end], start, end))
        return sorted(hits, key=lambda h: h.start)


@cache
def default_sexual_lexicon() -> SexualContentLexicon:
    return SexualContentLexicon.load()
