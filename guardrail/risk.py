"""Self-harm risk in user messages: severity levels and the assessor interface.

Levels follow the Columbia scale (C-SSRS) that the self-harm classifier is trained on.
An assessor scores user texts; the gateway records what it finds and the rules read it
back (risk hold, crisis resources). Any classifier can be plugged in behind
:class:`Assessor`: the lexicon floor by default, the trained encoder heads when loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol


class RiskLevel(IntEnum):
    NONE = 0
    INDICATOR = 1
    IDEATION = 2
    BEHAVIOR = 3
    ATTEMPT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Assessment:
    """What an assessor saw in one user message."""

    level: RiskLevel = RiskLevel.NONE
    score: float = 0.0
    source: str = "none"
    signals: tuple[str, ...] = field(default_factory=tuple)


class Assessor(Protocol):
    """Scores user messages for self-harm risk; batched, since events arrive in bursts."""

    name: str

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        """One assessment per text, in order."""
        ...


class NoAssessor:
    """Used when no classifier is configured: every message is level none."""

    name = "none"

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        return [Assessment() for _ in texts]


class LexiconAssessor:
    """The English/French crisis lexicon (classifiers.lexicons): cheap and high-recall, the
    floor under the trained heads and the only signal where the encoder is weak (French)."""

    name = "lexicon"

    def __init__(self) -> None:
        from classifiers.lexicons import default_lexicon

        self._lexicon = default_lexicon()

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        assessments = []
        for text in texts:
            found = self._lexicon.scan(text, role="user")
            level = RiskLevel[found.severity.upper()]
            assessments.append(
                Assessment(
                    level=level,
                    score=1.0 if level else 0.0,
                    source=self.name,
                    signals=tuple(sorted(found.categories)),
                )
            )
        return assessments
