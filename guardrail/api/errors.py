"""Domain errors as HTTP, in one place: each :class:`ServiceError` class has one status.

Every error body is ``{"error": <kind>, "detail": ...}``; an :class:`Invalid` that names a
field answers as a request validation error does (a list of ``{field, message}``), so an
operator can fix a request from the response alone. The proxy maps the same status to the
platform's error shape (:mod:`guardrail.platforms.proxy.guard`).
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from guardrail.service.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    ServiceError,
    TooLarge,
    Unavailable,
)

ERROR_NAMES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}
"""The ``error`` kind of each status guardrail answers with."""

STATUS: dict[type[ServiceError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Invalid: 422,
    RateLimited: 429,
    Unavailable: 503,
}


def status_of(exc: ServiceError) -> int:
    """The HTTP status of a domain error (its nearest listed class)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(exc: ServiceError) -> JSONResponse:
    """The JSON answer to a domain error."""
    code = status_of(exc)
    detail: object = exc.detail
    if isinstance(exc, Invalid) and exc.field is not None:
        detail = [{"field": exc.field, "message": exc.detail}]
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
    body = {"error": ERROR_NAMES.get(code, "error"), "detail": detail}
    return JSONResponse(body, status_code=code, headers=headers)
