"""Minors: no proactive message whose purpose is to bring the user back for companionship.

Washington HB 2225 § 4(1)(c)(i) bans, for minors, "reminding or prompting the user to return
for emotional support or companionship", and (vii) statements that "suggest the minor needs
to return frequently"; Oregon SB 1546 bans techniques that foster emotional dependency. A
companion bot that writes first to a minor is, by what it is, prompting a return: so under
``proactive: block`` (the stricter reading, the WA and OR packs) every proactive message to
a minor (known, or likely from their own words) is blocked, unless it carries a message
tag the policy lists as a notice the user asked for (a platform's licence for account,
event and purchase updates). ``proactive: content`` blocks only proactive messages whose
text prompts a return (the manipulation head and cues: ``return_prompt`` and the other
engagement tactics). Replies are the ``manipulation`` rule's: this rule reads outreach.
Off by default; the minors' packs turn it on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from classifiers.results import ENGAGEMENT_TACTICS, MANIPULATION_HEAD_TACTICS
from guardrail.analysis import CLASSIFIERS, AnalysisRequest
from guardrail.models import Kind
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.content import OnError, degraded

TRANSACTIONAL_TAGS = ["ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"]
"""Messenger's tags for updates a user asked for: not a prompt to come back and chat."""


class MinorEngagementParams(RuleParams):
    enabled: bool = Field(default=False, description="off unless a pack turns it on")
    proactive: Literal["block", "content"] = Field(
        default="block",
        description="block: every proactive message to a minor (a companion writing first "
        "prompts a return), save tagged notices; content: only those whose text prompts a "
        "return (manipulation head and cues)",
    )
    transactional_tags: list[str] = Field(
        default_factory=lambda: list(TRANSACTIONAL_TAGS),
        description="message tags (request.message_tag) that mark a notice the user asked "
        "for, let through under proactive: block",
    )
    on_error: OnError = Field(
        default_factory=lambda: OnError(proactive="fail_closed", reply="fail_open"),
        description="content mode, when no manipulation classifier answers",
    )


class MinorEngagement(Rule[MinorEngagementParams]):
    id = "minor_engagement"
    params_model = MinorEngagementParams
    kinds = frozenset({Kind.PROACTIVE})

    def needs(self, params: MinorEngagementParams) -> AnalysisRequest | None:
        return AnalysisRequest(classifiers=True) if params.proactive == "content" else None

    def check(self, ctx: RuleContext, params: MinorEngagementParams) -> Finding | None:
        if ctx.request.user.is_minor is not True:
            return None
        tag = ctx.request.message_tag
        if params.proactive == "block":
            if tag is not None and tag in params.transactional_tags:
                return None
            return self.finding(
                "block",
                "proactive message to a minor: a companion writing first prompts a return for "
                "companionship (WA HB 2225 § 4(1)(c)(i), OR SB 1546; the stricter reading); "
                "only replies and tagged notices the user asked for "
                f"({', '.join(params.transactional_tags) or 'none listed'}) go out",
                labels=("return_prompt",),
            )
        analysis = ctx.analysis
        found = analysis.scores.manipulation if analysis and analysis.scores else None
        if analysis is None or found is None:
            why = (analysis.unavailable.get(CLASSIFIERS) if analysis else None) or (
                "no manipulation head is loaded"
            )
            return degraded(self.id, "manipulation classifier", why, params.on_error, ctx.kind)
        prompts = [t for t in found.tactics if t in ENGAGEMENT_TACTICS]
        if found.flagged and not prompts:
            prompts = [t for t in found.tactics if t in MANIPULATION_HEAD_TACTICS]
        if not prompts:
            return None
        return self.finding(
            "block",
            f"proactive message to a minor prompts a return: {', '.join(prompts)} "
            f"(score {found.score:.2f})",
            labels=tuple(prompts),
        )
