"""Upstream delivery adapters, by the ``type`` name used in configuration.

Adding a platform is one module defining an :class:`Adapter` subclass plus one line in
:data:`ADAPTERS`; configuration validation (:class:`UpstreamConfig`) and
:func:`build_adapter` pick it up from there.
"""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from guardrail.platforms.adapter import Adapter, AdapterConfig
from guardrail.platforms.meta.adapters import InstagramAdapter, MessengerAdapter, WhatsAppAdapter
from guardrail.platforms.telegram.adapter import TelegramAdapter
from guardrail.platforms.webhook.adapter import WebhookAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    WebhookAdapter.name: WebhookAdapter,
    WhatsAppAdapter.name: WhatsAppAdapter,
    TelegramAdapter.name: TelegramAdapter,
    MessengerAdapter.name: MessengerAdapter,
    InstagramAdapter.name: InstagramAdapter,
}


class UpstreamConfig(AdapterConfig):
    """An :class:`AdapterConfig` as settings hold it: its ``type`` names a registered
    adapter, whose own checks ran (so a bad upstream fails when the config is loaded)."""

    @model_validator(mode="after")
    def _registered(self) -> Self:
        adapter = ADAPTERS.get(self.type)
        if adapter is None:
            known = ", ".join(sorted(ADAPTERS))
            raise ValueError(f"unknown adapter type {self.type!r}; known: {known}")
        adapter.check_config(self)
        return self


def build_adapter(config: AdapterConfig) -> Adapter:
    """A ready adapter for ``config``; reads ``token_env`` now, so a missing variable fails
    at startup rather than on the first message."""
    return ADAPTERS[config.type](config)


__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterConfig",
    "InstagramAdapter",
    "MessengerAdapter",
    "TelegramAdapter",
    "UpstreamConfig",
    "WebhookAdapter",
    "WhatsAppAdapter",
    "build_adapter",
]
