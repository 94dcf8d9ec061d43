"""Sexual content: a bot message with sexual terms is blocked where the policy says so.

Off by default (adult companion apps differ); the ``ca-sb243-minors`` pack turns it on for
users the operator knows are minors (California SB 243). Detection is the English and
French term list of :mod:`classifiers.sexual`; the reason names the first term found.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class SexualContentParams(RuleParams):
    enabled: bool = Field(default=False, description="off unless a pack turns it on")
    action: Literal["block", "info"] = Field(
        default="block", description="block the message, or only record the finding (info)"
    )


class SexualContent(Rule[SexualContentParams]):
    id = "sexual_content"
    params_model = SexualContentParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def check(self, ctx: RuleContext, params: SexualContentParams) -> Finding | None:
        from classifiers.sexual import default_sexual_lexicon

        hits = default_sexual_lexicon().scan(ctx.text)
        if not hits:
            return None
        first = hits[0]
        return self.finding(
            params.action,
            f"sexual content ({first.language} term {first.term!r} at characters "
            f"{first.start}-{first.end}; {len(hits)} term(s) in all)",
        )
