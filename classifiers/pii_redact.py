"""The pure half of the PII stage: configuration, findings, redaction, locale choice.

Split from :mod:`classifiers.pii` so that what a policy embeds (:class:`PiiConfig`) and
what the rewrite engine applies (:func:`redact`, :func:`sentence_spans`) import without
spaCy or Presidio, which take seconds to import: the gateway's rules, policy loader and
CLI load this module, and only the analysis worker loads :mod:`classifiers.pii`.
:mod:`classifiers.pii` re-exports every name, so either import path works.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal, NamedTuple, get_args

import regex
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from classifiers.linear_regex import PatternError, compile_linear

Lang = Literal["en", "fr"]
LANGUAGES: Final[tuple[Lang, ...]] = ("en", "fr")

DEFAULT_ENTITIES: Final[tuple[str, ...]] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "STREET_ADDRESS",
    "PERSON",
)

_ENTITY_NAME = r"^[A-Z][A-Z0-9_]*$"
EntityName = Annotated[str, WithJsonSchema({"type": "string", "pattern": _ENTITY_NAME})]
"""Checked by ``PiiConfig._entity_names`` (its message); the schema shows the pattern."""


# --------------------------------------------------------------------------- configuration


class PiiPattern(BaseModel):
    """One regular expression of a custom recognizer, run in linear time by RE2 (no
    backreferences or lookbehind; a lookahead only at the end)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: str = Field(
        min_length=1,
        description="RE2 syntax (linear time; a lookahead only at the end)",
        examples=[r"\bEMP-\d{6}\b"],
    )
    score: float = Field(default=0.6, ge=0.0, le=1.0, description="score of a match")
    name: str | None = Field(default=None, description="a label for the pattern")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        # Fail when the policy loads, not on the first message that reaches the pattern;
        # it runs in RE2 (classifiers.linear_regex), so a pattern cannot freeze the worker.
        try:
            regex.compile(value)
            compile_linear(value)
        except (regex.error, PatternError) as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from exc
        return value


