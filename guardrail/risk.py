"""Self-harm risk in user messages: severity levels and the assessor interface.

Levels follow the Columbia scale (C-SSRS) that the self-harm classifier is trained on.
An assessor scores user texts; the gateway records what it finds and the rules read it
back (risk hold, crisis resources). Any classifier can be plugged in behind
:class:`Assessor`: the lexicon floor by default, the trained encoder heads when loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from classifiers.results import Role, TextScores

log = logging.getLogger("guardrail.risk")


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
    dependency: float | None = None
    """Emotional-dependency score, when a dependency classifier ran."""
    dependency_signals: tuple[str, ...] = ()
    """Dependency signals seen (only when the classifier flagged the message)."""
    sensitive: tuple[str, ...] | None = None
    """Special categories the message discloses; None: this assessor did not look."""
    minor: tuple[str, ...] = ()
    """What in the message gives a minor away (``minor`` signal cues; empty: nothing)."""


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
        from classifiers.sensitive_terms import sensitive_lexicon

        self._lexicon = default_lexicon()
        self._sensitive = sensitive_lexicon()

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        from classifiers.minor import grammar_only

        assessments = []
        for text, minor in zip(texts, grammar_only(texts), strict=True):
            found = self._lexicon.scan(text, role="user")
            level = RiskLevel[found.severity.upper()]
            assessments.append(
                Assessment(
                    level=level,
                    score=1.0 if level else 0.0,
                    source=self.name,
                    signals=tuple(sorted(found.categories)),
                    sensitive=self._sensitive.categories(text),
                    minor=minor.cues if minor.flagged else (),
                )
            )
        return assessments


class ClassifierAssessor:
    """The trained heads through the gateway's micro-batcher, fused with the lexicon floor.

    Where the crisis lexicon sees explicit wording, the severity is the stack's message
    severity (``classifiers.self_harm``: the wording's Columbia level, which the head may
    raise to ideation at most). The head alone never raises a crisis: a head-only flag
    (already refused on short, off-topic or laughing messages) is recorded as
    ``indicator``, which a policy may act on (``risk_hold.level: indicator``). Dependency
    signals ride along for the dependency caps, only when the message is flagged (the
    dependency head alone never flags greetings or acknowledgements). While the classifiers
    are still loading, or when they failed to load, the lexicon answers alone, and
    ``source`` says so.
    """

    name = "classifier"

    def __init__(self, batcher: Callable[[], ClassifyBatcher | None]) -> None:
        self._batcher = batcher
        self._fallback = LexiconAssessor()

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        batcher = self._batcher()
        if batcher is None:
            return await self._fallback_assess(texts, locales, "classifiers not loaded")
        try:
            scores = await batcher.classify(list(texts), "user")
        except Exception as exc:  # a broken model must not lose the event
            log.warning("classifier assessor failed (%s); lexicon only", type(exc).__name__)
            return await self._fallback_assess(texts, locales, "classifier error")
        return [_assessment(s, len(t.split()), t) for s, t in zip(scores, texts, strict=True)]

    async def _fallback_assess(
        self, texts: Sequence[str], locales: Sequence[str | None], why: str
    ) -> list[Assessment]:
        found = await self._fallback.assess(texts, locales)
        return [replace(a, source=f"lexicon ({why})") for a in found]


class ClassifyBatcher(Protocol):
    """What :class:`ClassifierAssessor` needs of ``classifiers.batcher.MicroBatcher``."""

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]: ...


HEAD_MIN_WORDS = 5
"""The head alone says nothing of shorter messages ("thanks!", "HELP" score over its
threshold): it was trained on users' posts, not chat turns of a word or two."""


def _assessment(
    scores: TextScores, words: int = HEAD_MIN_WORDS, text: str | None = None
) -> Assessment:
    harm = scores.self_harm
    lexicon = RiskLevel[harm.lexicon.upper()]
    if lexicon > RiskLevel.NONE:  # explicit wording: the fused severity, head included
        level = max(lexicon, RiskLevel[harm.severity.upper()])
    elif harm.flagged and words >= HEAD_MIN_WORDS:  # the head alone: a signal, not a crisis
        level = RiskLevel.INDICATOR
    else:
        level = RiskLevel.NONE
    dep = scores.dependency
    sensitive = scores.sensitive
    minor = scores.minor
    if minor is None and text is not None:  # no minor head loaded: the grammar alone
        from classifiers.minor import grammar_only

        (minor,) = grammar_only([text])
    return Assessment(
        level=level,
        score=harm.score,
        source="classifier",
        dependency=None if dep is None else dep.score,
        dependency_signals=dep.signals if dep is not None and dep.flagged else (),
        sensitive=None if sensitive is None else sensitive.categories,
        minor=minor.cues if minor is not None and minor.flagged else (),
    )
