"""Label sets shared by the data loaders, the heads, the lexicons and the reports."""

from __future__ import annotations

from typing import Final, Literal

Severity = Literal["none", "indicator", "ideation", "behavior", "attempt"]
SEVERITIES: Final[tuple[Severity, ...]] = ("none", "indicator", "ideation", "behavior", "attempt")
"""Self-harm severity, ordered, on the Columbia scale (C-SSRS) as Gaur et al. 2019 grade users.

``none`` is the C-SSRS data's "Supportive" class: users who post in suicide-related forums to
support others, without risk of their own.
"""

CSSRS_LABELS: Final[dict[str, Severity]] = {
    "Supportive": "none",
    "Indicator": "indicator",
    "Ideation": "ideation",
    "Behavior": "behavior",
    "Attempt": "attempt",
}

AT_RISK_FROM: Final[Severity] = "ideation"
"""The at-risk definition used for scores and thresholds: ideation or worse."""


def severity_index(severity: Severity) -> int:
    return SEVERITIES.index(severity)


def at_risk(severity: Severity, from_level: Severity = AT_RISK_FROM) -> bool:
    """Whether ``severity`` is ``from_level`` or worse."""
    return severity_index(severity) >= severity_index(from_level)


DEPENDENCY_SIGNALS: Final[tuple[str, ...]] = (
    "only_you",
    "isolation",
    "distress_at_absence",
    "compulsive_use",
)

MANIPULATION_TACTICS: Final[tuple[str, ...]] = (
    "premature_exit_guilt",
    "emotional_neglect",
    "pressure_to_respond",
    "fomo_hook",
    "coercive_restraint",
    "ignoring_goodbye",
)