class CustomRecognizerConfig(BaseModel):
    """A recognizer declared in configuration: regex patterns and/or a deny list of terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str = Field(
        pattern=_ENTITY_NAME, description="the entity type it reports", examples=["EMPLOYEE_ID"]
    )
    patterns: list[PiiPattern] = Field(default_factory=list, description="regular expressions")
    deny_list: list[str] = Field(
        default_factory=list, description="exact terms to report", examples=[["Project Falcon"]]
    )
    deny_list_score: float = Field(default=1.0, ge=0.0, le=1.0, description="their score")
    context: list[str] = Field(
        default_factory=list, description="words near a match that raise its score"
    )
    """Words that raise a match's score by 0.35 (at least to 0.4) when one of the five words
    before it or the two after contains one (Presidio's lemma-based enhancer; spaCy stop
    words are never seen). A pattern scored below the threshold then only counts in context."""
    languages: list[Lang] = Field(
        default_factory=lambda: list(LANGUAGES), min_length=1, description="where it runs"
    )
    case_sensitive: bool = Field(default=False, description="for patterns and deny_list")

    @model_validator(mode="after")
    def _has_something_to_match(self) -> CustomRecognizerConfig:
        if not self.patterns and not any(term.strip() for term in self.deny_list):
            raise ValueError(f"custom recognizer {self.entity}: give patterns or a deny_list")
        return self


OperatorType = Literal["replace", "mask", "drop_sentence", "block", "keep"]

_SEVERITY: Final[dict[OperatorType, int]] = {
    "keep": 0,
    "mask": 1,
    "replace": 2,
    "drop_sentence": 3,
    "block": 4,
}
"""Where findings overlap, the strictest of their operators wins."""


def _operator_shorthand(schema: dict[str, Any], cls: type) -> None:
    """The JSON Schema says what ``_from_string`` accepts: a bare type, or the mapping."""
    mapping = {k: v for k, v in schema.items() if k not in ("title", "description")}
    for key in mapping:
        del schema[key]
    short = {"type": "string", "enum": list(get_args(OperatorType)), "description": "the type"}
    schema["anyOf"] = [short, mapping]
    schema["examples"] = ["replace", {"type": "mask", "keep_last": 4}]


class PiiOperator(BaseModel):
    """What to do with one entity type.

    - ``replace``: the span becomes ``placeholder`` (default ``[ENTITY_TYPE]``);
    - ``mask``: letters and digits become ``mask_char`` except the last ``keep_last`` of
      them, never more than half (separators stay: ``**** **** **** 1111``);
    - ``drop_sentence``: the sentence holding the span is removed;
    - ``block``: the message must not be sent (the returned text is still redacted, so it
      can be logged);
    - ``keep``: reported, left as is (e.g. a bot greeting the user by first name).

    A bare string is accepted in YAML: ``PHONE_NUMBER: mask``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_operator_shorthand)

    type: OperatorType = "replace"
    placeholder: str | None = None
    keep_last: int = Field(default=4, ge=0)
    mask_char: str = Field(default="*", min_length=1, max_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    def placeholder_for(self, entity_type: str) -> str:
        """The replacement text: the configured placeholder or ``[ENTITY_TYPE]``."""
        return self.placeholder if self.placeholder is not None else f"[{entity_type}]"


class PiiConfig(BaseModel):
    """The PII stage's settings, as a policy embeds them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entities: list[EntityName] = Field(
        default_factory=lambda: list(DEFAULT_ENTITIES), description="built-in entity types to find"
    )
    """Built-in entities to look for; custom recognizers' entities are added to these."""
    score_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="findings scored below this are ignored"
    )
    operators: dict[str, PiiOperator] = Field(
        default_factory=dict, description="per entity type: what to do with it"
    )
    default_operator: PiiOperator = Field(
        default_factory=PiiOperator, description="for entity types without an operator"
    )
    custom_recognizers: list[CustomRecognizerConfig] = Field(
        default_factory=list, description="recognizers declared here: regexes, deny lists"
    )
    allow_list: list[str] = Field(
        default_factory=list, description="exact strings never reported", examples=[["Maestro"]]
    )
    """Exact strings never reported (the bot's own name, a support line meant to be shared)."""
    phone_regions: dict[Lang, list[str]] = Field(
        default_factory=dict,
        description="per language: regions whose national phone formats are recognised",
        examples=[{"en": ["US", "GB"], "fr": ["FR"]}],
    )
    """Regions whose *national* phone formats are recognised, per language (ISO 3166 codes);
    defaults in ``classifiers.pii_recognizers.DEFAULT_PHONE_REGIONS``."""

    @field_validator("entities")
    @classmethod
    def _entity_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(_ENTITY_NAME.strip("^$"), name):
                raise ValueError(f"entity names are upper case identifiers, got {name!r}")
        return value

    def all_entities(self) -> list[str]:
        """Built-in and custom entity types, each once, in configuration order."""
        names = list(self.entities) + [c.entity for c in self.custom_recognizers]
        return list(dict.fromkeys(names))

    def operator_for(self, entity_type: str) -> PiiOperator:
        """The operator configured for ``entity_type``, else the default one."""
        return self.operators.get(entity_type, self.default_operator)


# --------------------------------------------------------------------------- results


