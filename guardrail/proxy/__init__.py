"""Proxy mode: a bot's own platform client talks to guardrail as if it were the platform.

:mod:`~guardrail.proxy.body` reads a call in every encoding the platforms accept,
:mod:`~guardrail.proxy.identity` finds the bot by the token its client sends,
:mod:`~guardrail.proxy.telegram` and :mod:`~guardrail.proxy.graph` know which calls carry
a message to a user, what text in them to guard and how each platform shapes an error.
"""
