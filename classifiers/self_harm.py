"""Self-harm head: a score and a C-SSRS severity for user messages, encouragement for bot ones.

User messages: two linear heads with five outputs (none, indicator, ideation, behavior,
attempt), fused by a weighted sum of their logits: a multinomial logistic regression over
[sentence embedding, lexicon features] (``self_harm.safetensors``) and one over TF-IDF word
and character n-grams (``self_harm_lexical.safetensors``, ``classifiers.ngrams``). Both are
trained at user level on the mean of a user's message features; being linear, the mean of a
user's per-message fused logits is exactly the fused logits of the user's mean features, so
``UserRisk`` keeps only a count and five logit sums per user and reproduces the trained
user-level model message by message. (Softmax ignores a per-row constant, so summing the
heads' raw logits equals summing their log-probabilities.)

``score`` is P(ideation or worse). ``severity`` is ordinal: the expected severity under the
fused probabilities, cut at thresholds chosen for macro-F1 on training data (out of fold);
older weight files use per-class offsets on the logits instead. That readout is a user-level
one (the heads learnt whole users' histories); a single message's severity
(``fused_severity``) keeps the Columbia scale's meaning instead: its wording decides (a wish
to die = ideation, cutting or preparing = behavior, an act = attempt: the lexicon), and the
head alone can say at most ``ideation``, and only when it flags the message.

Flags: an explicit ideation-or-worse lexicon hit, or the head's score over its message
threshold on a message that has something to judge: at least ``HEAD_MIN_WORDS`` words, a
word of the self-harm topic vocabulary, and no laughter ("lol", "mdr"). The head scores
some small talk ("thanks!", "I love this song so much") over its threshold; it was trained
on users' posts, not chat turns.

Per message (when their weight files are present): ``self_harm_message.safetensors``, a
binary head on the multilingual embedding trained on short texts, gives a user message's
``score`` and its flag (threshold: 1% of held-out everyday chat); ``self_harm_bot.safetensors``
scores bot messages for encouraging, instructing or romanticising self-harm or disordered
eating (embedding + n-gram logits); ``encourages`` is the lexicon's ``encouragement``
category (EN, FR) OR the head over its threshold, unless the lexicon reads every act in the
message as plainly forbidden (see ``score_bot_messages``). Trained by
``python -m classifiers.training.train_message_heads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from classifiers.crisis import HeadReading, fuse
from classifiers.crisis_grammar import NONE as NO_READING
from classifiers.crisis_grammar import CrisisGrammar, default_grammar, merge
from classifiers.crisis_head import SEVERITY_WEIGHTS, CrisisHead, material
from classifiers.floor import default_floor
from classifiers.heads import FloatArray, MLPHead, softmax
from classifiers.labels import AT_RISK_FROM, SEVERITIES, Severity, severity_index
from classifiers.lexicons import (
    FEATURE_NAMES,
    Lexicon,
    LexiconResult,
    default_lexicon,
    feature_row,
)
from classifiers.ngrams import NgramHead
from classifiers.results import SelfHarmResult

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
SELF_HARM_WEIGHTS: Final = WEIGHTS_DIR / "self_harm.safetensors"
MESSAGE_WEIGHTS: Final = WEIGHTS_DIR / "self_harm_message.safetensors"
BOT_WEIGHTS: Final = WEIGHTS_DIR / "self_harm_bot.safetensors"
_RISK_FROM: Final = severity_index(AT_RISK_FROM)
_INDICATOR: Final = severity_index("indicator")
HEAD_MIN_WORDS: Final = 5
"""The head alone flags no message shorter than this ("thanks!", "HELP", "dead tired"); the
bot head's flag off the subject neither ("Just leave already")."""


def head_inputs(embeddings: FloatArray, lexicon_features: FloatArray) -> FloatArray:
    """The head's input rows: the embedding, then the lexicon features."""
    if embeddings.shape[0] != lexicon_features.shape[0]:
        raise ValueError("one lexicon row per embedding row is needed")
    out: FloatArray = np.hstack([embeddings, lexicon_features]).astype(np.float32)
    return out


