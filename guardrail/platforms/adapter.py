"""The upstream adapter interface: deliver an allowed message, shape a refusal for the bot.

An adapter speaks one delivery platform's wire format in both directions:

* :meth:`Adapter.deliver` POSTs an allowed (or rewritten) message to the platform, with
  bounded retries on failures that are worth retrying, and always returns a
  :class:`~guardrail.models.Delivery` (never raises for upstream trouble), so the decision
  that caused the delivery can still be recorded and answered.
* :meth:`Adapter.refusal` builds the HTTP status and JSON body that a bot written against
  that platform already knows how to handle, so a bot can point its platform client at
  guardrail without special-casing refusals.

Tokens and other secrets must never leak into logs, reprs or error strings: every adapter
registers its secrets with a redactor that also filters httpx's own request log (the
Telegram Bot API puts the token in the URL path).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import quote

import httpx
import tenacity
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from guardrail.models import Decision, Delivery, Verdict

logger = logging.getLogger("guardrail.platforms")

MAX_RETRY_WAIT_S = 5.0
"""Longest single wait between attempts. The bot is waiting on the HTTP response, so an
upstream that asks for a longer pause (429 Retry-After) is answered with a failed delivery
instead of a held request."""

_REDACTED = "***"
_MIN_SECRET_LEN = 4
"""Shorter values are not plausible secrets, and replacing them would garble messages."""
_ERROR_DETAIL_MAX = 300
_USER_AGENT = "guardrail/0.1"


# --------------------------------------------------------------------------- secrets


class _SecretRegistry:
    """Process-wide set of live secrets, reference-counted per adapter that uses them.

    A registry (rather than per-adapter state) because httpx logs through one module-level
    logger that cannot tell which adapter sent a request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._ordered: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._counts.update(secrets)
            self._reorder()

    def remove(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._counts.subtract(secrets)
            self._counts = +self._counts  # drop zero and negative counts
            self._reorder()

    def _reorder(self) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._ordered = tuple(sorted(self._counts, key=len, reverse=True))

    def snapshot(self) -> tuple[str, ...]:
        return self._ordered


_registry = _SecretRegistry()


def _secret_variants(value: str) -> set[str]:
    """The value as written and as it may appear percent-encoded inside a URL."""
    if len(value) < _MIN_SECRET_LEN:
        return set()
    return {value, quote(value, safe=""), quote(value)}


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` (secrets longest first)."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def _redact_json(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_redact_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact(str(k), secrets): _redact_json(v, secrets) for k, v in value.items()}
    return value


class _SecretLogFilter(logging.Filter):
    """Redacts registered secrets from httpx's INFO line ``HTTP Request: POST <url> ...``."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _registry.snapshot()
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's problem, not ours
            return True
        redacted = redact(message, secrets)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


logging.getLogger("httpx").addFilter(_SecretLogFilter())


def redact_url(url: str) -> str:
    """A URL safe to show: no user info, query values masked."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<invalid url>"
    shown = str(parsed.copy_with(username=None, password=None, query=None, fragment=None))
    if parsed.query:
        shown += "?" + "&".join(f"{quote(key)}={_REDACTED}" for key in parsed.params)
    return shown


def _url_secrets(url: str) -> set[str]:
    """Secrets a URL may carry: the password of its user info and its query values."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return set()
    found: set[str] = set()
    if parsed.password:
        found |= _secret_variants(parsed.password)
    for _, value in parsed.params.multi_items():
        found |= _secret_variants(value)
    return found


# --------------------------------------------------------------------------- config


class AdapterConfig(BaseModel):
    """One upstream delivery target, as written in the gateway's configuration.

    ``hide_input_in_errors``: a validation error must not echo a URL or token back into
    logs.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: str = Field(
        description="adapter name: webhook, whatsapp, telegram, messenger or instagram"
    )
    url: str = Field(description="endpoint; per adapter (see each adapter's docstring)")
    token: SecretStr | None = Field(
        default=None, description="credential, sent as the adapter requires"
    )
    token_env: str | None = Field(
        default=None, min_length=1, description="name of an environment variable holding the token"
    )
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    retries: int = Field(
        default=2, ge=0, le=5, description="extra attempts on connect errors, timeouts, 5xx, 429"
    )
    backoff_s: float = Field(
        default=0.25, ge=0, le=MAX_RETRY_WAIT_S, description="first retry wait; doubles each time"
    )
    headers: dict[str, SecretStr] | None = Field(
        default=None, description="extra request headers; values are treated as secrets"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            parsed = httpx.URL(value)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ValueError("url is not a valid URL") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("url must be an absolute http:// or https:// URL")
        return value

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, SecretStr] | None) -> dict[str, SecretStr] | None:
        if value is None:
            return None
        for name, header in value.items():
            if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
                raise ValueError(f"header name {name!r} is not a valid HTTP token")
            if any(ch in header.get_secret_value() for ch in "\r\n"):
                raise ValueError(f"header {name!r} contains a line break")
        return value

    @model_validator(mode="after")
    def _check_adapter(self) -> Self:
        if self.token is not None and self.token_env is not None:
            raise ValueError("give either token or token_env, not both")
        if self.has_token and any(k.lower() == "authorization" for k in self.headers or {}):
            raise ValueError("headers.Authorization conflicts with token/token_env")
        return self

    @property
    def has_token(self) -> bool:
        return self.token is not None or self.token_env is not None

    def resolve_token(self) -> str | None:
        """The token value, reading ``token_env`` now (at adapter construction, not load)."""
        if self.token is not None:
            return self.token.get_secret_value()
        if self.token_env is None:
            return None
        value = os.environ.get(self.token_env)
        if not value:
            raise ValueError(f"environment variable {self.token_env} (token_env) is not set")
        return value

    @field_serializer("url", when_used="json")
    def _show_url(self, value: str) -> str:
        # Like SecretStr: JSON dumps are for display, so query secrets are masked there too.
        return redact_url(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for key, value in super().__repr_args__():
            yield key, redact_url(value) if key == "url" else value


# --------------------------------------------------------------------------- refusals


@dataclass(frozen=True)
class Refusal:
    """What every platform's refusal carries, computed once from the decision."""

    verdict: Verdict
    decision_id: str
    rules: list[str]
    retry_after: str | None
    """ISO 8601, with offset."""
    retry_after_s: int | None
    """Seconds from the decision to ``retry_after`` (at least 1), for platforms that count."""
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "decision_id": self.decision_id,
            "rules": list(self.rules),
            "retry_after": self.retry_after,
            "retry_after_s": self.retry_after_s,
        }


def refusal_of(decision: Decision) -> Refusal:
    """Summarise a block or defer decision; any other verdict is a caller bug."""
    if decision.verdict not in (Verdict.BLOCK, Verdict.DEFER):
        raise ValueError(f"refusal() needs a block or defer decision, got {decision.verdict}")
    # The rules that enforced the verdict; info and shadow findings did not refuse anything.
    enforcing = [r.rule for r in decision.reasons if r.effect in ("block", "defer")]
    if not enforcing:
        enforcing = [r.rule for r in decision.reasons if r.effect != "shadow"]
    rules = list(dict.fromkeys(enforcing))
    retry_after = retry_after_s = None
    if decision.retry_after is not None:
        retry_after = decision.retry_after.isoformat()
        # Relative to the decision time, not the wall clock: replayed decisions stay stable.
        delta = (decision.retry_after - decision.decided_at).total_seconds()
        retry_after_s = max(1, math.ceil(delta))
    action = "blocked" if decision.verdict is Verdict.BLOCK else "deferred"
    summary = f"message {action} by guardrail policy"
    if rules:
        summary += f" (rules: {', '.join(rules)})"
    if retry_after is not None:
        summary += f"; retry after {retry_after}"
    return Refusal(
        verdict=decision.verdict,
        decision_id=decision.decision_id,
        rules=rules,
        retry_after=retry_after,
        retry_after_s=retry_after_s,
        summary=summary,
    )


def reason_line(refused: Refusal) -> str:
    """``blocked by guardrail: user_first`` (the words a client library's exception shows)."""
    action = "blocked" if refused.verdict is Verdict.BLOCK else "deferred"
    line = f"{action} by guardrail: {', '.join(refused.rules) or 'policy'}"
    if refused.retry_after is not None:
        line += f"; retry after {refused.retry_after}"
    return line


# --------------------------------------------------------------------------- adapter


@dataclass(frozen=True)
class Outbound:
    """One upstream request, built once and sent unchanged on every attempt."""

    url: str
    json: dict[str, Any]
    headers: dict[str, str]
    form: dict[str, str] | None = None
    """When set, sent form-encoded (or multipart with ``files``) instead of ``json``: proxy
    mode forwards a bot's call in the encoding its client chose."""
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    """Multipart file parts as httpx takes them: ``(field, (filename, data, type))``."""

    def body(self) -> dict[str, Any]:
        """The httpx keyword arguments that carry this request's body."""
        if self.form is None and self.files is None:
            return {"json": self.json}
        return {"data": self.form or {}, "files": self.files}


@dataclass
class _Seen:
    """What the attempts of one delivery saw so far."""

    count: int = 0
    uncertain: bool = False
    """Sticky: once one attempt may have gone out, the delivery stays uncertain."""


@dataclass(frozen=True)
class _Retryable:
    """A failed attempt worth repeating (connect error, timeout, 5xx, 429)."""

    status: int | None
    payload: Any
    error: str
    hint: float | None = None
    """Seconds the upstream asked to wait (Retry-After)."""


def _too_long(hint: float | None) -> bool:
    return hint is not None and hint > MAX_RETRY_WAIT_S


def _hint_of(state: tenacity.RetryCallState) -> float | None:
    failure = state.outcome.result() if state.outcome and not state.outcome.failed else None
    return failure.hint if isinstance(failure, _Retryable) else None


class _AskedTooLong(tenacity.stop.stop_base):
    """Stop: the upstream asked for a longer pause than a waiting bot can afford."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return _too_long(_hint_of(retry_state))


class Adapter(ABC):
    """Base of every upstream adapter: one platform, one shared HTTP client.

    Subclasses set :attr:`name`, build the request in :meth:`_outbound` and shape refusals in
    :meth:`refusal`; the retry loop, redaction and result mapping live here so every
    platform fails the same way.
    """

    name: ClassVar[str]
    """Registry key and ``AdapterConfig.type``; also ``Delivery.adapter``."""

    def __init__(self, config: AdapterConfig) -> None:
        if config.type != self.name:
            raise ValueError(f"{type(self).__name__} needs type {self.name!r}, got {config.type!r}")
        type(self).check_config(config)  # idempotent: an UpstreamConfig ran it already
        self.config = config
        self._token = config.resolve_token()
        secrets: set[str] = set(_url_secrets(config.url))
        if self._token:
            secrets |= _secret_variants(self._token)
        headers = {k: v.get_secret_value() for k, v in (config.headers or {}).items()}
        for value in headers.values():
            secrets |= _secret_variants(value)
        self._secrets = tuple(sorted(secrets, key=len, reverse=True))
        _registry.add(self._secrets)
        self._closed = False
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout_s),
            follow_redirects=False,  # a redirected POST may change method or leak the token
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json", **headers},
        )

    @classmethod
    def check_config(cls, config: AdapterConfig) -> None:
        """Per-platform config checks, run when settings are loaded
        (:class:`~guardrail.platforms.registry.UpstreamConfig`) and when the adapter is
        built; raise ValueError.

        May normalise ``config`` in place (Telegram moves the token out of the URL).
        """
        return None

    # ---- subclass hooks

    @abstractmethod
    def _outbound(self, *, bot_id: str, user_id: str, text: str) -> Outbound:
        """The platform request for one message."""

    def _success_error(self, payload: Any) -> str | None:
        """An error hidden in a 2xx response (Telegram's ``ok: false``), else None."""
        return None

    def _error_detail(self, payload: Any) -> str | None:
        """A short human explanation from the platform's error body, if it has one."""
        if isinstance(payload, dict):
            for key in ("error", "detail", "message", "description"):
                value = payload.get(key)
                if isinstance(value, str):
                    return value
        return None

    def _retry_hint(self, response: httpx.Response, payload: Any) -> float | None:
        """Seconds the upstream asked us to wait (429/503 Retry-After), if it said."""
        value = response.headers.get("retry-after", "").strip()
        if value.isdigit():
            return float(value)
        return None

    @abstractmethod
    def refusal(self, decision: Decision) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON body a bot of this platform expects for a refused message."""

    # ---- delivery

    async def deliver(
        self, *, bot_id: str, user_id: str, text: str, outbound: Outbound | None = None
    ) -> Delivery:
        """Send one message upstream; failures come back as a failed Delivery, not raised.

        Retries (``config.retries`` extra attempts, exponential backoff) only on connect
        errors, timeouts, 5xx and 429: a 4xx will fail the same way again. Note that a
        timeout or 5xx after the platform accepted the message can make a retry deliver
        it twice; bounded retries trade that rare duplicate for fewer lost messages.

        A failure is *definite* (the message certainly did not go out: connection refused,
        DNS failure, a connect or pool timeout, a 4xx or 2xx refusal) or *uncertain* (a read
        or write timeout, a 5xx, a broken response after the request went out: the platform
        may have taken it). Uncertain failures come back with ``uncertain=True``; once one
        attempt was uncertain, the outcome stays uncertain whatever later attempts say.

        ``outbound`` replaces the adapter's own request (proxy mode: the bot's call as its
        client made it, with the guarded text and the real token).
        """
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        request = outbound or self._outbound(bot_id=bot_id, user_id=user_id, text=text)
        attempts = self.config.retries + 1
        seen = _Seen()
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(attempts) | _AskedTooLong(),
            wait=self._wait,
            retry=tenacity.retry_if_result(lambda r: isinstance(r, _Retryable)),
            before_sleep=lambda state: self._log_retry(state, attempts),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        result: Delivery | _Retryable | None = await retrying(self._attempt, request, seen)
        if isinstance(result, Delivery):
            return result
        error = result.error if result else "no attempt made"
        status, payload = (result.status, result.payload) if result else (None, None)
        if result and seen.count < attempts and _too_long(result.hint):
            error += f" (upstream asked to retry after {result.hint:g}s; not waiting)"
        if seen.count > 1:
            error += f" (after {seen.count} attempts)"
        return self._failed(status, error, payload, seen.uncertain)

    async def _attempt(self, request: Outbound, seen: _Seen) -> Delivery | _Retryable:
        """One POST: a final Delivery, or a failure worth another attempt."""
        seen.count += 1
        try:
            response = await self._client.post(
                request.url, **request.body(), headers=request.headers
            )
        except (httpx.TimeoutException, httpx.ConnectError) as exc:
            kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connect error"
            # Connect and pool timeouts happen before a byte of the request is sent.
            seen.uncertain |= not isinstance(
                exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
            )
            return _Retryable(None, None, self._describe(kind, exc))
        except httpx.InvalidURL as exc:
            # A token with characters no URL can carry (the text is redacted): never sent.
            return self._failed(None, self._describe("invalid URL", exc), None, seen.uncertain)
        except httpx.HTTPError as exc:
            # Read/protocol errors after the request went out: not safe to repeat blindly.
            seen.uncertain = True
            return self._failed(None, self._describe("transport error", exc), None, True)
        status = response.status_code
        payload = self._json(response)
        if response.is_success:
            problem = self._success_error(payload)
            if problem is None:
                return Delivery(
                    status="delivered",
                    adapter=self.name,
                    upstream_status=status,
                    response=_redact_json(payload, self._secrets),
                )
            error = f"upstream rejected the message: {problem}"
            return self._failed(status, self._attempts_note(error, seen), payload, seen.uncertain)
        detail = self._error_detail(payload)
        error = f"upstream HTTP {status}"
        if detail:
            error += f": {detail[:_ERROR_DETAIL_MAX]}"
        seen.uncertain |= status >= 500  # the platform may have taken it before failing
        if status >= 500 or status == 429:
            return _Retryable(status, payload, error, self._retry_hint(response, payload))
        return self._failed(status, self._attempts_note(error, seen), payload, seen.uncertain)

    @staticmethod
    def _attempts_note(error: str, seen: _Seen) -> str:
        return f"{error} (after {seen.count} attempts)" if seen.count > 1 else error

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Exponential backoff, capped; longer when the upstream asked (Retry-After)."""
        delay: float = min(
            self.config.backoff_s * 2 ** (state.attempt_number - 1), MAX_RETRY_WAIT_S
        )
        hint = _hint_of(state)
        return delay if hint is None else max(delay, hint)

    def _log_retry(self, state: tenacity.RetryCallState, attempts: int) -> None:
        failure = state.outcome.result() if state.outcome else None
        logger.warning(
            "%s delivery attempt %d/%d failed (%s); retrying in %.2fs",
            self.name,
            state.attempt_number,
            attempts,
            self._redact(failure.error if isinstance(failure, _Retryable) else "?"),
            state.next_action.sleep if state.next_action else 0.0,
        )

    @property
    def token(self) -> str | None:
        """The real platform token (proxy mode sends it upstream in place of the bot's)."""
        return self._token

    async def passthrough(
        self, method: str, url: str, *, timeout_s: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request sent as is, no retries: for platform calls guardrail does not guard
        (``getUpdates``, ``setWebhook``...). Raises httpx errors; the caller shapes them."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        timeout = httpx.Timeout(timeout_s) if timeout_s is not None else self._client.timeout
        return await self._client.request(method, url, timeout=timeout, **kwargs)

    def _failed(
        self, status: int | None, error: str, payload: Any, uncertain: bool = False
    ) -> Delivery:
        if uncertain:
            error += "; the platform may have delivered it: counted as sent"
        return Delivery(
            status="failed",
            adapter=self.name,
            uncertain=uncertain,
            upstream_status=status,
            error=self._redact(error),
            response=_redact_json(payload, self._secrets),
        )

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:  # not JSON (or not decodable): keep only the status
            return None

    @staticmethod
    def _describe(kind: str, exc: Exception) -> str:
        message = str(exc).strip()
        name = type(exc).__name__
        return f"{kind} ({name}): {message}" if message else f"{kind} ({name})"

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # ---- lifecycle

    async def aclose(self) -> None:
        """Close the HTTP client and forget this adapter's secrets; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._client.aclose()
        _registry.remove(self._secrets)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} url={redact_url(self.config.url)!r} "
            f"timeout_s={self.config.timeout_s:g} retries={self.config.retries}>"
        )
