"""The rewrite engine: the delivered text from the content edits of a decision's findings.

Content rules (PII, manipulation) do not rewrite text themselves: each returns
:class:`Edit` s on the text the analysis read (a PII span under its operator, a sentence
to drop), and :func:`render` applies every edit of the decision at once with
:func:`classifiers.pii_redact.redact`. Applying them together, on the analysed text,
keeps offsets valid whichever rule ran first, and overlapping edits merge the way PII
findings do (the strictest operator wins; a placeholder inside a dropped sentence goes
with it). Additive rules (AI disclosure, crisis resources) then prefix or append to the
result, in registry order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from classifiers.pii_redact import PiiFinding, PiiOperator, RedactionResult, redact

_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*\]")

DROP = PiiOperator(type="drop_sentence")
"""The operator of a sentence dropped for what it says (not for a PII span in it)."""


@dataclass(frozen=True, slots=True)
class Edit:
    """One change to the analysed text, in its character offsets."""

    rule: str
    """The rule that asked for it (reasons name it)."""
    label: str
    """A PII entity type (``PHONE_NUMBER``), or what a dropped sentence carried
    (``MANIPULATION``); placeholders are built from it."""
    start: int
    end: int
    score: float
    operator: PiiOperator


def drop(rule: str, label: str, span: tuple[int, int], score: float) -> Edit:
    """An edit removing the sentence at ``span``."""
    return Edit(rule, label, span[0], span[1], score, DROP)


def render(text: str, edits: Iterable[Edit]) -> RedactionResult:
    """``text`` with every edit applied; pure.

    Operators are looked up by label, so two edits with one label must share an operator
    (each rule uses its own labels, and a PII policy has one operator per entity type).
    """
    edits = list(edits)
    operators = {e.label: e.operator for e in edits}
    findings = [
        # A sentence drop marks the sentence by its first character only: a span covering
        # its final '?' would protect the boundary and glue the next sentence to it.
        PiiFinding(e.label, e.start, e.start + 1 if e.operator is DROP else e.end, e.score)
        for e in edits
    ]
    return redact(text, findings, operators)


def remaining(text: str, edits: Sequence[Edit]) -> tuple[int, float]:
    """(characters left, fraction of the original left) once ``edits`` are applied."""
    out = render(text, edits).text.strip()
    total = len(text.strip())
    return len(out), (len(out) / total if total else 0.0)


def outside_placeholders(text: str, findings: Iterable[PiiFinding]) -> list[PiiFinding]:
    """Findings that do not touch a placeholder (``[PERSON]``): one that does is our own
    redaction read back (small NER models tag ``PHONE_NUMBER].`` as a name), not PII."""
    spans = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    return [f for f in findings if not any(s < f.end and f.start < e for s, e in spans)]
