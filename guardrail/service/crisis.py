"""The crisis protocol's immediate steps, once an event shows a user at crisis level.

The recorded risk itself (written with the event) holds proactive outreach and puts help
in the next reply, and its audit record was kept with it (the store's audit outbox); here
the crisis is counted and sent to the operator's reviewers through the durable outbox. An
imminent crisis (an act under way or within hours, means at hand, a goodbye) is marked
``imminent: true`` with ``priority: "high"`` in the review notice and in the audit record;
its hold and its emergency-first resources come from the recorded risk
(``rules/risk_hold``, ``rules/crisis_resources``).
"""

from __future__ import annotations

import logging

from guardrail.gateway import Gateway
from guardrail.models import Event, EventResult
from guardrail.state.base import StoreUnavailable

log = logging.getLogger("guardrail")


async def crisis_protocol(gateway: Gateway, tenant: str, event: Event, result: EventResult) -> None:
    """Count it and queue the review notice (durable before the event is answered: a
    restart still sends it). A queue that fails is logged: the risk and its audit record
    are stored already."""
    gateway.metrics.crisis.labels(result.risk or "unknown").inc()
    if gateway.notifier is None:
        return
    payload = {
        "type": "crisis",
        "tenant": tenant,
        "bot_id": event.bot_id,
        "user_id": event.user_id,
        "level": result.risk,
        "score": result.risk_score,
        "imminent": result.imminent,
        "priority": "high" if result.imminent else "normal",
        "ts": event.ts.isoformat(),
        "event_id": event.event_id,
    }
    if gateway.notifier.config.include_text:
        payload["text"] = event.text
    try:
        await gateway.notifier.enqueue(payload)
    except StoreUnavailable as exc:
        log.error("crisis review of bot %s not queued: %s", event.bot_id, exc)
