"""The rule registry: order is evaluation order, cheapest and most final first.

Adding a rule = one module in this package + one line here. The policy's ``rules:``
section is generated from this list (see :mod:`guardrail.policy.schema`).
"""

from __future__ import annotations

from typing import Any

from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams
from guardrail.rules.channel_window import ChannelWindow
from guardrail.rules.consent import OptOut
from guardrail.rules.disclosure import Disclosure
from guardrail.rules.engagement import Engagement
from guardrail.rules.frequency_caps import FrequencyCaps
from guardrail.rules.quiet_hours import QuietHours
from guardrail.rules.unanswered import Unanswered
from guardrail.rules.user_first import UserFirst

RULES: tuple[Rule[Any], ...] = (
    OptOut(),
    UserFirst(),
    Unanswered(),
    Engagement(),
    FrequencyCaps(),
    ChannelWindow(),
    QuietHours(),  # a defer is only worth giving when nothing would block anyway
    Disclosure(),  # rewrites come after every refusal: no point rewriting a refused message
)

__all__ = ["RULES", "Finding", "Rule", "RuleContext", "RuleParams"]
