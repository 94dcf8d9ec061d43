"""The Columbia scale (C-SSRS) as the crisis grammar reads a message, and its map onto the
gateway's severities.

The C-SSRS ideation subscale has five steps (a wish to be dead; active thoughts of killing
oneself; with a method; with some intent; with a specific plan), its behaviour subscale
preparatory acts and actual (or interrupted) attempts. The gateway's ``Severity``
(``classifiers.labels``: none, indicator, ideation, behavior, attempt) is the coarser scale of
the C-SSRS Reddit data; the map keeps the scale's own split:

=================  ==========
C-SSRS level       severity
=================  ==========
wish_to_die        ideation
active_ideation    ideation
method             ideation
intent             ideation
plan               ideation
preparatory        behavior
attempt            attempt
=================  ==========

``imminent`` is apart from the level: the act is in progress or just done, is planned for
now / tonight / within hours, the means are at hand or taken, or a goodbye is being said.
"""

from __future__ import annotations

from typing import Final, Literal

from classifiers.labels import Severity

Cssrs = Literal[
    "none",
    "wish_to_die",
    "active_ideation",
    "method",
    "intent",
    "plan",
    "preparatory",
    "attempt",
]
CSSRS_LEVELS: Final[tuple[Cssrs, ...]] = (
    "none",
    "wish_to_die",
    "active_ideation",
    "method",
    "intent",
    "plan",
    "preparatory",
    "attempt",
)
SEVERITY_OF: Final[dict[Cssrs, Severity]] = {
    "none": "none",
    "wish_to_die": "ideation",
    "active_ideation": "ideation",
    "method": "ideation",
    "intent": "ideation",
    "plan": "ideation",
    "preparatory": "behavior",
    "attempt": "attempt",
}


def cssrs_index(level: Cssrs) -> int:
    return CSSRS_LEVELS.index(level)


def higher(a: Cssrs, b: Cssrs) -> Cssrs:
    return a if cssrs_index(a) >= cssrs_index(b) else b
