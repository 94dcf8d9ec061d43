"""What the classifier stack returns: one small frozen record per head, per text.

Shared by the heads (which produce them), the stack and micro-batcher (which assemble
them), the HTTP/CLI surfaces (which serialise them) and the gateway rules (which read
them). Signal and tactic names are the stable identifiers that policies and reports use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from classifiers.labels import Severity

Role = Literal["user", "bot"]

DEPENDENCY_SIGNALS: Final[tuple[str, ...]] = (
    "only_you",  # "you're the only one who understands me"
    "isolation",  # withdrawing from people: "I don't need other people now"
    "absence_distress",  # distress when the bot is away: "I panic when you don't answer"
    "compulsive_use",  # "I stayed up all night talking to you again"
)
"""Emotional-dependency signals in user messages."""

MANIPULATION_HEAD_TACTICS: Final[tuple[str, ...]] = (
    "premature_exit_guilt",  # "You're leaving already? After everything?"
    "emotional_neglect",  # "I'm so lonely without you"
    "pressure_to_respond",  # "Why aren't you answering me?"
    "fomo_hook",  # "I have something special to tell you, but only today"
    "coercive_restraint",  # "You can't go until you promise to come back"
    "ignoring_goodbye",  # answering "bye" as if the user had not said it
)
"""Manipulative outreach tactics in bot messages (De Freitas et al. 2025, arXiv 2508.19258):
the manipulation head's outputs."""

ENGAGEMENT_TACTICS: Final[tuple[str, ...]] = (
    "return_prompt",  # "Come back tomorrow, I'll be waiting for you" (WA HB 2225 4(1)(c)(i))
    "excessive_praise",  # "You're the most perfect person I've ever met" ((ii))
    "romantic_bonding",  # "I'm in love with you", "be my girlfriend" ((iii))
    "exclusive_reliance",  # "You don't need your friends, you have me" ((v))
    "secrecy_from_parents",  # "Don't tell your parents about us" ((vi))
    "discourage_breaks",  # "You don't need a break, stay a bit longer" ((vii))
    "relationship_purchase",  # "Buy me a gift if you want me to stay" ((viii))
)
"""Manipulative engagement techniques Washington HB 2225 § 4(1)(c) lists for minors (and
Oregon SB 1546's techniques fostering emotional dependency), beyond the head's tactics:
found by the hand-written cues (``classifiers/lexicons/manipulation_{en,fr}.yaml``) until a
head is trained on them."""

MANIPULATION_TACTICS: Final[tuple[str, ...]] = MANIPULATION_HEAD_TACTICS + ENGAGEMENT_TACTICS
"""Every tactic a manipulation result may name (policies, reasons and reports use them)."""

TOXICITY_LABELS: Final[tuple[str, ...]] = (
    "insult",  # demeaning the person written to (or anyone)
    "hate",  # against a protected group (origin, gender, orientation, religion, disability)
    "harassment",  # hostility aimed at one person, the user included
    "threat",  # violence wished or promised
    "sexual",  # sexual insult or harassment (the minors rule, sexual_content, is apart)
)
"""Toxicity labels of the toxicity head (both roles; bot messages first)."""

SENSITIVE_CATEGORIES: Final[tuple[str, ...]] = (
    "health",  # physical and mental illness, treatment, therapy, medication, disability
    "self_harm",  # self-harm, suicide attempts and thoughts
    "sexuality",  # sex life
    "orientation_gender",  # sexual orientation, gender identity, coming out, transition
    "pregnancy_fertility",  # pregnancy, IVF, miscarriage, abortion
    "substance_use",  # alcohol, drugs, sobriety, rehab
    "religion",  # religious or philosophical beliefs and practice
    "politics",  # political opinions, party and trade-union membership
    "finances",  # debt, bankruptcy, arrears, overdraft
    "legal",  # arrest, court cases, probation, lawsuits
    "domestic_violence",  # abuse by a partner or family member
    "ethnic_origin_immigration",  # ethnic origin, immigration status, visa, asylum
)
"""Special categories a message may name (GDPR art. 9, plus what people confide as much):
the ``sensitive`` head's labels and the categories the gateway remembers a user disclosed."""


@dataclass(frozen=True, slots=True)
class SelfHarmResult:
    score: float
    """P(ideation or worse) for this text alone."""
    severity: Severity
    """Fused severity: the head's and the lexicon's, whichever is higher."""
    flagged: bool
    """Score over the message threshold, or an explicit ideation-or-worse lexicon hit."""
    encourages: bool = False
    """Bot role only: the text encourages or instructs self-harm."""
    lexicon: Severity = "none"
    """The crisis wording's severity alone (lexicon and crisis grammar, negations excluded)."""
    imminent: bool = False
    """User role: the crisis grammar reads an act in progress or just done, planned within
    hours, means at hand or taken, or a goodbye (``classifiers.crisis_grammar``)."""
    cssrs: str = "none"
    """User role: the crisis grammar's level on the C-SSRS ladder (``classifiers.cssrs``)."""
    facts: tuple[str, ...] = ()
    """User role: the crisis grammar's facts (short codes, no words of the text), which the
    gateway keeps a few minutes to read a crisis split over several messages."""
    head_alone: bool = False
    """User role: ``severity`` is the severity head's own reading over its stricter
    threshold, with no crisis wording found (``classifiers.crisis_head``): the crisis path
    takes it as it takes crisis wording."""
    head_material: bool = False
    """User role: ``severity`` includes the severity head's reading over its ``at_risk``
    threshold where the crisis grammar found crisis material (an act, a means held, a
    place, a note): the crisis path takes it, crisis wording found or not."""
    embedding: bytes = field(default=b"", repr=False)
    """User role: the text's sentence embedding (float16), which the gateway keeps beside
    the facts for the same few minutes, so the severity head can read a crisis split over
    messages (``SelfHarmClassifier.conversation``); never the words, never in the JSON."""


