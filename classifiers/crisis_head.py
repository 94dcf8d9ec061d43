"""Severity head: what the sentence embedding adds to the crisis grammar, recall first.

Three independent logistic outputs (``self_harm_severity.safetensors``) over the shared
sentence embedding and the crisis grammar's slot features (:func:`fact_features`: which
modes, acts, means, places, times, goodbyes the grammar found, before its rules decided):

- ``at_risk``: the message shows ideation or worse;
- ``behavior``: preparatory behaviour or an attempt;
- ``imminent``: the act is under way or within hours, the means at hand, a goodbye.

The head speaks where there is something to read (:meth:`CrisisHead.read`): ``at_risk``
where the grammar found crisis material (:func:`material`) or the keyword lexicon a hit
(where it speaks of material with no crisis wording, ``HeadReading.material``, the crisis
path hears it: its threshold was set for that gate, and until round 7 of issue #22 the
gateway dropped it unless some wording was found too);
``behavior`` and ``imminent`` only where the grammar found crisis material. Over a stricter
``at_risk_alone`` threshold of its companion, the one-hidden-layer ``acute`` head
(``self_harm_acute.safetensors``; at most 0.2% of the message's language's everyday chat,
1% of real hard negatives, 10% of C-SSRS users' posts below ideation and 5% of synthetic
look-alikes on validation data: one threshold per language, the strictest where the
language is unclear), it also speaks where nothing else did: ideation, behaviour over
``behavior_alone`` and imminence over ``imminent_alone``. People in crisis write in words no
lexicon lists. A message the grammar vetoes (someone else's act, a denial, laughter, play, a
harmless object) hears from the alone head only (``gated``), never from the gated head: the
veto misread crises ("Took my whole month of lithium at lunchtime", "lol. not lol"), and the
alone threshold was set on every validation row, vetoed or not. Its thresholds (metadata
``thresholds``) are the recall-first operating point chosen on validation data by
``classifiers/training/train_crisis_head.py``; the everyday-calibrated flag stays the
per-message head's (``self_harm_message``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from classifiers.crisis import HeadReading
from classifiers.heads import FloatArray, MLPHead

WEIGHTS_DIR: Final = Path(__file__).resolve().parent / "weights"
SEVERITY_WEIGHTS: Final = WEIGHTS_DIR / "self_harm_severity.safetensors"
ACUTE_WEIGHTS: Final = WEIGHTS_DIR / "self_harm_acute.safetensors"
"""One hidden layer over the same inputs, one output (``acute``: ideation or worse), trained
beside the severity head; it speaks alone, where nothing else found crisis material."""
LABELS: Final[tuple[str, ...]] = ("at_risk", "behavior", "imminent")

_MODES: Final = ("wish", "think", "would", "intent", "ask", "how", "count", "bare", "past",
                 "tried", "prog")  # fmt: skip
_ACTS: Final = ("kill", "die", "ingest", "od", "jump", "hang", "shoot", "cut", "drown", "crash",
                "doit", "use")  # fmt: skip
_MEANS: Final = ("pills", "poison", "rope", "gun", "blade", "height", "train", "water", "gas",
                 "wrist", "car")  # fmt: skip
_STATES: Final = ("have", "stock", "buy", "ready")
_CODES: Final = ("P:strong", "P:weak", "G:strong", "G:weak", "N", "N:weak", "V", "V:weak", "B",
                 "H", "R", "L", "X", "Y", "I", "D")  # fmt: skip
_TIMES: Final = ("now", "tonight", "today", "soon", "recent", "later", "far")
FEATURE_NAMES: Final[tuple[str, ...]] = (
    *(f"mode:{m}" for m in _MODES),
    *(f"act:{a}" for a in _ACTS),
    *(f"means:{m}" for m in _MEANS),
    *(f"state:{s}" for s in _STATES),
    "quantity",
    "definite",
    "own",
    *(f"code:{c}" for c in _CODES),
    *(f"time:{t}" for t in _TIMES),
)


def fact_features(facts: Sequence[str]) -> list[float]:
    """The grammar's slots as 0/1 features (see ``FEATURE_NAMES``)."""
    on: set[str] = set()
    for f in facts:
        parts = f.split(":")
        if parts[0] == "A" and len(parts) == 5:
            on |= {f"mode:{parts[1]}", f"act:{parts[2]}", f"means:{parts[3]}"}
            on |= {name for letter, name in (("q", "quantity"), ("d", "definite"), ("o", "own"))
                   if letter in parts[4]}  # fmt: skip
        elif parts[0] == "M" and len(parts) == 4:
            on |= {f"means:{parts[1]}", f"state:{parts[2]}"}
            on |= {name for letter, name in (("q", "quantity"), ("d", "definite"), ("o", "own"))
                   if letter in parts[3]}  # fmt: skip
        elif parts[0] == "T" and len(parts) == 2:
            on.add(f"time:{parts[1]}")
        elif parts[0] == "P":
            on.add(f"code:P:{parts[1]}")
        else:
            on.add(f"code:{f}")
    return [1.0 if name in on else 0.0 for name in FEATURE_NAMES]


