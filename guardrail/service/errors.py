"""What a use case answers when it refuses: domain errors that speak no HTTP.

The HTTP routes map each class to a status once (:mod:`guardrail.api.errors`); the proxy
maps the same status to the platform's own error shape, so a bot's client sees the error
it already handles. ``detail`` is written for the caller: it names what to change, never
a host, a path or another tenant's data.
"""

from __future__ import annotations

STORE_UNAVAILABLE = "state store unavailable, retry (the cause is in the gateway log)"


class ServiceError(Exception):
    """A use case refused the request; ``detail`` says why, for the caller."""

    def __init__(self, detail: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s
        """When set, the caller should retry after this many seconds."""


class Forbidden(ServiceError):
    """This caller may not do this (its role, the bots it speaks for, its evidence class)."""


class NotFound(ServiceError):
    """The thing asked for does not exist for this caller."""


class Conflict(ServiceError):
    """Not now, or not with this configuration: retry later, or change the setup."""


class TooLarge(ServiceError):
    """A text or a batch over the configured limits."""


class Invalid(ServiceError):
    """The request cannot be decided as it stands; ``field`` names the culprit if one."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class RateLimited(ServiceError):
    """This caller has too much in flight already; retry after ``retry_after_s``."""


class Unavailable(ServiceError):
    """A component (the state store, the audit log, the classifiers) is down: retry."""
