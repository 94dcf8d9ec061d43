"""Who may do what, and how much: the checks every use case makes before it acts.

They raise :class:`~guardrail.service.errors.Forbidden` or ``TooLarge``; the caller's
identity (a :class:`~guardrail.auth.Principal`) comes from the edge (an API key, a proxy
token, a signed webhook), never from the request body.

Tenancy: every key belongs to one tenant and acts there. An ``operator`` key (the gateway
operator's, such as ``GUARDRAIL_API_KEY``) may act in any tenant of the configuration, but
only in one a request names (:func:`in_tenant`), never in several at once and never by
inference from a bot id; the edge records each such request in that tenant's audit log.
A tenant's ``admin`` stays in its tenant.
"""

from __future__ import annotations

import hmac
from dataclasses import replace

from guardrail.auth import Principal
from guardrail.config import DEFAULT_TENANT, hash_key
from guardrail.gateway import Gateway
from guardrail.models import Event
from guardrail.service.errors import Forbidden, Invalid, TooLarge
from guardrail.service.ingest import USER_EVENTS
from guardrail.state.common import EvidenceSource

OPERATOR = "operator"
ADMIN_ROLES = frozenset({"admin", OPERATOR})
"""Keys that may do everything in the tenant they act in."""


def is_operator(principal: Principal) -> bool:
    """The gateway's operator: a key that may act in any tenant a request names."""
    return principal.role == OPERATOR


def require_role(principal: Principal, *roles: str) -> Principal:
    """Forbidden unless the key has one of ``roles`` (bot, ingest, auditor, admin); an
    operator key passes wherever an admin key does."""
    if principal.role not in roles and not (is_operator(principal) and "admin" in roles):
        raise Forbidden(
            f"this API key has role {principal.role!r}; this route needs {' or '.join(roles)}"
        )
    return principal


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


def evidence_role(principal: Principal) -> str:
    """The role whose word a key's evidence carries: an operator's is an admin's."""
    return "admin" if principal.role in ADMIN_ROLES else principal.role


def known_tenants(gateway: Gateway) -> list[str]:
    """Every tenant the configuration names: keys, bots, webhook numbers and pages,
    policies' ``match.tenants``, and ``default``."""
    settings = gateway.settings
    names = {DEFAULT_TENANT}
    names.update(key.home_tenant for key in settings.all_keys())
    names.update(bot.tenant for bot in settings.bots.values())
    if settings.whatsapp is not None:
        names.update(n.tenant for n in settings.whatsapp.phone_numbers.values())
    if settings.meta is not None:
        names.update(p.tenant for p in settings.meta.pages.values())
    current = gateway.policies.current
    for loaded in (*current.members, current.fallback):
        names.update(loaded.policy.match.tenants)
    return sorted(names)


def in_tenant(gateway: Gateway, principal: Principal, tenant: str | None) -> Principal:
    """``principal`` acting in ``tenant``, the one a request names (None: its own).

    Another tenant than the key's is Forbidden, except for an operator key, which may name
    any tenant the configuration knows (else Invalid: a misspelt tenant must not quietly
    start a new one)."""
    if tenant is None or tenant == principal.tenant:
        return principal
    if not is_operator(principal):
        raise Forbidden(
            f"this API key belongs to tenant {principal.tenant!r} and acts there only; "
            "an operator key may name another tenant"
        )
    if tenant not in known_tenants(gateway):
        raise Invalid(
            f"no tenant {tenant!r} in this gateway's configuration (keys, bots, webhooks "
            "and policies name the tenants)",
            field="X-Guardrail-Tenant",
        )
    return replace(principal, tenant=tenant, home_tenant=principal.tenant)


def authorise_bot(
    gateway: Gateway, principal: Principal, bot: str, roles: tuple[str, ...] = ("bot", "admin")
) -> str:
    """The tenant the decision belongs to, or Forbidden when the key may not speak for
    ``bot`` (an auditor key speaks for no bot; an ingest key only posts events)."""
    require_role(principal, *roles)
    owner = gateway.tenant_of_bot(bot)
    if is_operator(principal) and owner is not None and owner != principal.tenant:
        raise Forbidden(
            f"bot {bot!r} belongs to tenant {owner!r}; an operator key acts there only on a "
            f"request that names it (X-Guardrail-Tenant: {owner})"
        )
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
    if principal.role in ADMIN_ROLES:
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
