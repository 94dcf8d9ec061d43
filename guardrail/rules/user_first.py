"""User first: a bot may only write to someone who has written to it before."""

from __future__ import annotations

from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class UserFirstParams(RuleParams):
    pass


class UserFirst(Rule[UserFirstParams]):
    id = "user_first"
    params_model = UserFirstParams

    def check(self, ctx: RuleContext, params: UserFirstParams) -> Finding | None:
        if ctx.snapshot.first_user_message is not None:
            return None
        return self.finding("block", "the user has never written to this bot")