def feature_matrix(facts: Sequence[Sequence[str]]) -> FloatArray:
    rows = [fact_features(f) for f in facts]
    out: FloatArray = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURE_NAMES))
    return out


_WEAKER: Final = frozenset({"G:weak2", "V", "V:weak", "V:weak2", "Q", "R"})
"""Weaker material the head may also weigh (``material``): a second goodbye, a give-away, a
plan or a decision. Alone each is everyday often enough ("thanks for everything", "I've
decided"); the head's threshold, chosen with this gate on everyday validation chat, says
which ones read as a crisis. Despair (``H``) is not: "I hate my life" is venting far more
often than ideation, and the head, trained on distress, reads it high."""


def material(facts: Sequence[str]) -> bool:
    """The grammar found crisis material the head may weigh: an act, a place, a note,
    bleeding, a strong goodbye, a means someone has, keeps, buys or holds ready, or weaker
    material (``_WEAKER``); a means merely named, one weak goodbye or a time alone is not
    enough ("I have pills left on my prescription")."""
    for f in facts:
        kind = f[:1]
        if kind in "APNB" or f == "G:strong" or f in _WEAKER:
            return True
        if (
            kind == "M"
            and f.split(":")[2] != "none"
            and ("q" in f.split(":")[3] or "d" in f.split(":")[3])
        ):
            return True
    return False


DOUBT_AT_RISK: Final = 0.2
DOUBT_ALONE: Final = 0.1
"""Under both (the gated head's ``at_risk`` and the alone head's probability), the heads
doubt what the wording says (:func:`doubts`). Chosen in round 13 on the retired held-out
set v10, which neither head trained on: on its messages with crisis wording, no crisis
fell under both and 8 of 34 French look-alikes (1 of 15 English) did; on real posts
(C-SSRS users, DiaSafety risk disclosures) 1 of about 2,400 wording hits. Far below the
heads' own thresholds (at_risk 0.69, alone 0.89-0.94): recheck after a retrain
(``benchmarks/doubt_check.py``)."""


def doubts(at_risk: float, acute: float) -> bool:
    """Whether both heads read a message as far from a crisis: the gated head's ``at_risk``
    under ``DOUBT_AT_RISK`` and the alone head's under ``DOUBT_ALONE``. Crisis wording in
    such a message is an idiom, a past told as past, a question for a course or a story
    more often than a crisis the heads missed (``HeadReading.doubted``)."""
    return at_risk < DOUBT_AT_RISK and acute < DOUBT_ALONE


def _inputs(embeddings: FloatArray, facts: Sequence[Sequence[str]]) -> FloatArray:
    """What both heads read: the sentence embedding, then the grammar's slots."""
    x: FloatArray = np.hstack([embeddings, feature_matrix(facts)]).astype(np.float32)
    return x


def alone_threshold(thresholds: Mapping[str, float], language: str | None) -> float:
    """``at_risk_alone`` for a message in ``language``: each language's everyday chat caps
    its own threshold (the other caps are shared), so French is not held to the English
    everyday chat's highest scores; the strictest of them where the language is unknown
    (too short or mixed to tell) or has none of its own."""
    strictest = thresholds.get("at_risk_alone", float("inf"))
    return thresholds.get(f"at_risk_alone_{language}", strictest) if language else strictest


