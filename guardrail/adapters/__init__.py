"""Upstream delivery adapters, by the ``type`` name used in configuration.

Adding a platform is one module defining an :class:`Adapter` subclass plus one line in
:data:`ADAPTERS`; configuration validation and :func:`build_adapter` pick it up from there.
"""

from __future__ import annotations

from guardrail.adapters.base import Adapter, AdapterConfig
from guardrail.adapters.messenger import InstagramAdapter, MessengerAdapter
from guardrail.adapters.telegram import TelegramAdapter
from guardrail.adapters.webhook import WebhookAdapter
from guardrail.adapters.whatsapp import WhatsAppAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    WebhookAdapter.name: WebhookAdapter,
    WhatsAppAdapter.name: WhatsAppAdapter,
    TelegramAdapter.name: TelegramAdapter,
    MessengerAdapter.name: MessengerAdapter,
    InstagramAdapter.name: InstagramAdapter,
}


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
    "WebhookAdapter",
    "WhatsAppAdapter",
    "build_adapter",
]