def at_risk_score(probabilities: FloatArray) -> npt.NDArray[np.float64]:
    """P(ideation or worse) per row."""
    return np.asarray(probabilities[..., _RISK_FROM:].sum(axis=-1), dtype=np.float64)


def expected_severity(probabilities: FloatArray) -> npt.NDArray[np.float64]:
    """Sum over levels of level index x probability, per row (the ordinal readout)."""
    levels = np.arange(len(SEVERITIES), dtype=np.float64)
    return np.asarray(probabilities @ levels, dtype=np.float64)


def ordinal_severity(probabilities: FloatArray, cuts: Sequence[float]) -> npt.NDArray[np.int64]:
    """Severity index per row: how many of the (sorted) cuts the expected severity reaches."""
    return np.searchsorted(np.asarray(cuts), expected_severity(probabilities), side="right")


def max_severity(a: Severity, b: Severity) -> Severity:
    return a if severity_index(a) >= severity_index(b) else b


@dataclass(frozen=True)
class SelfHarmScore:
    score: float
    """P(ideation or worse) for this message alone."""
    severity: Severity
    """The model's (user-level) severity readout for this message alone."""
    probabilities: tuple[float, ...]
    """Over ``SEVERITIES``."""
    logits: tuple[float, ...]
    """For ``UserRisk`` (user-level aggregation)."""
    lexicon: LexiconResult
    flagged: bool
    """An explicit ideation-or-worse lexicon hit, or ``head_flagged``."""
    head_flagged: bool = False
    """The head's score over the message threshold, on a message it may judge."""

    @property
    def fused_severity(self) -> Severity:
        """The message's severity on the Columbia scale's meaning: the lexicon's (its
        wording), raised by the head to at most ``ideation`` when the head flags it; a
        message whose hits are all negated or hedged ("I don't want to die", "not that I want
        to die, but...") is at most ``indicator``."""
        lexicon = severity_index(self.lexicon.severity)
        if not self.head_flagged:
            return SEVERITIES[lexicon]
        hits = self.lexicon.hits
        denied = bool(hits) and all(h.negated or h.hedged for h in hits)
        cap = _INDICATOR if denied else _RISK_FROM
        head = max(_INDICATOR, min(severity_index(self.severity), cap))
        return SEVERITIES[max(lexicon, head)]


@dataclass(frozen=True)
class BotSelfHarm:
    encourages: bool
    """The message encourages or instructs self-harm (lexicon OR head; see score_bot_messages)."""
    lexicon: LexiconResult
    score: float | None = None
    """The bot head's probability, when it is loaded and embeddings were given."""
    head_flagged: bool = False
    """The bot head alone is over its threshold (before the lexicon's prohibition veto)."""


