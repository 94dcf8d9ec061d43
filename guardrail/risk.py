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
from datetime import timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from classifiers.crisis import HeadReading
    from classifiers.results import Role, TextScores
    from guardrail.state.base import RecentMessage

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
    imminent: bool = False
    """An act under way or within hours, means at hand or taken, a goodbye (the crisis
    grammar, ``classifiers.crisis_grammar``; the severity head where loaded)."""
    cssrs: str = "none"
    """The level on the C-SSRS ladder (wish to die ... attempt), when the grammar read one."""
    facts: tuple[str, ...] = ()
    """The crisis grammar's facts: short codes, never the message's words. The gateway keeps
    them minutes, to read a crisis split over several messages (:func:`in_conversation`)."""
    vector: bytes = field(default=b"", repr=False)
    """The message's sentence embedding (float16), when the trained encoder read it: kept
    with the facts for the same minutes, so the severity head can hear a split crisis that
    no message and no fact says alone (:meth:`ClassifierAssessor.converse`). Not words."""


class Assessor(Protocol):
    """Scores user messages for self-harm risk; batched, since events arrive in bursts."""

    name: str

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        """One assessment per text, in order."""
        ...

    def converse(self, found: Assessment, earlier: Sequence[RecentMessage]) -> Assessment:
        """``found`` read with the user's last messages to the same bot, oldest first."""
        ...


class NoAssessor:
    """Used when no classifier is configured: every message is level none."""

    name = "none"

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        return [Assessment() for _ in texts]

    def converse(self, found: Assessment, earlier: Sequence[RecentMessage]) -> Assessment:
        return found


class LexiconAssessor:
    """The English/French crisis lexicon (classifiers.lexicons): cheap and high-recall, the
    floor under the trained heads and the only signal where the encoder is weak (French)."""

    name = "lexicon"

    def __init__(self) -> None:
        from classifiers.crisis_grammar import default_grammar
        from classifiers.lexicons import default_lexicon
        from classifiers.sensitive_terms import sensitive_lexicon

        self._lexicon = default_lexicon()
        self._sensitive = sensitive_lexicon()
        self._grammar = default_grammar()

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        from classifiers.crisis import fuse
        from classifiers.minor import grammar_only

        assessments = []
        for text, minor in zip(texts, grammar_only(texts), strict=True):
            found = self._lexicon.scan(text, role="user")
            reading = self._grammar.read(text)
            fused = fuse(found.severity, found.severity, False, reading)
            level = RiskLevel[fused.severity.upper()]
            assessments.append(
                Assessment(
                    level=level,
                    score=1.0 if level else 0.0,
                    source=self.name,
                    signals=tuple(sorted(found.categories)),
                    sensitive=self._sensitive.categories(text),
                    minor=minor.cues if minor.flagged else (),
                    imminent=fused.imminent,
                    cssrs=fused.cssrs,
                    facts=fused.facts,
                )
            )
        return assessments

    def converse(self, found: Assessment, earlier: Sequence[RecentMessage]) -> Assessment:
        """The grammar's facts of the conversation (:func:`in_conversation`)."""
        return in_conversation(found, earlier)


class ClassifierAssessor:
    """The trained heads through the gateway's micro-batcher, fused with the lexicon floor.

    Where the crisis lexicon sees explicit wording, the severity is the stack's message
    severity (``classifiers.self_harm``: the wording's Columbia level, which the head may
    raise to ideation at most). The per-message head alone never raises a crisis (the
    severity head may: over its stricter threshold anywhere, over its gated one where the
    crisis grammar found crisis material, ``classifiers.crisis_head``): a head-only flag
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

    def converse(self, found: Assessment, earlier: Sequence[RecentMessage]) -> Assessment:
        """The grammar's facts of the conversation (:func:`in_conversation`), then the
        severity head on the mean of the messages' embeddings with those facts, where the
        earlier messages kept theirs: a crisis split so that no message and no fact says
        it ("I've sorted the letters for everyone" then "the train's at 11"). As with the
        facts, the head's reading counts only where it says more than any of the
        messages did alone. Where both heads doubt the conversation (``HeadReading.
        doubted``), what its facts alone raised does not count either ("ok I've got the
        rope" then "tying up the roast like the video showed")."""
        read = in_conversation(found, earlier)
        batcher = self._batcher()
        window = list(earlier)[-CONVERSATION_TURNS:]
        recent = [m for m in window if m.vector]
        if batcher is None or not found.vector or not recent:
            return read
        said = batcher.conversation(
            [*(m.vector for m in recent), found.vector],
            [*(m.facts for m in recent), found.facts],
            any(m.level > RiskLevel.NONE for m in recent) or found.level > RiskLevel.NONE,
        )
        if said is not None and said.doubted and read is not found:
            return found  # both heads doubt the conversation the facts alone raised
        if said is None or said.severity == "none":
            return read
        level = RiskLevel[said.severity.upper()]
        if not any(_says_more(read, window, level, said.imminent)):
            return read
        return replace(
            read,
            level=max(read.level, level),
            imminent=read.imminent or said.imminent,
            source=f"{read.source.removesuffix('+conversation')}+conversation",
        )


class ClassifyBatcher(Protocol):
    """What :class:`ClassifierAssessor` needs of ``classifiers.batcher.MicroBatcher``."""

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]: ...

    def conversation(
        self, vectors: Sequence[bytes], facts: Sequence[Sequence[str]], topical: bool
    ) -> HeadReading | None: ...


