"""Who may do what, and how much: the checks every use case makes before it acts.

They raise :class:`~guardrail.service.errors.Forbidden` or ``TooLarge``; the caller's
identity (a :class:`~guardrail.auth.Principal`) comes from the edge (an API key, a proxy
token, a signed webhook), never from the request body.
"""

from __future__ import annotations

import hmac

from guardrail.auth import Principal
from guardrail.config import DEFAULT_TENANT, hash_key
from guardrail.gateway import Gateway
from guardrail.models import Event
from guardrail.service.errors import Forbidden, TooLarge
from guardrail.service.ingest import USER_EVENTS
from guardrail.state.common import EvidenceSource


def require_role(principal: Principal, *roles: str) -> Principal:
    """Forbidden unless the key has one of ``roles`` (bot, ingest, auditor, admin)."""
    if principal.role not in roles:
        raise Forbidden(
            f"this API key has role {principal.role!r}; this route needs {' or '.join(roles)}"
        )
    return principal


def is_operator(principal: Principal) -> bool:
    """The gateway's operator: an admin key of the ``default`` tenant (``GUARDRAIL_API_KEY``).
    Only the operator sees what concerns every tenant (the chain's head, every policy
    error); a tenant's keys see their own."""
    return principal.role == "admin" and principal.tenant == DEFAULT_TENANT


def may_read_metrics(gateway: Gateway, authorization: str | None) -> bool | None:
    """Whether this caller may read ``/metrics`` (they cover every tenant): anyone when
    ``metrics_public``, else the metrics key or the operator's. None: no key was
    recognised (401); False: a key of a tenant (403)."""
    settings = gateway.settings
    if settings.metrics_public:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and settings.metrics_key is not None:
        wanted = hash_key(settings.metrics_key.get_secret_value())
        if hmac.compare_digest(hash_key(token), wanted):
            return True
    principal = gateway.auth.authenticate(authorization)
    if principal is None:
        return None
    return is_operator(principal)


def authorise_bot(
    gateway: Gateway, principal: Principal, bot: str, roles: tuple[str, ...] = ("bot", "admin")
) -> str:
    """The tenant the decision belongs to, or Forbidden when the key may not speak for
    ``bot`` (an auditor key speaks for no bot; an ingest key only posts events)."""
    require_role(principal, *roles)
    owner = gateway.tenant_of_bot(bot)
    if not principal.may_speak_for(bot) or (owner is not None and owner != principal.tenant):
        raise Forbidden(f"this API key may not speak for bot {bot!r}")
    return principal.tenant


def check_text(gateway: Gateway, text: str) -> None:
    """TooLarge when ``text`` is over the configured ``max_text_chars``."""
    limit = gateway.settings.max_text_chars
    if len(text) > limit:
        raise TooLarge(f"text is {len(text)} characters; the limit is {limit}")


def evidence_source(gateway: Gateway, principal: Principal, event: Event) -> EvidenceSource:
    """Who vouches for ``event``; Forbidden when a bot key posts what only the user can say."""
    if principal.role == "admin":
        return "admin"
    if principal.role == "ingest":
        return "ingest"
    if event.type in USER_EVENTS:
        bot = gateway.settings.bots.get(event.bot_id)
        if bot is None or not bot.forwards_user_events:
            raise Forbidden(
                f"a bot key may not post {event.type.value} events: they are evidence of what "
                "the user did, and the bot is the party they restrain. Post them with an ingest "
                f"key or the platform webhook, or set bots.{event.bot_id}.forwards_user_events: "
                "true if this bot's engine is where they come from",
            )
    return "bot"
