"""What the content rules (PII, manipulation) share: their failure mode and its finding.

A content rule reads the analysis stage's output; when the component it needs cannot
answer (classifiers still loading or failed, spaCy missing, a timeout) the policy says
whether the message fails closed or open, separately for proactive messages and replies:
a user waiting for an answer, perhaps one carrying crisis resources, is not the same as
outreach that can wait. Closed, a proactive message is deferred (``retry_after``: the
component may be back by then) and a reply blocked; open, it is sent, decided by the
floors, with an ``info`` reason naming the check that did not run. Never silently.

A gateway whose operator turned the classifiers off (``classifiers: false``) has nothing
to wait for: :func:`classifier_missing` says so apart (``NO_STACK``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from guardrail.analysis import CLASSIFIERS, NO_STACK, Analysis
from guardrail.models import Kind
from guardrail.rewrite import Edit, remaining
from guardrail.rules.base import Finding

FailMode = Literal["fail_closed", "fail_open"]
RETRY_AFTER = timedelta(minutes=1)
"""When a proactive message held back by a missing check is worth trying again."""


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


FAIL_OPEN = OnError(proactive="fail_open", reply="fail_open")
"""For a check that is missing by the operator's set-up (a head not loaded): nothing to
wait for, so the message goes on, named unchecked."""


def degraded(
    rule: str,
    component: str,
    why: str,
    on_error: OnError,
    kind: Kind,
    now: datetime | None = None,
) -> Finding:
    """Defer (proactive), block (reply) or let through, as the policy says, naming the
    component and the reason."""
    mode = on_error.mode(kind)
    if mode == "fail_open":
        detail = (
            f"{component} unavailable ({why}); not checked: the policy fails open for "
            f"{kind.value} messages, decided by the other checks and the floors"
        )
        return Finding(rule, "info", detail)
    if kind is Kind.PROACTIVE and now is not None:
        detail = (
            f"{component} unavailable ({why}); the policy fails closed: deferred until it "
            "can be checked"
        )
        return Finding(rule, "defer", detail, retry_after=now + RETRY_AFTER, outage=True)
    detail = f"{component} unavailable ({why}); the policy fails closed for {kind.value} messages"
    return Finding(rule, "block", detail, outage=True)


def classifier_missing(
    rule: str,
    component: str,
    analysis: Analysis | None,
    on_error: OnError | None,
    kind: Kind,
    now: datetime,
    *,
    explicit: bool,
    quiet_when_off: bool = True,
) -> Finding | None:
    """A classifier rule's finding when no classifier answered: by ``on_error`` (default
    :class:`OnError`: proactive deferred, replies sent and named) while the classifiers
    load, failed or time out. When the operator runs the gateway without them, the policy's
    ``on_error`` applies only if it sets one (``explicit``); else nothing is recorded
    (``quiet_when_off``) or an ``info`` reason says the check did not run."""
    why = (analysis.unavailable.get(CLASSIFIERS) if analysis else None) or NO_STACK
    if why == NO_STACK and not explicit:
        if quiet_when_off:
            return None
        return Finding(rule, "info", f"{component} not run: {why} (the gateway runs without)")
    return degraded(rule, component, why, on_error or OnError(), kind, now)


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
