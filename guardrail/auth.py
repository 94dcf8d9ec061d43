"""API keys → principals. Keys are compared by SHA-256 and never logged; only names are."""

from __future__ import annotations

from dataclasses import dataclass

from guardrail.config import ApiKeyConfig, hash_key


@dataclass(frozen=True)
class Principal:
    name: str
    tenant: str
    """The tenant this request acts in."""
    bots: frozenset[str]
    role: str
    home_tenant: str | None = None
    """The key's own tenant, set when it acts in another one (an operator key, on a
    request that names that tenant); None: it acts at home."""

    def may_speak_for(self, bot: str) -> bool:
        return "*" in self.bots or bot in self.bots

    @property
    def home(self) -> str:
        """The key's own tenant."""
        return self.home_tenant or self.tenant

    @property
    def elsewhere(self) -> bool:
        """Acting in a tenant that is not the key's own (recorded in that tenant's log)."""
        return self.home_tenant is not None and self.home_tenant != self.tenant


class Authenticator:
    def __init__(self, keys: list[ApiKeyConfig]) -> None:
        self._by_digest = {
            k.digest(): Principal(k.name, k.home_tenant, frozenset(k.bots), k.role) for k in keys
        }

    def __len__(self) -> int:
        return len(self._by_digest)

    def authenticate(self, authorization: str | None) -> Principal | None:
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self._by_digest.get(hash_key(token.strip()))
