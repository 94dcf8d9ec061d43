"""The limits every inbound event meets, whichever way it came.

``/v1/events`` refuses an event whose time the gateway's clock says is impossible (more
than ``client_time_skew`` ahead, older than ``event_max_age``, outside 2000-2100) or whose
text is over ``max_text_chars`` (422 and 413). Signed webhooks and the updates the
Telegram proxy reads carry the same events, so they meet the same limits; but a refused
webhook is retried by Meta for days with the same content, so there the event is skipped
with a warning and the rest of the payload applies.
"""

from __future__ import annotations

from guardrail.gateway import Gateway
from guardrail.models import Event, clock_problem


def event_problem(gateway: Gateway, event: Event) -> str | None:
    """Why ``event`` is over a limit of ``/v1/events``; None when it is within them."""
    settings = gateway.settings
    problem = clock_problem(
        event.ts, gateway.clock(), settings.client_time_skew, settings.event_max_age
    )
    if problem is not None:
        return problem
    if event.text is not None and len(event.text) > settings.max_text_chars:
        return f"text is {len(event.text)} characters; the limit is {settings.max_text_chars}"
    return None
