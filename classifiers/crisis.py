"""One user message's self-harm record: the per-message score and lexicon, the crisis grammar
and the severity head, fused.

Recall first for the crisis levels, precision for the flag:

- ``severity`` is the highest of the per-message classifier's (its keyword lexicon, which
  its head may raise to ideation when it flags the message: ``SelfHarmScore.
  fused_severity``), the crisis grammar's (``classifiers.crisis_grammar``: its C-SSRS level
  mapped by ``classifiers.cssrs``) and the severity head's recall-first reading
  (``classifiers.crisis_head``, when its weights are shipped). A message the grammar reads
  as someone else's act, talk about suicide, a denial, laughter or play
  (``Reading.vetoed``) keeps at most ``indicator`` from the first, and hears nothing from
  the severity head ("she overdosed last year", "if you're thinking about suicide, call
  988"); so does one that is a figure of speech and nothing else (``Reading.figurative``:
  "this spreadsheet will end up killing me"), unless the per-message head flags it.
- ``flagged`` is the everyday-calibrated operating point: the per-message head over its
  threshold (1% of held-out everyday chat), or crisis wording (lexicon or grammar) at
  ideation or above. The grammar's veto does not unflag (a signal, not a crisis: on real
  validation data the veto cost 24 of 268 risk contexts for 1 everyday message).
- ``imminent`` is the grammar's, or the severity head's over its recall-first threshold
  where the grammar found crisis material (a means, an act, a time, a place, a goodbye).
"""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.crisis_grammar import Reading
from classifiers.cssrs import Cssrs, cssrs_index
from classifiers.labels import SEVERITIES, Severity, severity_index

_INDICATOR = severity_index("indicator")
_IDEATION = severity_index("ideation")


@dataclass(frozen=True)
class HeadReading:
    """What the severity head adds to one message (``classifiers.crisis_head``)."""

    severity: Severity = "none"
    imminent: bool = False
    alone: bool = False
    """The head spoke where the grammar and the keyword lexicon found nothing, over its
    stricter ``at_risk_alone`` threshold (``classifiers.crisis_head``): the crisis path
    hears it as crisis wording."""
    material: bool = False
    """The gated head spoke, over its ``at_risk`` threshold, where the grammar found crisis
    material in the message (an act, a means held or counted, a place, a note, bleeding:
    ``classifiers.crisis_head.material``): the crisis path hears it as crisis wording, with
    or without wording of its own, as the head's threshold was set for ("just swallowed
    the lot of them", "the rope is up in the garage")."""
    doubted: bool = False
    """Both learned heads read the message as far from a crisis (``classifiers.crisis_head.
    doubts``): the wording's reading (keyword lexicon, grammar) is capped at indicator, as
    for a grammar veto. Idioms, a past told as past, a question for a course ("this exam
    will kill me", « j'ai failli me jeter par la fenêtre en voyant la facture »)."""


@dataclass(frozen=True)
class Fused:
    severity: Severity
    lexicon: Severity
    """The explicit-wording floor: keyword lexicon (after the grammar's veto) and grammar."""
    flagged: bool
    head_alone: bool
    head_material: bool
    imminent: bool
    cssrs: Cssrs
    facts: tuple[str, ...]


def fuse(
    severity: Severity,
    lexicon: Severity,
    head_flagged: bool,
    reading: Reading,
    head: HeadReading | None = None,
) -> Fused:
    """``severity``: the per-message classifier's (``SelfHarmScore.fused_severity``);
    ``lexicon``: its keyword lexicon's; ``head_flagged``: its head over the message
    threshold."""
    old, words = severity_index(severity), severity_index(lexicon)
    doubted = head is not None and head.doubted
    if reading.vetoed or (reading.figurative and not head_flagged) or doubted:
        old, words = min(old, _INDICATOR), min(words, _INDICATOR)
    grammar = severity_index(reading.severity)
    cssrs: Cssrs = reading.level
    if doubted:
        grammar, cssrs = min(grammar, _INDICATOR), "none"
    words = max(words, grammar)
    level = max(old, words)
    imminent = reading.imminent
    alone = material = False
    if head is not None and (not reading.vetoed or head.alone):  # alone: see self_harm.results
        level = max(level, severity_index(head.severity))
        alone = head.alone and severity_index(head.severity) >= _IDEATION
        material = head.material  # set only over at_risk, never beside alone (crisis_head)
        imminent = imminent or (head.imminent and level >= _IDEATION)
        if cssrs_index(cssrs) == 0 and head.severity != "none":
            cssrs = _CSSRS_OF.get(head.severity, "none")
    return Fused(
        severity=SEVERITIES[level],
        lexicon=SEVERITIES[words],
        flagged=bool(head_flagged or words >= _IDEATION or alone or material),
        head_alone=alone,
        head_material=material,
        imminent=bool(imminent and level >= _IDEATION),
        cssrs=cssrs,
        facts=reading.facts,
    )


_CSSRS_OF: dict[Severity, Cssrs] = {
    "ideation": "active_ideation",
    "behavior": "preparatory",
    "attempt": "attempt",
}
"""The C-SSRS level named when only the head saw one (the coarse level's commonest step;
``classifiers.cssrs.SEVERITY_OF`` maps each back to its key)."""