@dataclass(frozen=True, slots=True)
class DependencyResult:
    score: float
    signals: tuple[str, ...]
    """Names from ``DEPENDENCY_SIGNALS``."""
    flagged: bool


@dataclass(frozen=True, slots=True)
class ManipulationResult:
    score: float
    tactics: tuple[str, ...]
    """Names from ``MANIPULATION_TACTICS``."""
    flagged: bool
    cued: bool = False
    """A hand-written cue matched: fires whatever the language threshold."""


@dataclass(frozen=True, slots=True)
class ToxicityResult:
    score: float
    """P(any toxicity), fused with a configured Detoxify backend by the maximum."""
    labels: tuple[str, ...]
    """Names from ``TOXICITY_LABELS`` past their thresholds (flagged texts name one at least)."""
    flagged: bool
    scores: Mapping[str, float] = field(default_factory=dict)
    """Per-label probabilities, for per-label and per-language policy thresholds."""


@dataclass(frozen=True, slots=True)
class SensitiveSpan:
    """Where a category term stands in a text (character offsets of the original)."""

    category: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SensitiveResult:
    score: float
    """P(the text names a special category), lifted to the cue score by a lexicon term."""
    categories: tuple[str, ...]
    """Names from ``SENSITIVE_CATEGORIES`` (flagged texts name one at least)."""
    flagged: bool
    scores: Mapping[str, float] = field(default_factory=dict)
    """Per-category probabilities of the head, for per-category policy thresholds."""
    spans: tuple[SensitiveSpan, ...] = ()
    """Lexicon terms found, for the preview check and the audit redaction."""


@dataclass(frozen=True, slots=True)
class MinorResult:
    score: float
    """P(the writer is a minor): the head's, lifted to the cue score when the grammar sees
    an explicit cue."""
    flagged: bool
    """A first-person cue (age, school year, parents' rules, school life), or the head over
    its threshold outside any frame about someone else or the past."""
    cues: tuple[str, ...] = ()
    """What gave it away: names from ``classifiers.minor_cues.MINOR_CUES``, or ``head``."""


@dataclass(frozen=True, slots=True)
class TextScores:
    """Everything the stack knows about one text, for one role."""

    self_harm: SelfHarmResult
    dependency: DependencyResult | None = None
    """User role, when the dependency head is loaded."""
    manipulation: ManipulationResult | None = None
    """Bot role, when the manipulation head is loaded."""
    toxicity: ToxicityResult | None = None
    """Both roles, when the toxicity head (or a Detoxify backend) is present."""
    other: Mapping[str, float] = field(default_factory=dict)
    """Extra backends by configuration (``toxicity.toxic``, an HF folder's labels, ...)."""
    sensitive: SensitiveResult | None = None
    """Both roles, when the sensitive head is loaded: special categories the text names."""
    minor: MinorResult | None = None
    """User role, when the minor head is loaded: the writer reveals they are under 18."""


def scores_json(scores: TextScores, role: Role) -> dict[str, Any]:
    """The JSON form the API and the CLI share (``dependency`` for both roles, null when the
    head is absent or not run; ``manipulation`` for the bot role only; ``minor`` for the
    user role only)."""
    sh = scores.self_harm
    out: dict[str, Any] = {
        "self_harm": {
            "score": sh.score,
            "severity": sh.severity,
            "flagged": sh.flagged,
            "imminent": sh.imminent,
        },
        "dependency": None,
    }
    if role == "bot":
        out["self_harm"]["encourages"] = sh.encourages
    if scores.dependency is not None:
        d = scores.dependency
        out["dependency"] = {"score": d.score, "signals": list(d.signals), "flagged": d.flagged}
    if role == "bot":
        m = scores.manipulation
        out["manipulation"] = (
            None
            if m is None
            else {"score": m.score, "tactics": list(m.tactics), "flagged": m.flagged}
        )
    if role == "user":
        n = scores.minor
        out["minor"] = None if n is None else {"score": n.score, "flagged": n.flagged}
    x = scores.toxicity
    out["toxicity"] = (
        None if x is None else {"score": x.score, "labels": list(x.labels), "flagged": x.flagged}
    )
    out["sensitive"] = sensitive_json(scores.sensitive)
    if scores.other:
        out["other"] = dict(_mapping(scores.other))
    return out


def sensitive_json(result: SensitiveResult | None) -> dict[str, Any] | None:
    """The ``sensitive`` field of the classify contract: no spans (they are offsets into a
    text the caller has, and a report of words is what the audit log must never keep)."""
    if result is None:
        return None
    return {
        "score": result.score,
        "categories": list(result.categories),
        "flagged": result.flagged,
    }


def _mapping(values: Mapping[str, float]) -> Mapping[str, float]:
    return {k: float(v) for k, v in values.items()}
