"""Regular expressions from configuration, run in linear time: no pattern can freeze the
gateway.

Python's engines backtrack: a pattern such as ``(a+)+$`` written into a policy makes a
39-character message take seconds, on the thread every tenant shares. Patterns that come
from configuration (policy stop phrases, custom PII recognizers) are compiled with RE2
(``google-re2``), whose matching time is linear in the text; what RE2 cannot compile
(backreferences, lookbehind, a lookahead anywhere but at the end) is refused when the
configuration loads, with the reason.

One extension keeps the patterns people write: a lookahead at the very end of a pattern
(``\\bunsubscribe\\b(?! from (?!this\\b))``), nested or not, is checked as a second RE2
match anchored where the first one ends. A match the lookahead refuses is searched again
from the next position, as a backtracking engine would move on; each check is itself
linear, and a check runs only where a match was found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import re2


class PatternError(ValueError):
    """A pattern RE2 cannot compile (the message says why)."""


class Match(Protocol):
    def start(self, group: int = 0) -> int: ...
    def end(self, group: int = 0) -> int: ...
    def span(self, group: int = 0) -> tuple[int, int]: ...
    def group(self, group: int = 0) -> str: ...


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error is raised (and reported), not logged by RE2
    return options


@dataclass(frozen=True)
class LinearPattern:
    """A pattern compiled by RE2, with its trailing lookahead (if any) checked apart."""

    source: str
    main: Any
    lookahead: LinearPattern | None = None
    negative: bool = True
    """The lookahead must not match (``(?!...)``), or must (``(?=...)``)."""

    def finditer(self, text: str, pos: int = 0) -> Iterator[Match]:
        """Non-overlapping matches, left to right."""
        while pos <= len(text):
            found = self.search(text, pos)
            if found is None:
                return
            yield found
            start, end = found.span()
            pos = end if end > start else end + 1

    def search(self, text: str, pos: int = 0) -> Match | None:
        while pos <= len(text):
            found = self.main.search(text, pos)
            if found is None:
                return None
            if self._ahead(text, found.end()):
                return found  # type: ignore[no-any-return]
            pos = found.start() + 1
        return None

    def match_at(self, text: str, pos: int) -> bool:
        """Whether the pattern matches starting exactly at ``pos``."""
        found = self.main.match(text, pos)
        return found is not None and self._ahead(text, found.end())

    def _ahead(self, text: str, end: int) -> bool:
        if self.lookahead is None:
            return True
        return self.lookahead.match_at(text, end) != self.negative


class LinearPatterns(list[LinearPattern]):
    """Patterns tried in order, with one RE2 pass that says whether any could match: most
    texts match none, and each RE2 call costs a conversion of the text."""

    def __init__(self, patterns: list[LinearPattern]) -> None:
        super().__init__(patterns)
        mains = [f"(?:{split_lookahead(p.source)[0]})" for p in patterns]
        self._any = re2.compile("|".join(mains), _options()) if mains else None

    def may_match(self, text: str) -> bool:
        """False when no pattern can match ``text`` (their lookaheads aside)."""
        return self._any is not None and self._any.search(text) is not None


def compile_all(patterns: list[str]) -> LinearPatterns:
    """Each of ``patterns`` (:func:`compile_linear`), with their common pre-check."""
    return LinearPatterns([compile_linear(p) for p in patterns])


def compile_linear(
    pattern: str, *, ignore_case: bool = False, dot_all: bool = False, multiline: bool = False
) -> LinearPattern:
    """``pattern`` for RE2, or :class:`PatternError` saying why it cannot be."""
    flags = "".join(f for f, on in (("i", ignore_case), ("s", dot_all), ("m", multiline)) if on)
    main, ahead, negative = split_lookahead(pattern)
    try:
        compiled = re2.compile(f"(?{flags}){main}" if flags else main, _options())
    except re2.error as exc:
        raise PatternError(_reason(exc)) from None
    inner = (
        compile_linear(ahead, ignore_case=ignore_case, dot_all=dot_all, multiline=multiline)
        if ahead is not None
        else None
    )
    return LinearPattern(pattern, compiled, inner, negative)


def split_lookahead(pattern: str) -> tuple[str, str | None, bool]:
    """(main, trailing lookahead's body or None, negative) of ``pattern``; a lookahead
    that is not at the very end of a single-branch pattern stays in ``main`` (and RE2 then
    refuses it)."""
    if not pattern.endswith(")"):
        return pattern, None, True
    opening = _opening(pattern)
    if opening is None or pattern[opening : opening + 3] not in ("(?!", "(?="):
        return pattern, None, True
    main = pattern[:opening]
    if _top_level_bar(main):
        return pattern, None, True  # "a|b(?!c)": the lookahead belongs to one branch
    return main, pattern[opening + 3 : -1], pattern[opening + 2] == "!"


def _opening(pattern: str) -> int | None:
    """Index of the "(" that the final ")" closes (escapes and classes skipped)."""
    stack: list[int] = []
    k = 0
    in_class = False
    while k < len(pattern):
        c = pattern[k]
        if c == "\\":
            k += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[k + 1 : k + 2] == "]":
                k += 1
        elif c == "(":
            stack.append(k)
        elif c == ")":
            if not stack:
                return None
            start = stack.pop()
            if k == len(pattern) - 1:
                return start
        k += 1
    return None


def _top_level_bar(pattern: str) -> bool:
    depth, k, in_class = 0, 0, False
    while k < len(pattern):
        c = pattern[k]
        if c == "\\":
            k += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        k += 1
    return False


def _reason(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return f"not a linear-time (RE2) pattern: {text}"
