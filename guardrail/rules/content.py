"""What the content rules (PII, manipulation) share: their failure mode and its finding.

A content rule reads the analysis stage's output; when the component it needs is down
(no classifier loaded, spaCy missing, a timeout) the policy says whether the message
fails closed (blocked) or open (sent, with an ``info`` reason saying it was not checked),
separately for proactive messages and replies: a user waiting for an answer, perhaps one
carrying crisis resources, is not the same as outreach that can wait.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from guardrail.models import Kind
from guardrail.rewrite import Edit, remaining
from guardrail.rules.base import Finding

FailMode = Literal["fail_closed", "fail_open"]


def _string_shorthand(schema: dict[str, Any], cls: type) -> None:
    """The JSON Schema says what ``_from_string`` accepts: a bare mode, or the mapping."""
    mapping = {k: v for k, v in schema.items() if k not in ("title", "description")}
    for key in mapping:
        del schema[key]
    short = {"type": "string", "enum": list(get_args(FailMode)), "description": "both kinds"}
    schema["anyOf"] = [short, mapping]
    schema["examples"] = ["fail_closed", {"proactive": "fail_closed", "reply": "fail_open"}]


class OnError(BaseModel):
    """Per message kind; a bare string in YAML sets both (``on_error: fail_closed``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_string_shorthand)

    proactive: FailMode = "fail_closed"
    reply: FailMode = "fail_open"

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"proactive": value, "reply": value} if isinstance(value, str) else value

    def mode(self, kind: Kind) -> FailMode:
        return self.proactive if kind is Kind.PROACTIVE else self.reply


def degraded(rule: str, component: str, why: str, on_error: OnError, kind: Kind) -> Finding:
    """Block or let through, as the policy says, naming the component and the reason."""
    mode = on_error.mode(kind)
    verb = "fails closed" if mode == "fail_closed" else "fails open: not checked"
    detail = f"{component} unavailable ({why}); the policy {verb} for {kind.value} messages"
    closed = mode == "fail_closed"
    return Finding(rule, "block" if closed else "info", detail, outage=closed)


def sentence_action(
    rule: str,
    adjective: str,
    action: str,
    text: str,
    edits: tuple[Edit, ...],
    what: str,
    labels: tuple[str, ...],
    *,
    min_chars: int,
    min_ratio: float,
) -> Finding:
    """What a sentence-level content rule (manipulation, toxicity) does once it found
    ``what``: ``info``/``review`` send it (review tells the review webhook), ``block``
    refuses it, ``rewrite`` drops the flagged sentences (``edits``) unless nothing is
    flagged sentence by sentence or too little text would be left, and then blocks.

    One place, so every such rule words its reasons the same way ("toxic: insult (score
    0.91)", "dropped 1 sentence: ...") and a report can read them alike.
    """
    if action == "info":
        return Finding(rule, "info", f"{adjective}: {what}", labels=labels)
    if action == "review":
        return Finding(rule, "info", f"review: {adjective}: {what}", labels=labels)
    if action == "block":
        return Finding(rule, "block", f"{adjective}: {what}", labels=labels)
    if not edits:
        detail = f"{adjective} as a whole, no single sentence to drop: {what}"
        return Finding(rule, "block", detail, labels=labels)
    chars, ratio = remaining(text, edits)
    n = f"{len(edits)} sentence{'s' if len(edits) > 1 else ''}"
    if chars < min_chars or ratio < min_ratio:
        detail = (
            f"{adjective}: {what}; dropping {n} would leave {chars} characters ({ratio:.0%}), "
            "too little to send"
        )
        return Finding(rule, "block", detail, labels=labels)
    return Finding(rule, "rewrite", f"dropped {n}: {what}", edits=edits, labels=labels)
