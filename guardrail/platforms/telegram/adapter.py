"""Telegram Bot API ``sendMessage``.

Configure either ``url: https://api.telegram.org/bot<TOKEN>`` (the Bot API's own form) or
``url: https://api.telegram.org`` with ``token``/``token_env``. The token is split out of
the URL at config load so it lives only in a ``SecretStr`` and never in a repr; it still
has to travel in the request path, which is why the base class redacts httpx's log line.

A 200 response with ``"ok": false`` is a failure, as the Bot API defines.

Refusal: block is 403 ``Forbidden: blocked by guardrail: <rules>``; defer is 429 with
``parameters.retry_after``, exactly how Telegram asks a bot to slow down, so client
libraries raise their usual RetryAfter. Guardrail's verdict, rule ids and decision id
ride along under ``guardrail``, which Bot API clients ignore. Beware that some bots treat
every 403 as "user blocked the bot" and stop messaging that user; for a guardrail block
that is the intended effect.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from guardrail.models import Decision, Verdict
from guardrail.platforms.adapter import Adapter, AdapterConfig, Outbound, reason_line, refusal_of

# A bot token is "<bot id>:<secret>"; anything non-empty without a slash is accepted so a
# local Bot API server with different tokens also works.
_TOKEN_IN_PATH = re.compile(r"^(?P<base>.*)/bot(?P<token>[^/]+)/?$")


class TelegramAdapter(Adapter):
    """Sends text through ``sendMessage``; ``chat_id`` is the guardrail user id."""

    name: ClassVar[str] = "telegram"

    @classmethod
    def check_config(cls, config: AdapterConfig) -> None:
        url = httpx.URL(config.url)
        match = _TOKEN_IN_PATH.match(url.path)
        if match is not None:
            if config.has_token:
                raise ValueError("telegram bot token given both in url and in token/token_env")
            if url.query:
                raise ValueError("telegram url must not have a query string")
            # Move the token out of the URL so reprs and dumps of the config never show it.
            config.token = SecretStr(match.group("token"))
            config.url = str(url.copy_with(path=match.group("base") or "/")).rstrip("/")
        elif not config.has_token:
            raise ValueError(
                "telegram adapter needs a bot token: url .../bot<TOKEN>, token or token_env"
            )

    def _outbound(self, *, bot_id: str, user_id: str, text: str) -> Outbound:
        base = self.config.url.rstrip("/")
        return Outbound(
            url=f"{base}/bot{self._token}/sendMessage",
            json={"chat_id": user_id, "text": text},
            headers={},
        )

    def _success_error(self, payload: Any) -> str | None:
        if isinstance(payload, dict) and payload.get("ok") is True:
            return None
        return self._error_detail(payload) or 'response is not {"ok": true}'

    def _error_detail(self, payload: Any) -> str | None:
        if isinstance(payload, dict):
            description = payload.get("description")
            if isinstance(description, str):
                return description
        return None

    def _retry_hint(self, response: httpx.Response, payload: Any) -> float | None:
        if isinstance(payload, dict):
            parameters = payload.get("parameters")
            if isinstance(parameters, dict):
                seconds = parameters.get("retry_after")
                if isinstance(seconds, int | float) and not isinstance(seconds, bool):
                    return float(seconds)
        return super()._retry_hint(response, payload)

    def refusal(self, decision: Decision) -> tuple[int, dict[str, Any]]:
        refused = refusal_of(decision)
        if refused.verdict is Verdict.BLOCK:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": f"Forbidden: {reason_line(refused)}",
                "guardrail": refused.as_json(),
            }
        body: dict[str, Any] = {"ok": False, "error_code": 429}
        if refused.retry_after_s is not None:
            body["description"] = f"Too Many Requests: retry after {refused.retry_after_s}"
            body["parameters"] = {"retry_after": refused.retry_after_s}
        else:
            body["description"] = f"Too Many Requests: {refused.summary}"
        body["guardrail"] = refused.as_json()
        return 429, body
