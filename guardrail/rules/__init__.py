"""The rule registry: order is evaluation order, cheapest and most final first.

Adding a rule = one module in this package + one line here. The policy's ``rules:``
section is generated from this list (see :mod:`guardrail.policy.schema`).
"""

from __future__ import annotations

from typing import Any

from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.channel_window import ChannelWindow
from guardrail.rules.consent import OptOut
from guardrail.rules.crisis_resources import CrisisResources
from guardrail.rules.dependency import DependencyCaps
from guardrail.rules.disclosure import Disclosure
from guardrail.rules.engagement import Engagement
from guardrail.rules.frequency_caps import FrequencyCaps
from guardrail.rules.manipulation import Manipulation
from guardrail.rules.minor_engagement import MinorEngagement
from guardrail.rules.pii import Pii
from guardrail.rules.quiet_hours import QuietHours
from guardrail.rules.risk_hold import RiskHold
from guardrail.rules.self_harm_classifier import SelfHarmClassifier
from guardrail.rules.self_harm_content import SelfHarmContent
from guardrail.rules.sensitive_reference import SensitiveReference
from guardrail.rules.sexual_content import SexualContent
from guardrail.rules.toxicity import Toxicity
from guardrail.rules.unanswered import Unanswered
from guardrail.rules.user_first import UserFirst

RULES: tuple[Rule[Any], ...] = (
    SelfHarmContent(),  # first: the gateway's floor, whatever else applies
    SexualContent(),  # where the policy turns it on (known minors): never sent, reply or not
    OptOut(),
    RiskHold(),  # before engagement rules: a user at risk gets no outreach, however engaged
    MinorEngagement(),  # where a pack says so: no outreach to minors, however engaged
    UserFirst(),
    Unanswered(),
    Engagement(),
    FrequencyCaps(),
    DependencyCaps(),  # lower caps for a user who leans on the bots
    ChannelWindow(),
    QuietHours(),  # a defer is only worth giving when nothing would block anyway
    SelfHarmClassifier(),  # the trained bot check beside the floor (content: analysed once)
    Toxicity(),  # on by default: a toxic sentence dropped here is not analysed again below
    Manipulation(),  # content rules: analysed once, edits applied together (rewrite engine)
    Pii(),  # after manipulation: a sentence it drops takes its PII along
    SensitiveReference(),  # after the content edits: its neutral opener replaces the message
    Disclosure(),  # rewrites come after every refusal: no point rewriting a refused message
    CrisisResources(),  # last: appended after everything else the message says
)

__all__ = ["RULES", "Finding", "Rule", "RuleContext", "RuleParams"]
