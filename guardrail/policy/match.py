"""Which policy applies to a request: ``match:`` criteria and their precedence.

Every matching policy gets a key; the highest key wins. The key compares, in order:

1. how many dimensions the policy constrains (of bots, tenants, jurisdictions, channels,
   minors): a policy that pins down more of the request is more specific;
2. then the dimensions themselves, in the order bots > tenants > jurisdictions >
   channels > minors, where a jurisdiction counts by the depth of the code that matched
   (``US-CA`` = 2 beats ``US`` = 1).

Two policies that could match one request with equal keys are ambiguous; the set refuses
to load (see :func:`tie`), so the order in which files are read never decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable

from guardrail.models import OutreachRequest
from guardrail.policy.schema import PolicyMatch

Key = tuple[int, int, int, int, int, int]


def depth(pattern: str, jurisdiction: str | None) -> int:
    """How deep ``pattern`` matches (``US`` matches ``US-CA`` at depth 1); 0 when not at all."""
    if jurisdiction is None:
        return 0
    want, have = pattern.upper().split("-"), jurisdiction.upper().split("-")
    return len(want) if have[: len(want)] == want else 0


def best_depth(patterns: Iterable[str], jurisdiction: str | None) -> int:
    return max((depth(p, jurisdiction) for p in patterns), default=0)


def key(match: PolicyMatch, tenant: str, req: OutreachRequest) -> Key | None:
    """The precedence key of a policy for this request, or None when it does not apply."""
    if match.bots and req.bot_id not in match.bots:
        return None
    if match.tenants and tenant not in match.tenants:
        return None
    if match.channels and req.channel not in match.channels:
        return None
    if match.minors != "any" and req.user.is_minor is not match.minors:
        return None
    jurisdiction = best_depth(match.jurisdictions, req.user.jurisdiction)
    if match.jurisdictions and not jurisdiction:
        return None
    return _key(match, jurisdiction)


def specificity(match: PolicyMatch) -> Key:
    """The key of a policy before any request is known (jurisdiction depth 0)."""
    return _key(match, 0)


def _key(match: PolicyMatch, jurisdiction: int) -> Key:
    flags = (
        int(bool(match.bots)),
        int(bool(match.tenants)),
        int(bool(match.jurisdictions)),
        int(bool(match.channels)),
        int(match.minors != "any"),
    )
    return (sum(flags), flags[0], flags[1], jurisdiction, flags[3], flags[4])


def tie(a: PolicyMatch, b: PolicyMatch) -> str | None:
    """A request both policies match with equal precedence, described; None when none exists.

    Matching is a conjunction over independent dimensions and the key compares dimension by
    dimension, so a tie exists exactly when the two constrain the same dimensions and, in
    each, some value matches both (for jurisdictions: at the same depth).
    """
    if _key(a, 0) != _key(b, 0):
        return None
    example: list[str] = []
    for dimension in ("tenants", "bots", "channels"):
        mine, theirs = getattr(a, dimension), getattr(b, dimension)
        if mine:
            common = [v for v in mine if v in theirs]
            if not common:
                return None
            example.append(f"{dimension[:-1]} {common[0]}")
    if a.jurisdictions:
        candidates = [*a.jurisdictions, *b.jurisdictions]
        shared = [
            j
            for j in candidates
            if best_depth(a.jurisdictions, j) == best_depth(b.jurisdictions, j) > 0
        ]
        if not shared:
            return None
        example.append(f"jurisdiction {shared[0]}")
    if a.minors != "any":
        if a.minors != b.minors:
            return None
        example.append("a minor" if a.minors else "an adult")
    return ", ".join(example)
