"""The running gateway's parts, built once from settings and shared by every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from guardrail.adapters import build_adapter
from guardrail.adapters.base import Adapter
from guardrail.auth import Authenticator
from guardrail.config import Settings
from guardrail.consent import ConsentDetector
from guardrail.metrics import Metrics
from guardrail.models import OutreachRequest
from guardrail.policy import LoadedPolicy, builtin, load_policy
from guardrail.state import open_store
from guardrail.state.base import Store


class ClientTimeRejected(ValueError):
    """An outreach ``ts`` too far from the gateway clock (caps could be dodged by backdating)."""


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Gateway:
    settings: Settings
    store: Store
    policy: LoadedPolicy
    auth: Authenticator
    clock: Callable[[], datetime] = system_clock
    metrics: Metrics = field(default_factory=Metrics)
    adapters: dict[str, Adapter] = field(default_factory=dict)

    _detector: tuple[str, ConsentDetector] | None = None

    @property
    def detector(self) -> ConsentDetector:
        """Opt-out wording of the active policy, compiled once per policy version."""
        if self._detector is None or self._detector[0] != self.policy.version:
            self._detector = (self.policy.version, ConsentDetector(self.policy.policy.consent))
        return self._detector[1]

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], datetime] = system_clock
    ) -> Gateway:
        loaded = load_policy(settings.policy) if settings.policy else builtin()
        gateway = cls(
            settings=settings,
            store=open_store(db=settings.db, redis_url=settings.redis_url),
            policy=loaded,
            auth=Authenticator(settings.all_keys()),
            clock=clock,
        )
        for bot, cfg in settings.bots.items():
            if cfg.upstream is not None:
                gateway.adapters[bot] = build_adapter(cfg.upstream)
        if settings.default_upstream is not None:
            gateway.adapters["*"] = build_adapter(settings.default_upstream)
        return gateway

    def adapter_for(self, bot: str) -> Adapter | None:
        return self.adapters.get(bot) or self.adapters.get("*")

    def tenant_of_bot(self, bot: str) -> str | None:
        cfg = self.settings.bots.get(bot)
        return cfg.tenant if cfg else None

    def decision_time(self, req: OutreachRequest) -> datetime:
        now = self.clock()
        if req.ts is None:
            return now
        if self.settings.trust_client_time or abs(req.ts - now) <= self.settings.client_time_skew:
            return req.ts.astimezone(UTC)
        raise ClientTimeRejected(
            f"ts {req.ts.isoformat()} is more than {self.settings.client_time_skew} from the "
            "gateway clock; omit ts, or run the gateway with trust_client_time for replay"
        )

    async def aclose(self) -> None:
        for adapter in {id(a): a for a in self.adapters.values()}.values():
            await adapter.aclose()
        await self.store.close()
