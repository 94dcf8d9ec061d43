"""Which bot a proxy token belongs to: the token its own platform client already sends.

Only the SHA-256 of that token is configured (``bots.<id>.proxy_token_sha256``). Every
configured digest is compared, in constant time, whatever matched first, so neither the
answer time nor an early exit tells a caller how close a guess came or which bot it hit.
"""

from __future__ import annotations

import hashlib
import hmac

from guardrail.auth import Principal
from guardrail.config import Settings


def bot_for_token(settings: Settings, token: str | None) -> str | None:
    """The bot whose proxy token this is, or None."""
    if not token:
        return None
    given = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest().encode()
    found: str | None = None
    for bot_id, bot in settings.bots.items():
        if bot.proxy_token_sha256 is None:
            continue
        if hmac.compare_digest(given, bot.proxy_token_sha256.encode()) and found is None:
            found = bot_id
    return found


def principal_for(settings: Settings, bot_id: str) -> Principal:
    """A bot-role principal that speaks for this one bot, in the bot's tenant."""
    bot = settings.bots[bot_id]
    return Principal(
        name=f"proxy:{bot_id}", tenant=bot.tenant, bots=frozenset({bot_id}), role="bot"
    )


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (also OAuth's lowercase form)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() not in ("bearer", "oauth"):
        return None
    return token.strip() or None