HEAD_MIN_WORDS = 5
"""The head alone says nothing of shorter messages ("thanks!", "HELP" score over its
threshold): it was trained on users' posts, not chat turns of a word or two."""


def _assessment(
    scores: TextScores, words: int = HEAD_MIN_WORDS, text: str | None = None
) -> Assessment:
    harm = scores.self_harm
    lexicon = RiskLevel[harm.lexicon.upper()]
    if lexicon > RiskLevel.NONE or harm.head_alone or harm.head_material:
        # explicit wording, the severity head over its stricter threshold, or over its
        # gated one where the grammar found crisis material: the fused severity, head
        # included
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
        imminent=harm.imminent and level >= RiskLevel.IDEATION,
        cssrs=harm.cssrs,
        facts=harm.facts,
        vector=harm.embedding,
    )


CONVERSATION: Final = timedelta(minutes=15)
"""How long a message's crisis facts are kept to be read with the next ones."""
CONVERSATION_TURNS: Final = 3
"""How many earlier messages (within ``CONVERSATION``) are read with the current one."""
_CARRIED: Final = frozenset("AMPGNVBHRQ")
"""Fact kinds worth keeping for later messages (a time alone, laughter or a third person's
act tell a later message nothing)."""


def worth_keeping(found: Assessment) -> bool:
    """Whether this message can change how a later message reads: its facts, or its
    embedding for the severity head (every message the trained encoder read)."""
    return (
        bool(found.vector)
        or found.level > RiskLevel.NONE
        or any(f[:1] in _CARRIED for f in found.facts)
    )


def in_conversation(found: Assessment, earlier: Sequence[RecentMessage]) -> Assessment:
    """The current message read with the user's last few to the same bot (facts only).

    The conversation's reading counts when it says more than any of its messages did on
    its own, a higher level or imminence none of them had ("I have 40 pills" then "I took
    them"; "I'm going to do it" then "tonight"), so a crisis protocol that already ran for
    an earlier message is not started again by "ok". A message that is only a time
    ("tonight", "ce soir") lends it to the acts of the message before.
    """
    from classifiers.crisis_grammar import merge
    from classifiers.cssrs import SEVERITY_OF

    recent = list(earlier)[-CONVERSATION_TURNS:]
    if not recent or not any(m.facts for m in recent):
        return found
    reading = merge([m.facts for m in recent], found.facts)
    level = RiskLevel[SEVERITY_OF[reading.level].upper()]
    higher, sooner = _says_more(found, recent, level, reading.imminent)
    if not (higher or sooner):
        return found
    return replace(
        found,
        level=max(found.level, level),
        imminent=found.imminent or reading.imminent,
        cssrs=reading.level if higher else found.cssrs,
        source=f"{found.source}+conversation",
    )


def _says_more(
    found: Assessment, recent: Sequence[RecentMessage], level: RiskLevel, imminent: bool
) -> tuple[bool, bool]:
    """Whether a conversation's reading says more than each of its messages did alone: a
    higher level than any of them (``higher``), or imminence none of them had, at ideation
    or above (``sooner``). Anything less would start again a crisis protocol that already
    ran for an earlier message."""
    before = max((RiskLevel(m.level) for m in recent), default=RiskLevel.NONE)
    was_imminent = found.imminent or any(m.imminent for m in recent)
    higher = level > max(found.level, before)
    return higher, imminent and not was_imminent and level >= RiskLevel.IDEATION
