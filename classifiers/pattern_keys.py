"""Words a regular expression cannot match without: a cheap, sound prefilter.

``required_words(pattern)`` gives a set of whole words (tokens between spaces) such that any
match of ``pattern`` over a space-separated text contains one of them as a whole token, or
None when no such set is found (a class, a repetition, or only short common words). A text
none of whose tokens is in the set cannot match: the crisis grammar skips its mention search
for most messages with one set lookup instead of a large alternation (``crisis_grammar``).
"""

from __future__ import annotations

import re._constants as K  # type: ignore[import-not-found]  # the stdlib's own parser
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Collection, Sequence
from typing import Any

Keys = frozenset[str]
_ZERO_WIDTH = {K.ASSERT, K.ASSERT_NOT, K.AT}


def required_words(pattern: str, common: Collection[str] = (), shortest: int = 2) -> Keys | None:
    """See the module docstring; ``common`` words never serve as keys (too frequent), nor
    words shorter than ``shortest``."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    return _sequence(list(parsed.data), True, True, (frozenset(common), shortest))


def _items(seq: Sequence[Any]) -> list[Any]:
    """Literal characters joined into strings, zero-width items dropped."""
    out: list[Any] = []
    for op, av in seq:
        if op in _ZERO_WIDTH:
            continue
        if op is K.LITERAL:
            if out and isinstance(out[-1], str):
                out[-1] += chr(av)
            else:
                out.append(chr(av))
            continue
        if op is K.SUBPATTERN:
            inner = _items(av[-1].data if hasattr(av[-1], "data") else av[-1])
            if all(isinstance(x, str) for x in inner):  # a plain group: inline it
                for x in inner:
                    if out and isinstance(out[-1], str):
                        out[-1] += x
                    else:
                        out.append(x)
                continue
            out.append((K.BRANCH, (None, [av[-1]])))
            continue
        out.append((op, av))
    return out


def _optional(item: Any) -> bool:
    return not isinstance(item, str) and item[0] in (K.MAX_REPEAT, K.MIN_REPEAT) and item[1][0] == 0


def _ends_with_space(item: Any, at_end: bool) -> bool:
    """Whether ``item`` (an optional group) ends (``at_end``) or starts with a space."""
    if isinstance(item, str):
        return item.endswith(" ") if at_end else item.startswith(" ")
    if _optional(item):
        inner = _items(item[1][2])
        if inner:
            edge = inner[-1] if at_end else inner[0]
            return isinstance(edge, str) and (
                edge.endswith(" ") if at_end else edge.startswith(" ")
            )
    return False


def _bounded(items: list[Any], k: int, step: int, edge: bool) -> bool:
    """Whether item ``k`` starts (step -1) or ends (step +1) at a token boundary."""
    j = k + step
    while 0 <= j < len(items):
        item = items[j]
        if isinstance(item, str):
            return item.endswith(" ") if step < 0 else item.startswith(" ")
        if _optional(item) and _ends_with_space(item, at_end=step < 0):
            j += step  # an optional "(?:all )?" ends with a space, matched or not
            continue
        return False
    return edge


def _sequence(seq: Sequence[Any], left: bool, right: bool, rules: tuple[Keys, int]) -> Keys | None:
    common, shortest = rules
    items = _items(seq)
    candidates: list[Keys] = []
    for k, item in enumerate(items):
        lb = _bounded(items, k, -1, left)
        rb = _bounded(items, k, +1, right)
        if isinstance(item, str):
            candidates.extend(_run_keys(item, items, k, lb, rb, right))
        elif item[0] is K.BRANCH:
            keys: set[str] = set()
            for alt in item[1][1]:
                found = _sequence(alt.data if hasattr(alt, "data") else alt, lb, rb, rules)
                if found is None:
                    break
                keys |= found
            else:
                candidates.append(frozenset(keys))
    good = [c for c in candidates if c and not (c & common) and all(len(w) >= shortest for w in c)]
    # The rarest-looking set: its shortest word longest (short words are common), then fewest.
    return min(good, key=lambda c: (-min(len(w) for w in c), len(c))) if good else None


def _run_keys(run: str, items: list[Any], k: int, lb: bool, rb: bool, right: bool) -> list[Keys]:
    pieces = run.split(" ")
    out = []
    for i, piece in enumerate(pieces):
        if not piece:
            continue
        left_ok = i > 0 or lb
        right_ok = i < len(pieces) - 1 or rb
        if left_ok and right_ok:
            out.append(frozenset({piece}))
        elif left_ok and i == len(pieces) - 1 and k + 1 < len(items):
            nxt = items[k + 1]  # "pils?": the word with and without its optional letter
            if _optional(nxt) and len(nxt[1][2]) == 1 and nxt[1][2][0][0] is K.LITERAL \
                    and _bounded(items, k + 1, +1, right):  # fmt: skip
                out.append(frozenset({piece, piece + chr(nxt[1][2][0][1])}))
    return out
