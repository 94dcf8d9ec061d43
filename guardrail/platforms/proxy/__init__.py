"""Proxy mode's shared parts: a bot's own platform client talks to guardrail as if it were
the platform.

:mod:`~guardrail.platforms.proxy.body` reads a call in every encoding the platforms
accept, :mod:`~guardrail.platforms.proxy.identity` finds the bot by the token its client
sends, :mod:`~guardrail.platforms.proxy.message` is the message a call would send and
:mod:`~guardrail.platforms.proxy.guard` the decide-and-send flow; each platform's folder
knows which of its calls carry a message and how it shapes an error.
"""
