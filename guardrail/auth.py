"""API keys → principals. Keys are compared by SHA-256 and never logged; only names are."""

from __future__ import annotations

from dataclasses import dataclass

from guardrail.config import ApiKeyConfig, hash_key


@dataclass(frozen=True)
class Principal:
    name: str
    tenant: str
    bots: frozenset[str]
    role: str

    def may_speak_for(self, bot: str) -> bool:
        return "*" in self.bots or bot in self.bots


class Authenticator:
    def __init__(self, keys: list[ApiKeyConfig]) -> None:
        self._by_digest = {
            k.digest(): Principal(k.name, k.tenant, frozenset(k.bots), k.role) for k in keys
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