@dataclass(frozen=True)
class BinaryHead:
    """A one-output sigmoid head and its threshold (``metadata.thresholds.message``).

    Optionally fused with an n-gram head (``metadata.fusion.lexical_file``, weights already
    scaled by the fusion weight: the two logits are summed). ``decides``: the head's flag
    takes part in the decision (``metadata.decision == "or_lexicon"``), else it is reported."""

    head: MLPHead
    threshold: float
    lexical: NgramHead | None = None
    decides: bool = False
    off_subject: float | None = None
    """``metadata.thresholds.off_subject``: the score over which the head's flag stands on a
    message that names nothing of dying, self-harm, their means or eating (a euphemism:
    "join the stars, little one"); ``None``: such a flag is always withdrawn."""

    @classmethod
    def load(cls, path: Path) -> BinaryHead | None:
        if not path.is_file():
            return None
        head = MLPHead.load(path)
        if not head.multilabel or len(head.labels) != 1:
            raise ValueError(f"{path.name}: not a one-output sigmoid head")
        fusion = head.metadata.get("fusion", {})
        lexical = None
        if fusion.get("lexical_file"):
            if not fusion.get("folded"):
                raise ValueError(f"{path.name}: only folded fusion weights are supported")
            lexical = NgramHead.load(path.parent / str(fusion["lexical_file"]))
            if lexical.labels != head.labels:
                raise ValueError(f"{fusion['lexical_file']}: labels differ from {path.name}'s")
        thresholds = head.metadata["thresholds"]
        off_subject = thresholds.get("off_subject")
        return cls(
            head,
            float(thresholds["message"]),
            lexical,
            head.metadata.get("decision") == "or_lexicon",
            None if off_subject is None else float(off_subject),
        )

    def stands_off_subject(self, score: float, text: str) -> bool:
        """The flag stands on a message naming nothing of the subject (see ``off_subject``):
        one of at least ``HEAD_MIN_WORDS`` words over that threshold."""
        return (
            self.off_subject is not None
            and score >= self.off_subject
            and len(text.split()) >= HEAD_MIN_WORDS
        )

    def scores(
        self, embeddings: FloatArray, texts: Sequence[str] | None = None
    ) -> npt.NDArray[np.float64]:
        z = self.head.logits(embeddings)[:, 0].astype(np.float64)
        if self.lexical is not None:
            if texts is None:
                raise ValueError("this head fuses an n-gram head: pass the texts too")
            z = z + self.lexical.logits(texts)[:, 0]
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))), dtype=np.float64)


def plainly_prohibited(scan: LexiconResult) -> bool:
    """The message names an encouragement act, and every such hit is forbidden ("please don't
    hurt yourself", "tu ne devrais pas te tuer"); a question or a taunt is never a
    prohibition (``classifiers.lexicons``)."""
    hits = [h for h in scan.hits if h.category == "encouragement"]
    return bool(hits) and all(h.negated for h in hits)


