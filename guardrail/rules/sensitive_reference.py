"""Proactive messages that name what a user confided: "How is your depression today?".

A bot that writes first and draws on earlier conversations must not put a special category
(health, sexuality, religion, debt... ``classifiers.results.SENSITIVE_CATEGORIES``) on a lock
screen, a watch or a shared tablet. The rule reads the ``sensitive`` head and its term
lexicon (the lexicon alone while no classifier stack is loaded or when it fails: the
toxicity rule already reports a failing classifier) and, when a proactive
message names a category in its preview (the first line, cut at the channel's
``preview_chars``) or, with ``scope: anywhere`` (the default), anywhere in it:

- ``rewrite`` (default): the message becomes a neutral opener from ``openers`` (by the
  user's language) that reveals nothing; the message as written comes back as the
  decision's ``held_text``, for the bot to send once the user opens the conversation (their
  next message makes it a reply, which this rule leaves alone by default);
- ``block``; ``review`` (sent, the review webhook told); ``info`` (sent, recorded).

Replies inside a conversation the user is having now are not rewritten unless ``replies:
true``. A category the user asked this bot to forget or never mention ("forget what I told
you", "n'en parle plus") is refused in replies too (``forgotten``), until the user brings it
up again. With ``allow_consented: true``, categories the user welcomed personal follow-ups
about (``PUT /v1/users/{id}/follow-ups``: platform or operator evidence, never a bot's key)
pass; for a known minor, never. Reasons name the categories (``labels``), never the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema, field_validator

from classifiers.results import SENSITIVE_CATEGORIES, SensitiveResult
from classifiers.sensitive_terms import find_terms
from guardrail.analysis import AnalysisRequest
from guardrail.locales import language_of
from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams

Category = Annotated[str, WithJsonSchema({"type": "string", "enum": list(SENSITIVE_CATEGORIES)})]
DEFAULT_OPENERS = {
    "en": "I have a message for you. Open the chat to read it.",
    "fr": "J'ai un message pour toi. Ouvre la conversation pour le lire.",
}
DEFAULT_PREVIEW_CHARS = {"default": 100, "sms": 160}
Action = Literal["rewrite", "block", "review", "info"]


class SensitiveReferenceParams(RuleParams):
    enabled: bool = Field(default=True, description="on by default for proactive messages")
    scope: Literal["preview", "anywhere"] = Field(
        default="anywhere",
        description="preview: only a reference in the preview (first line, `preview_chars`) "
        "counts; anywhere: a reference anywhere in the message",
    )
    preview_chars: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_PREVIEW_CHARS),
        description="characters of the first line a notification shows, by channel "
        "(whatsapp, messenger, instagram, telegram, sms, webhook) or `default`",
        json_schema_extra={"additionalProperties": {"type": "integer", "minimum": 1}},
    )
    action: Action = Field(
        default="rewrite",
        description="rewrite (send the neutral opener, hand the message back as held_text); "
        "block; review (send, tell the review webhook); info (send, record)",
    )
    openers: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_OPENERS),
        description="the neutral opener by language (the user's locale, fr-FR -> fr); 'en' is "
        "the fallback; it must name nothing",
        json_schema_extra={
            "minProperties": 1,
            "additionalProperties": {"type": "string", "pattern": "\\S"},
        },
    )
    replies: bool = Field(
        default=False,
        description="also check replies inside a conversation the user is having now",
    )
    forgotten: Action = Field(
        default="block",
        description="what to do with a message (proactive or reply) naming a category the "
        "user asked this bot to forget or never mention",
    )
    allow_consented: bool = Field(
        default=False,
        description="let through categories the user welcomed personal follow-ups about "
        "(user evidence only); never for a known minor",
    )
    categories: list[Category] | None = Field(
        default=None, description="the categories that count (default: all)"
    )
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="head score that counts; null: the head's calibrated decision (a lexicon "
        "term always counts)",
    )

    @field_validator("categories")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(SENSITIVE_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {list(SENSITIVE_CATEGORIES)}")
        return value

    @field_validator("openers")
    @classmethod
    def _some_opener(cls, value: dict[str, str]) -> dict[str, str]:
        if not value or not all(v.strip() for v in value.values()):
            raise ValueError("openers needs at least one non-empty text")
        return value

    def chars_on(self, channel: str) -> int:
        """How many characters of the first line a notification on ``channel`` shows."""
        return self.preview_chars.get(channel, self.preview_chars.get("default", 100))

    def preview_end(self, text: str, channel: str) -> int:
        """Where the preview of ``text`` ends on ``channel``: the first line, cut."""
        line = text.find("\n")
        return min(self.chars_on(channel), len(text) if line < 0 else line)

    def opener(self, locale: str | None) -> str:
        return (
            self.openers.get(language_of(locale))
            or self.openers.get("en")
            or next(iter(self.openers.values()))
        )


@dataclass(frozen=True, slots=True)
class Reference:
    """A category named at ``start`` of the text (a term, or a sentence the head flagged)."""

    category: str
    start: int


def references(ctx: RuleContext, params: SensitiveReferenceParams) -> list[Reference]:
    """Every category reference of ``ctx.text``: lexicon terms, and the head's flags on the
    whole text or per sentence (a flagged whole of several sentences, none flagged alone,
    counts from its end: it is not in the preview)."""
    analysis = ctx.analysis
    whole = analysis.scores.sensitive if analysis and analysis.scores else None
    same_text = analysis is not None and analysis.text == ctx.text
    spans = whole.spans if whole is not None and same_text else find_terms(ctx.text)
    out = [Reference(s.category, s.start) for s in spans]
    if whole is not None and analysis is not None:
        flagged = [
            (s.start, s.scores.sensitive)
            for s in analysis.sentences
            if s.scores.sensitive is not None and _counts(s.scores.sensitive, params)
        ]
        if flagged:
            out += [Reference(c, start) for start, r in flagged for c in r.categories]
        elif _counts(whole, params):
            start = 0 if not analysis.sentences else len(ctx.text)
            out += [Reference(c, start) for c in whole.categories]
    wanted = set(params.categories or SENSITIVE_CATEGORIES)
    return [r for r in out if r.category in wanted]


def _counts(result: SensitiveResult, params: SensitiveReferenceParams) -> bool:
    if params.threshold is None:
        return result.flagged
    return result.score >= params.threshold or bool(result.spans)


def _ordered(categories: set[str]) -> tuple[str, ...]:
    return tuple(c for c in SENSITIVE_CATEGORIES if c in categories)


class SensitiveReference(Rule[SensitiveReferenceParams]):
    id = "sensitive_reference"
    params_model = SensitiveReferenceParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def needs(self, params: SensitiveReferenceParams) -> AnalysisRequest:
        return AnalysisRequest(classifiers=True)

    def wants_memory(self, ctx: RuleContext, params: SensitiveReferenceParams) -> bool:
        return bool(references(ctx, params))

    def check(self, ctx: RuleContext, params: SensitiveReferenceParams) -> Finding | None:
        refs = references(ctx, params)
        if not refs:
            return None
        named = {r.category for r in refs}
        memory = ctx.memory
        forgotten = memory.do_not_mention(_ordered(named)) if memory is not None else frozenset()
        if forgotten:
            what = ", ".join(_ordered(set(forgotten)))
            detail = f"names {what}, which the user asked this bot to forget or never mention"
            return self._act(ctx, params, params.forgotten, detail, _ordered(set(forgotten)))
        if ctx.kind is Kind.REPLY and not params.replies:
            return None
        end = params.preview_end(ctx.text, ctx.request.channel.value)
        in_preview = {r.category for r in refs if r.start < end}
        relevant = in_preview if params.scope == "preview" else named
        minor = bool(ctx.request.user.is_minor)
        consented: frozenset[str] = frozenset()
        if params.allow_consented and not minor and memory is not None:
            consented = memory.consented(_ordered(relevant))
        left = relevant - consented
        if not left:
            if consented:
                what = ", ".join(_ordered(set(consented)))
                return Finding(self.id, "info", f"names {what}: the user welcomed personal "
                               "follow-ups about it", labels=_ordered(set(consented)))  # fmt: skip
            return None
        labels = _ordered(left)
        channel = ctx.request.channel.value
        where = (
            f"in the preview (the first line, up to {params.chars_on(channel)} characters "
            f"on {channel})"
            if left & in_preview
            else "in the body"
        )
        detail = f"names {', '.join(labels)} {where}"
        if minor and params.allow_consented:
            detail += " (a known minor: follow-up consent does not apply)"
        return self._act(ctx, params, params.action, detail, labels)

    def _act(
        self, ctx: RuleContext, params: SensitiveReferenceParams, action: Action, detail: str,
        labels: tuple[str, ...],
    ) -> Finding:  # fmt: skip
        if action == "info":
            return Finding(self.id, "info", detail, labels=labels)
        if action == "review":
            return Finding(self.id, "info", f"review: {detail}", labels=labels)
        if action == "block":
            return Finding(self.id, "block", detail, labels=labels)
        return Finding(
            self.id,
            "rewrite",
            f"{detail}; sent as a neutral opener, the message held for when the user opens "
            "the conversation (held_text)",
            text=params.opener(ctx.request.user.locale),
            held_text=ctx.text,
            labels=labels,
        )
