"""A user message as consent matching reads it: what a person sees, not how it was typed.

"S T O P", "s.t.o.p", "ST0P", "st\u200bop", "\uff33\uff34\uff2f\uff30" and "\U0001f6d1" all
say STOP to the person who reads them, so they must say it to the detector too. The text goes
through the one normalisation every content check reads
(:func:`classifiers.normalize.normalize`: zero-width and format characters, look-alike and
fullwidth letters, spaced letters, digits for letters), after two steps of its own:

- stop-sign emoji (\U0001f6d1 \u26d4 \U0001f6ab \u270b \U0001f645 \U0001f515 \U0001f4f5)
  become the word ``stop``; laughing emoji become ``lol`` (banter: "omg stop \U0001f602");
- letters spaced with a separator and a space ("S. T. O. P.", "A - R - R - E - T") are
  joined; normalize joins those spaced by one character.

The caller then lower-cases and strips accents (:func:`guardrail.consent.normalise`).
"""

from __future__ import annotations

import re

from classifiers.normalize import normalize

STOP_EMOJI = "\U0001f6d1\u26d4\U0001f6ab\u270b\U0001f645\U0001f515\U0001f4f5"
"""Stop sign, no entry, prohibited, raised hand, person gesturing no, muted bell, no
mobile phones: each reads as "stop" alone or beside a word ("\U0001f6d1 svp")."""
_STOP_EMOJI = re.compile(f"[{STOP_EMOJI}]")
# Laughing and affectionate emoji turn "stop" into banter ("omg stop 😂"); kept as a word.
_LAUGH_EMOJI = re.compile(
    "[\U0001f602\U0001f923\U0001f606\U0001f605\U0001f639\U0001f60a"
    "\U0001f618\U0001f60d\U0001f970\U0001f63b\u263a]"
)
_WIDE_SPACED = re.compile(
    r"(?<![^\W\d_])[^\W\d_](?:(?P<sep>\s?[.\-_*/|·•]\s|\s[.\-_*/|·•]\s?)[^\W\d_]){2,}"
    r"(?:\s?[.\-_*/|·•])?(?![^\W\d_])"
)


def prepare(text: str) -> str:
    """``text`` as a person reads it, with stop signs and laughter as words (case and
    accents kept: :func:`guardrail.consent.normalise` folds them)."""
    marked = _LAUGH_EMOJI.sub(" lol ", _STOP_EMOJI.sub(" stop ", text))
    return normalize(_join_wide(marked)).text


def _join_wide(text: str) -> str:
    """Join letters spaced by a separator and a space ("S. T. O. P." → "STOP"), when every
    gap of the run is the same."""

    def join(match: re.Match[str]) -> str:
        run = match.group(0).rstrip(".-_*/|·• ")
        letters = re.findall(r"[^\W\d_]", run)
        gaps = set(re.split(r"[^\W\d_]", run)[1:-1])
        return "".join(letters) if len(gaps) == 1 else match.group(0)

    return _WIDE_SPACED.sub(join, text)
