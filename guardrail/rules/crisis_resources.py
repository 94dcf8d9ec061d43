"""Crisis resources: after a user shows self-harm risk, the bot's next reply carries help.

The helpline is chosen by the user's jurisdiction and language from the registry
(guardrail/crisis/resources.yaml). After an imminent signal (an act under way or within
hours, means at hand, a goodbye), whatever its level, the message opens with the
emergency number of the user's country (15 or 112 in France, 911 in the US, 999 in the
UK...) before the helpline. Once a message carrying resources has gone out after the
latest signal, later replies are left alone.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from guardrail.crisis.resources import REGISTRY_FILE, ResourceRegistry
from guardrail.durations import Duration
from guardrail.models import Kind
from guardrail.risk import RiskLevel
from guardrail.rules.base import Finding, Rule, RuleContext, RuleParams


class CrisisResourcesParams(RuleParams):
    level: RiskLevel = Field(default=RiskLevel.IDEATION, description="from this severity")
    within: Duration = Field(
        default=timedelta(days=7), description="how long after a signal the next reply gets help"
    )
    registry: Path | None = Field(
        default=None, description="a helplines file of your own; the built-in one when unset"
    )


class CrisisResources(Rule[CrisisResourcesParams]):
    id = "crisis_resources"
    params_model = CrisisResourcesParams
    kinds = frozenset({Kind.PROACTIVE, Kind.REPLY})

    def lookback(self, params: CrisisResourcesParams) -> timedelta:
        return params.within

    def check(self, ctx: RuleContext, params: CrisisResourcesParams) -> Finding | None:
        snap = ctx.snapshot
        signals = [
            e
            for e in snap.risk_events
            if (e.level >= params.level or e.imminent) and ctx.now - e.ts <= params.within
        ]
        if not signals:
            return None
        latest = signals[-1].ts
        if any(t >= latest for t in snap.resources_at):
            return None  # help already went out after the latest signal
        answered = max(snap.resources_at, default=None)
        pending = [e.level for e in signals if answered is None or e.ts > answered]
        level = (RiskLevel(max(pending)).label,)  # what the referral answers, for reports
        imminent = any(e.imminent for e in signals)
        user = ctx.request.user
        registry = _registry(params.registry)
        if registry.signature(user.jurisdiction, user.locale, imminent=imminent) in ctx.text:
            return Finding(
                self.id, "info", "crisis resources already in the text", resources=True,
                labels=level,
            )  # fmt: skip
        message = registry.message(user.jurisdiction, user.locale, imminent=imminent)
        resource = registry.pick(user.jurisdiction, user.locale)
        first = "emergency number first, then " if imminent else ""
        return Finding(
            self.id,
            "rewrite",
            f"crisis resources appended ({first}{resource.id}, verified {resource.verified_at})",
            text=f"{ctx.text}\n\n{message}",
            resources=True,
            labels=level,
        )


_loaded: dict[Path, ResourceRegistry] = {}


def _registry(path: Path | None) -> ResourceRegistry:
    """Registries are read once per path (policies may name theirs; most use the default)."""
    path = path or REGISTRY_FILE
    if path not in _loaded:
        _loaded[path] = ResourceRegistry.load(path)
    return _loaded[path]