class PiiFinding(NamedTuple):
    """One detected span: ``(entity_type, start, end, score)``, offsets in the input text."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """The text to deliver, whether the message must be blocked, and what was found.

    ``entities`` are the findings acted upon, after overlapping ones were merged, with
    offsets in the *original* text; ``blocked_entities`` names the types that blocked.
    """

    text: str
    blocked: bool
    entities: list[PiiFinding]
    blocked_entities: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- redaction

_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”\u2019)\]]*\s+|\s*\n\s*")
# fmt: off
_ABBREVIATIONS: Final = frozenset((
    "mr", "mrs", "ms", "dr", "st", "ave", "av", "apt", "no", "vs", "etc", "jr", "sr", "prof",
    "inc", "ltd", "co", "bd", "bld", "blvd", "rd", "mme", "mlle", "ste", "cf", "pp", "ex",
    "tel", "tél", "fig", "nº", "n°",
))
# fmt: on


def sentence_spans(text: str, protected: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Split ``text`` into sentences that tile it (each keeps its trailing whitespace).

    A boundary is a run of ``.!?…`` followed by whitespace, or a line break. It is ignored
    after a common abbreviation or an initial ("Dr.", "St.", "J."), and inside a
    ``protected`` span, so an address like "12 Main St. Springfield" stays whole.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        cut = match.end()
        if cut >= len(text):
            break
        if match.group().startswith("."):
            word = re.search(r"(\w+)\s*$", text[start : match.start()])
            if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
                continue
        if any(s < match.start() < e or s < cut < e for s, e in protected):
            continue
        spans.append((start, cut))
        start = cut
    spans.append((start, len(text)))
    return [span for span in spans if span[0] < span[1]]


def _mask(value: str, operator: PiiOperator) -> str:
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = min(operator.keep_last, len(positions) // 2)
    hidden = set(positions[: len(positions) - keep])
    return "".join(operator.mask_char if i in hidden else ch for i, ch in enumerate(value))


def _merge(
    findings: Iterable[PiiFinding],
    operators: Mapping[str, PiiOperator],
    default: PiiOperator,
    text_length: int,
) -> list[tuple[PiiFinding, PiiOperator]]:
    """Merge overlapping findings into one span each.

    The merged span is the union (a name inside an e-mail address must not survive as
    ``john[PERSON]``-style debris); its type is that of the longest member (then the
    highest score), and its operator the strictest of the members' operators.
    """
    valid = sorted(
        (f for f in findings if 0 <= f.start < f.end <= text_length),
        key=lambda f: (f.start, -f.end),
    )
    groups: list[list[PiiFinding]] = []
    end = -1
    for finding in valid:
        if groups and finding.start < end:
            groups[-1].append(finding)
            end = max(end, finding.end)
        else:
            groups.append([finding])
            end = finding.end
    merged: list[tuple[PiiFinding, PiiOperator]] = []
    for group in groups:
        lead = max(group, key=lambda f: (f.end - f.start, f.score))
        strictest = max(
            (operators.get(f.entity_type, default) for f in group),
            key=lambda op: _SEVERITY[op.type],
        )
        start, stop = min(f.start for f in group), max(f.end for f in group)
        score = max(f.score for f in group)
        merged.append((PiiFinding(lead.entity_type, start, stop, score), strictest))
    return merged


def redact(
    text: str,
    findings: Iterable[PiiFinding],
    operators: Mapping[str, PiiOperator] | None = None,
    default: PiiOperator | None = None,
) -> RedactionResult:
    """Apply each finding's operator to ``text``; pure (no model, no I/O).

    ``operators`` maps an entity type to its operator; types not in it get ``default``
    (replace with ``[ENTITY_TYPE]``). Overlapping findings are merged first (see
    :func:`_merge`). A message with a ``block`` finding comes back ``blocked`` with every
    finding replaced by its placeholder, so that what the audit log stores holds no PII.
    """
    operators = operators or {}
    default = default or PiiOperator()
    merged = _merge(findings, operators, default, len(text))
    blocked_types = tuple(dict.fromkeys(f.entity_type for f, op in merged if op.type == "block"))
    blocked = bool(blocked_types)

    drop_spans = [(f.start, f.end) for f, op in merged if op.type == "drop_sentence"]
    dropped: list[tuple[int, int]] = []
    if drop_spans and not blocked:
        sentences = sentence_spans(text, protected=[(f.start, f.end) for f, _ in merged])
        dropped = [(s, e) for s, e in sentences if any(a < e and s < b for a, b in drop_spans)]

    pieces: list[str] = []
    cursor = 0
    for finding, op in merged:
        if any(s <= finding.start and finding.end <= e for s, e in dropped):
            continue
        pieces.append(_cut(text, cursor, finding.start, dropped))
        original = text[finding.start : finding.end]
        if op.type == "keep" and not blocked:
            pieces.append(original)
        elif op.type == "mask" and not blocked:
            pieces.append(_mask(original, op))
        else:  # replace, block, and anything in a blocked message
            pieces.append(op.placeholder_for(finding.entity_type))
        cursor = finding.end
    pieces.append(_cut(text, cursor, len(text), dropped))
    out = "".join(pieces)
    if dropped:
        out = out.strip() if not text[:1].isspace() and not text[-1:].isspace() else out
    return RedactionResult(
        text=out,
        blocked=blocked,
        entities=[f for f, _ in merged],
        blocked_entities=blocked_types,
    )


def _cut(text: str, start: int, end: int, dropped: Sequence[tuple[int, int]]) -> str:
    """``text[start:end]`` without the characters of the dropped sentences."""
    if not dropped:
        return text[start:end]
    return "".join(
        ch for i, ch in enumerate(text[start:end], start) if not any(s <= i < e for s, e in dropped)
    )


# --------------------------------------------------------------------------- locale


def language_for_locale(locale: str | None) -> Lang:
    """``fr``, ``fr-FR``, ``fr_CA``, ``FR`` → ``"fr"``; anything else (or nothing) → ``"en"``."""
    if locale and re.split(r"[-_.@]", locale.strip(), maxsplit=1)[0].lower() == "fr":
        return "fr"
    return "en"
