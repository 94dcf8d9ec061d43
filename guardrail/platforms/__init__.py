"""Messaging platforms, one folder each: delivery adapter, proxy translation, webhooks.

- :mod:`~guardrail.platforms.adapter`: the adapter interface every platform implements
  (deliver an allowed message, shape a refusal), and its configuration.
- :mod:`~guardrail.platforms.registry`: adapters by configured ``type``.
- :mod:`~guardrail.platforms.proxy`: what every proxy shares (reading a call, finding the
  bot by its token, the decide-and-send flow).
- :mod:`~guardrail.platforms.telegram`, :mod:`~guardrail.platforms.meta` (WhatsApp Cloud
  API, Messenger, Instagram), :mod:`~guardrail.platforms.webhook` (a plain JSON webhook).

Adding a platform: a folder with its adapter (one line in the registry) and, if it has a
proxy or webhooks, a ``routes.py`` the app includes.
"""
