"""Policy test files: cases written in YAML beside the policies, checked like the policies.

A test file lives in a ``tests/`` folder next to the policies it tests (``policies/tests/
*.yaml``). Each case replays a history (user messages, opt-outs, earlier outreach) and
then asks for one decision, whose verdict and rule ids must match what the case expects.
Typos in a test file are errors with file:line:column, as in a policy.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from guardrail.models import Channel, Kind, UserContext, Verdict
from guardrail.policy.core import PolicyError, compose, construct, validation_problems
from guardrail.problems import Problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


INSTANT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_INSTANT = re.compile(INSTANT_PATTERN, re.ASCII)


def _instant(value: Any) -> Any:
    """RFC 3339 text with its offset (what JSON Schema's date-time means), or a datetime.

    A datetime comes from an unquoted YAML timestamp; a number (pydantic would read Unix
    seconds) or a looser string is refused, so the schema and the loader agree.
    """
    if isinstance(value, datetime) or (isinstance(value, str) and _INSTANT.fullmatch(value)):
        return value
    raise ValueError(f"{value!r} is not a time with its offset, e.g. 2026-11-20T10:00:00+01:00")


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": INSTANT_PATTERN,
            "description": "RFC 3339, with its offset",
            "examples": ["2026-11-20T10:00:00+01:00", "2026-11-20T09:00:00Z"],
        }
    ),
]

ONE_OF = ("user_message", "outreach", "opt_out", "opt_in", "follow_ups")


def _exactly_one_kind(schema: dict[str, Any], cls: type) -> None:
    """JSON Schema for ``_one_kind``: exactly one of the kinds given (present, not null/empty)."""
    schema["oneOf"] = [
        {"required": [k], "properties": {k: {"not": {"enum": [None, ""]}}}} for k in ONE_OF
    ]


class Defaults(_Strict):
    """Who talks to whom, for every request and history item of the file unless they say."""

    tenant: str = Field(default="default", description="tenant id")
    bot_id: str = Field(default="bot", description="bot id")
    user_id: str = Field(default="user", description="user id")
    channel: Channel = Field(default=Channel.MESSENGER, description="channel")
    text: str = Field(
        default="Hi! Any plans for the weekend? I found a film you might like.",
        description="the outreach text",
    )
    user: UserContext = Field(default_factory=UserContext, description="the user context")


class FollowUps(_Strict):
    """Personal-follow-up consent, as an ingest key would post it."""

    categories: list[str] = Field(default_factory=list, description="empty: every category")
    allowed: bool = Field(default=True, description="welcome (true) or withdrawn (false)")


class HistoryItem(_Strict):
    """One thing that happened before the request; exactly one of the five kinds."""

    model_config = ConfigDict(json_schema_extra=_exactly_one_kind)

    at: Instant = Field(description="when it happened")
    user_message: str | None = Field(default=None, description="the user wrote this")
    outreach: str | None = Field(
        default=None, description="the bot asked to send this; decided by the policy at `at`"
    )
    opt_out: Literal["bot", "all"] | None = Field(
        default=None, description="the user opted out of this bot or of all"
    )
    opt_in: Literal["bot", "all"] | None = Field(default=None, description="the user opted back in")
    follow_ups: FollowUps | None = Field(
        default=None,
        description="the platform says personal follow-ups about these special categories are "
        "welcome (or not) with this bot (PUT /v1/users/{id}/follow-ups)",
    )
    kind: Kind | None = Field(default=None, description="outreach: proactive or reply")
    expect: Verdict = Field(
        default=Verdict.ALLOW, description="outreach: the verdict it must get (allow: it was sent)"
    )
    bot_id: str | None = Field(default=None, description="else the file's defaults")
    channel: Channel | None = Field(default=None, description="else the file's defaults")
    user: UserContext | None = Field(
        default=None, description="outreach: the user context (else the file's defaults)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> HistoryItem:
        given = [k for k in ONE_OF if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(ONE_OF)}")
        return self


class CaseRequest(_Strict):
    """The request under test; fields not given come from the file's ``defaults``."""

    at: Instant = Field(description="when the bot asks to send")
    text: str | None = Field(default=None, description="else the file's defaults")
    kind: Kind | None = Field(default=None, description="proactive or reply; else inferred")
    tenant: str | None = Field(default=None, description="else the file's defaults")
    bot_id: str | None = Field(default=None, description="else the file's defaults")
    user_id: str | None = Field(default=None, description="else the file's defaults")
    channel: Channel | None = Field(default=None, description="else the file's defaults")
    user: UserContext | None = Field(default=None, description="else the file's defaults")
    idempotency_key: str | None = Field(default=None, description="as in the API")


class Expect(_Strict):
    verdict: Verdict = Field(description="the verdict the request must get")
    rules: list[str] | None = Field(
        default=None, description="ids of the reasons that block, defer or rewrite, in order"
    )
    shadow: list[str] | None = Field(default=None, description="ids of the shadow reasons")
    info: list[str] | None = Field(
        default=None,
        description="ids of the info reasons (a rule that only notes, or sends for review)",
    )
    text: str | None = Field(
        default=None, description="the text delivered (allow, rewrite), exactly"
    )
    policy: str | None = Field(default=None, description="name of the policy that decided")
    retry_after: Instant | None = Field(default=None, description="for defer: when to retry")


class Case(_Strict):
    name: str = Field(min_length=1, description="what the case shows, printed with PASS/FAIL")
    policy: str | None = Field(
        default=None, description="decide with this policy of the set, skipping match"
    )
    history: list[HistoryItem] = Field(
        default_factory=list, description="what happened before, in time order"
    )
    request: CaseRequest = Field(description="the request under test")
    expect: Expect = Field(description="what the decision must be")

    @model_validator(mode="after")
    def _in_time_order(self) -> Case:
        times = [item.at for item in self.history] + [self.request.at]
        for i, (earlier, later) in enumerate(itertools.pairwise(times)):
            if later < earlier:
                what = "the request" if i + 1 == len(self.history) else f"history[{i + 1}]"
                raise ValueError(f"{what} is earlier than the item before it; keep time order")
        return self


class CaseFile(_Strict):
    policies: str | None = Field(
        default=None,
        description="the policy file or folder under test, relative to this file "
        "(default: the folder above tests/)",
    )
    defaults: Defaults = Field(
        default_factory=Defaults, description="for every request and history item"
    )
    classifiers: bool = Field(
        default=False,
        description="decide with the shipped classifier stack (toxicity, manipulation, the "
        "trained self-harm check); else the classifier rules see none, as in a gateway "
        "without classifiers. The models load once per run (seconds)",
    )
    cases: list[Case] = Field(min_length=1, description="the test cases")


@dataclass(frozen=True)
class LoadedCases:
    source: str
    cases: CaseFile
    lines: tuple[int, ...]
    """Line of each case, for PASS/FAIL output."""
    policies: Path


def load_cases(path: Path) -> LoadedCases:
    """A test file, validated; PolicyError with file:line:column for every problem."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([Problem(source, 1, 1, f"cannot read: {exc.strerror}")]) from exc
    root = compose(text, source)
    try:
        cases = CaseFile.model_validate(construct(root) if root is not None else None)
    except ValidationError as exc:
        raise PolicyError(sorted(validation_problems(exc, root, source, CaseFile))) from exc
    folder = path.resolve().parent
    default = folder.parent if folder.name == "tests" else folder
    target = folder / cases.policies if cases.policies else default
    return LoadedCases(source, cases, _case_lines(root, len(cases.cases)), target)


def _case_lines(root: yaml.Node | None, count: int) -> tuple[int, ...]:
    items: list[yaml.Node] = []
    if isinstance(root, yaml.MappingNode):
        node = next((v for k, v in root.value if k.value == "cases"), None)
        if isinstance(node, yaml.SequenceNode):
            items = node.value
    lines = [item.start_mark.line + 1 for item in items]
    return tuple(lines + [1] * (count - len(lines)))