@dataclass(frozen=True)
class SelfHarmClassifier:
    head: MLPHead
    """Embedding + lexicon-feature head."""
    lexicon: Lexicon
    threshold: float
    """At-risk score threshold (user level) from the model card."""
    message_threshold: float
    """At-risk score threshold for a single message."""
    decision_bias: FloatArray
    lexical: NgramHead | None = None
    """The n-gram head, when the weight file names one."""
    embedding_weight: float = 1.0
    lexical_weight: float = 0.0
    severity_cuts: tuple[float, ...] | None = None
    """Cuts on the expected severity (ordinal readout); None: argmax + ``decision_bias``."""
    message_head: BinaryHead | None = None
    """Per-message user head (score and flag of one message), when its file exists."""
    bot_head: BinaryHead | None = None
    """Bot-encouragement head, when its file exists."""
    grammar: CrisisGrammar | None = None
    """The crisis grammar (``classifiers.crisis_grammar``), fused into ``results``."""
    severity_head: CrisisHead | None = None
    """The severity head (``classifiers.crisis_head``), when its weights are shipped."""

    @classmethod
    def load(
        cls,
        path: Path = SELF_HARM_WEIGHTS,
        lexicon: Lexicon | None = None,
        message_path: Path | None = MESSAGE_WEIGHTS,
        bot_path: Path | None = BOT_WEIGHTS,
    ) -> SelfHarmClassifier:
        head = MLPHead.load(path)
        if head.labels != SEVERITIES:
            raise ValueError(f"{path.name}: labels {head.labels} are not {SEVERITIES}")
        if head.feature_names != FEATURE_NAMES:
            raise ValueError(f"{path.name}: lexicon features differ from this code's")
        meta = head.metadata
        bias = np.asarray(meta.get("decision_bias", [0.0] * len(SEVERITIES)), dtype=np.float32)
        fusion = meta.get("fusion", {})
        lexical: NgramHead | None = None
        if fusion.get("lexical_file"):
            lexical = NgramHead.load(path.parent / str(fusion["lexical_file"]))
            if lexical.labels != SEVERITIES:
                raise ValueError(f"{fusion['lexical_file']}: labels are not {SEVERITIES}")
        cuts = meta.get("severity_cuts")
        return cls(
            head=head,
            lexicon=lexicon or default_lexicon(),
            threshold=float(meta["thresholds"]["user_at_risk"]),
            message_threshold=float(meta["thresholds"]["message_at_risk"]),
            decision_bias=bias,
            lexical=lexical,
            embedding_weight=float(fusion.get("embedding_weight", 1.0)),
            lexical_weight=float(fusion.get("lexical_weight", 0.0)) if lexical else 0.0,
            severity_cuts=tuple(float(c) for c in cuts) if cuts else None,
            message_head=BinaryHead.load(message_path) if message_path else None,
            bot_head=BinaryHead.load(bot_path) if bot_path else None,
            grammar=default_grammar(),
            severity_head=CrisisHead.load(SEVERITY_WEIGHTS),
        )

    def severity_indices(self, logits: FloatArray) -> npt.NDArray[np.int64]:
        if self.severity_cuts is not None:
            return ordinal_severity(softmax(logits), self.severity_cuts)
        return np.asarray(np.argmax(logits + self.decision_bias, axis=-1), dtype=np.int64)

    def severity_from_logits(self, logits: FloatArray) -> list[Severity]:
        return [SEVERITIES[int(i)] for i in self.severity_indices(logits)]

    def component_logits(
        self, embeddings: FloatArray, texts: Sequence[str]
    ) -> tuple[FloatArray, FloatArray | None, list[LexiconResult]]:
        """Unweighted logits of each head: (embedding head, n-gram head or None, scans)."""
        scans = [self.lexicon.scan(t, role="user") for t in texts]
        lex = np.asarray([feature_row(s) for s in scans], dtype=np.float32).reshape(
            len(scans), len(FEATURE_NAMES)
        )
        dense = self.head.logits(head_inputs(embeddings, lex))
        lexical = self.lexical.logits(texts) if self.lexical is not None else None
        return dense, lexical, scans

    def logits(
        self, embeddings: FloatArray, texts: Sequence[str]
    ) -> tuple[FloatArray, list[LexiconResult]]:
        """Fused per-message logits (what ``UserRisk`` sums) and the lexicon scans."""
        dense, lexical, scans = self.component_logits(embeddings, texts)
        if lexical is None:
            return dense, scans
        fused: FloatArray = (self.embedding_weight * dense + self.lexical_weight * lexical).astype(
            np.float32
        )
        return fused, scans

    def score_user_messages(
        self, embeddings: FloatArray, texts: Sequence[str]
    ) -> list[SelfHarmScore]:
        """One score per user message; ``embeddings`` from the shared encoder, same order."""
        logits, scans = self.logits(embeddings, texts)
        probs = softmax(logits)
        risk = at_risk_score(probs)
        threshold = self.message_threshold
        if self.message_head is not None:
            risk = self.message_head.scores(embeddings)
            threshold = self.message_head.threshold
        severities = self.severity_from_logits(logits)
        out = []
        for i, (text, scan) in enumerate(zip(texts, scans, strict=True)):
            explicit = scan.flagged and severity_index(scan.severity) >= _RISK_FROM
            head = bool(risk[i] >= threshold) and self.head_may_flag(text, scan)
            out.append(
                SelfHarmScore(
                    score=float(risk[i]),
                    severity=severities[i],
                    probabilities=tuple(float(p) for p in probs[i]),
                    logits=tuple(float(z) for z in logits[i]),
                    lexicon=scan,
                    flagged=explicit or head,
                    head_flagged=head,
                )
            )
        return out

    def head_may_flag(self, text: str, scan: LexiconResult) -> bool:
        """Whether the head's score may flag ``text`` alone (see the module docstring)."""
        if len(text.split()) < HEAD_MIN_WORDS or self.lexicon.laughs(text):
            return False
        return bool(scan.hits) or self.lexicon.on_topic(text)

    def results(self, embeddings: FloatArray, texts: Sequence[str]) -> list[SelfHarmResult]:
        """User messages as the stack's records: score, fused severity, flagged, imminent
        (the crisis grammar fused in: ``classifiers.crisis``)."""
        scores = self.score_user_messages(embeddings, texts)
        readings = [self.grammar.read(t) if self.grammar else NO_READING for t in texts]
        heads: list[HeadReading | None] = [None] * len(texts)
        if self.severity_head is not None:
            # Only messages with crisis material or a keyword hit may hear from the head,
            # unless it has a stricter threshold to speak alone. A vetoed message (someone
            # else's act, laughter, a denial, a harmless object) hears from the alone head
            # only: its threshold was set on every validation row, vetoed or not, and the
            # veto misread crises ("Took my whole month of lithium at lunchtime", "the
            # unalive thoughts are back lol. not lol").
            alone = self.severity_head.speaks_alone
            rows = [
                i for i, (s, r) in enumerate(zip(scores, readings, strict=True))
                if alone or ((s.lexicon.hits or material(r.facts)) and not r.vetoed)
            ]  # fmt: skip
            if rows:
                found = self.severity_head.read(
                    embeddings[rows],
                    [readings[i].facts for i in rows],
                    [bool(scores[i].lexicon.hits) for i in rows],
                    gated=[not readings[i].vetoed for i in rows],
                    languages=[readings[i].language for i in rows],
                )
                for i, said in zip(rows, found, strict=True):
                    heads[i] = said
        out = []
        vectors = np.asarray(embeddings, dtype=np.float16)
        for i, (s, reading, head) in enumerate(zip(scores, readings, heads, strict=True)):
            f = fuse(s.fused_severity, s.lexicon.severity, s.head_flagged, reading, head)
            out.append(
                SelfHarmResult(
                    score=s.score,
                    severity=f.severity,
                    flagged=f.flagged,
                    lexicon=f.lexicon,
                    imminent=f.imminent,
                    cssrs=f.cssrs,
                    facts=f.facts,
                    head_alone=f.head_alone,
                    head_material=f.head_material,
                    embedding=vectors[i].tobytes(),
                )
            )
        return out

    def conversation(
        self, embeddings: FloatArray, facts: Sequence[Sequence[str]], topical: bool
    ) -> HeadReading:
        """The severity head on a short conversation, oldest message first, the current one
        last: the mean of their embeddings with the grammar's merged facts.

        The event path reads a split crisis with the grammar's facts (``merge``), but many
        are worded so that no message alone, and no fact, says it ("everything's sorted,
        the dog goes to my sister" then "it's quicker than I thought"): the head trained on
        single messages hears the conversation's mean as it hears one longer message. The
        same gates as for one message: it speaks where the merged facts hold crisis
        material or ``topical`` (a keyword hit in the conversation), unless the grammar
        vetoed them, or alone over its stricter threshold.
        """
        head = self.severity_head
        if head is None or len(embeddings) != len(facts) or not len(facts):
            return HeadReading()
        mean = np.asarray(embeddings, dtype=np.float32).mean(axis=0)
        mean /= float(np.linalg.norm(mean)) + 1e-9
        reading = merge(facts[:-1], facts[-1])
        (said,) = head.read(mean[None, :], [reading.facts], [topical], gated=[not reading.vetoed])
        return said

    def score_bot_messages(
        self, texts: Sequence[str], embeddings: FloatArray | None = None
    ) -> list[BotSelfHarm]:
        """``encourages`` = the lexicon's encouragement OR the bot head over its threshold,
        unless every encouragement act the lexicon finds in the message is plainly forbidden,
        or every act the floor finds is spoken against (forbidden, asked with concern,
        reflected back, reported from someone else: ``FloorResult.forbids``, which also
        withdraws the lexicon's own hits, as the floor reads them in context).

        Since round 4 of issue #23 the head's flag alone is also read against the floor's
        :meth:`~classifiers.floor.EncouragementFloor.assess`: withdrawn where the message
        speaks of nothing of dying, self-harm, their means or eating (its n-grams flag warm
        words: "your grandma would be so proud of you"), or where every act the floor names
        bare in it, pushed or not, is spoken against ("I won't help you hurt yourself",
        "don't skip dinner"). Since round 14 the first withdrawal spares a score over the
        head's ``off_subject`` threshold: euphemisms name nothing of the subject either.

        The head (embedding + n-gram logits, ``self_harm_bot.safetensors``) decides only when
        its file says so (``decision: or_lexicon``): an older embedding-only head could not
        tell "Please don't kill yourself. Call a crisis line now" from encouragement and is
        reported (``score``, ``head_flagged``), never acted on. The lexicon's prohibition
        veto keeps the head from blocking a reply the lexicon has read as forbidding the act.
        Without embeddings, the lexicon alone.
        """
        scores: list[float | None] = [None] * len(texts)
        if self.bot_head is not None and embeddings is not None and len(texts):
            scores = [float(s) for s in self.bot_head.scores(embeddings, texts)]
        out = []
        for text, score in zip(texts, scores, strict=True):
            scan = self.lexicon.scan(text, role="bot")
            head = self.bot_head
            flagged = head is not None and score is not None and score >= head.threshold
            forbids = (flagged or scan.encouragement) and default_floor().scan(text).forbids
            vetoed = plainly_prohibited(scan) or forbids
            if flagged and not vetoed:
                # the head's n-grams flag warm words with nothing of harm in the message
                # ("your grandma would be so proud of you") and replies that name an act
                # only to refuse it ("I won't help you hurt yourself"); a euphemism names
                # nothing either, so the flag stands there only over a stricter threshold
                # that no real reply off the subject reaches (``BinaryHead.off_subject``)
                reading = default_floor().assess(text)
                stands = (
                    score is not None and head is not None and head.stands_off_subject(score, text)
                )
                off = not reading.on_subject and not stands
                vetoed = off or reading.forbids
            acts = head is not None and head.decides and flagged and not vetoed
            out.append(
                BotSelfHarm(
                    encourages=(scan.encouragement and not forbids) or acts,
                    lexicon=scan,
                    score=score,
                    head_flagged=flagged,
                )
            )
        return out