@dataclass(frozen=True)
class CrisisHead:
    head: MLPHead
    thresholds: dict[str, float]
    acute: MLPHead | None = None
    """The alone head (``ACUTE_WEIGHTS``), when shipped; its threshold is ``thresholds
    ["at_risk_alone"]`` (from its own file)."""

    @classmethod
    def load(
        cls, path: Path = SEVERITY_WEIGHTS, acute_path: Path = ACUTE_WEIGHTS
    ) -> CrisisHead | None:
        """The head, or None when its weights are not shipped; the alone head beside it
        when its file is there."""
        if not path.is_file():
            return None
        head = MLPHead.load(path)
        if head.labels != LABELS or not head.multilabel:
            raise ValueError(f"{path.name}: labels {head.labels} are not {LABELS}")
        if head.feature_names != FEATURE_NAMES:
            raise ValueError(f"{path.name}: slot features differ from this code's")
        thresholds = {k: float(v) for k, v in head.metadata["thresholds"].items()}
        thresholds.pop("at_risk_alone", None)  # only the acute head's own file sets it
        acute = None
        if acute_path.is_file():
            acute = MLPHead.load(acute_path)
            if acute.labels != ("acute",) or acute.feature_names != FEATURE_NAMES:
                raise ValueError(f"{acute_path.name}: not an acute head over these features")
            thresholds["at_risk_alone"] = float(acute.metadata["threshold"])
            for lang, value in acute.metadata.get("thresholds_by_language", {}).items():
                thresholds[f"at_risk_alone_{lang}"] = float(value)
        return cls(head, thresholds, acute)

    def alone_threshold(self, language: str | None) -> float:
        """``at_risk_alone`` for a message in ``language`` (:func:`alone_threshold`)."""
        return alone_threshold(self.thresholds, language)

    def scores(
        self, embeddings: FloatArray, facts: Sequence[Sequence[str]]
    ) -> npt.NDArray[np.float64]:
        """Probabilities (n, 3) over ``LABELS``."""
        return self._scores(_inputs(embeddings, facts))

    def alone_scores(
        self, embeddings: FloatArray, facts: Sequence[Sequence[str]]
    ) -> npt.NDArray[np.float64]:
        """The alone head's probability for each message (zeros where it is not shipped)."""
        return self._alone(_inputs(embeddings, facts))

    def _scores(self, x: FloatArray) -> npt.NDArray[np.float64]:
        return np.asarray(self.head.predict_proba(x), dtype=np.float64)

    def _alone(self, x: FloatArray) -> npt.NDArray[np.float64]:
        if self.acute is None:
            return np.zeros(len(x), dtype=np.float64)
        return np.asarray(self.acute.predict_proba(x)[:, 0], dtype=np.float64)

    @property
    def speaks_alone(self) -> bool:
        """Whether the alone head is shipped (files trained before 2026-12-07 have none)."""
        return self.acute is not None

    def read(
        self,
        embeddings: FloatArray,
        facts: Sequence[Sequence[str]],
        topical: Sequence[bool],
        gated: Sequence[bool] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> list[HeadReading]:
        """What the head adds to each message, at its recall-first thresholds, where it may
        speak (``topical``: a keyword-lexicon hit); and, over the stricter ``at_risk_alone``
        (calibrated on everyday chat and real hard negatives), where nothing else spoke:
        a crisis worded outside the lexicons' vocabulary. ``gated`` False: the message was
        vetoed by the grammar, only the alone head may speak of it. ``languages``: each
        message's language where known (``CrisisGrammar.language``), for the alone head's
        threshold (:meth:`alone_threshold`)."""
        if not len(facts):
            return []
        x = _inputs(embeddings, facts)
        p = self._scores(x)
        t = self.thresholds
        acute = self._alone(x)
        opened = [True] * len(facts) if gated is None else list(gated)
        langs = [None] * len(facts) if languages is None else list(languages)
        out = []
        for row, f, topic, a, open_, lang in zip(
            p, facts, topical, acute, opened, langs, strict=True
        ):
            alone_at = self.alone_threshold(lang)
            seen = material(f) and open_
            topic = topic and open_
            severity = "none"
            alone = False
            if (seen or topic) and row[0] >= t["at_risk"]:
                severity = "ideation"
            elif a >= alone_at:
                severity, alone = "ideation", True
            if seen and row[0] >= t["at_risk"] and row[1] >= t["behavior"]:
                severity = "behavior"
            imminent = bool(seen and severity != "none" and row[2] >= t["imminent"])
            if alone:
                imminent = bool(row[2] >= t.get("imminent_alone", float("inf")))
                if row[1] >= t.get("behavior_alone", float("inf")):
                    severity = "behavior"
            heard = seen and severity != "none" and not alone
            doubted = self.acute is not None and doubts(float(row[0]), float(a))
            out.append(HeadReading(severity, imminent, alone, heard, doubted))  # type: ignore[arg-type]
        return out