@dataclass
class UserRisk:
    """Running user-level risk: the trained user-level model, message by message.

    State: a message count and five logit sums (store ``to_state()`` anywhere), plus the
    highest lexicon severity seen.
    """

    count: int = 0
    logit_sum: list[float] = field(default_factory=lambda: [0.0] * len(SEVERITIES))
    lexicon_severity: Severity = "none"

    def add(self, message: SelfHarmScore) -> None:
        self.count += 1
        self.logit_sum = [a + b for a, b in zip(self.logit_sum, message.logits, strict=True)]
        self.lexicon_severity = max_severity(self.lexicon_severity, message.lexicon.severity)

    def mean_logits(self) -> FloatArray:
        out: FloatArray = (np.asarray(self.logit_sum) / max(self.count, 1)).astype(np.float32)
        return out

    def probabilities(self) -> FloatArray:
        out: FloatArray = softmax(self.mean_logits()[None, :])[0]
        return out

    def score(self) -> float:
        return float(at_risk_score(self.probabilities()))

    def severity(self, classifier: SelfHarmClassifier) -> Severity:
        if not self.count:
            return "none"
        return classifier.severity_from_logits(self.mean_logits()[None, :])[0]

    def fused_severity(self, classifier: SelfHarmClassifier) -> Severity:
        """The model's user-level severity raised to the highest lexicon severity seen (the
        rule the severity decision is tuned for)."""
        return max_severity(self.severity(classifier), self.lexicon_severity)

    def to_state(self) -> dict[str, object]:
        return {
            "count": self.count,
            "logit_sum": list(self.logit_sum),
            "lexicon": self.lexicon_severity,
        }
