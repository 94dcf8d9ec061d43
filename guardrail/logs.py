"""Logging for ``serve``: text lines, or one JSON object per line (``log_format: json``).

In JSON mode every record is an object (``python-json-logger``): the access log is on,
and each outreach decision is one line from the ``guardrail.decisions`` logger with its
id, tenant, bot, verdict, rule ids and latency, what a log pipeline indexes. Texts and
user ids are never in it (the audit log keeps what may be kept).
"""

from __future__ import annotations

import logging
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

from guardrail.models import Decision, OutreachRequest

LogFormat = Literal["text", "json"]
DECISIONS = logging.getLogger("guardrail.decisions")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str, log_format: LogFormat) -> None:
    """The root handler for the process; uvicorn's loggers propagate to it."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # A line per decision and per request only where a machine reads them.
    DECISIONS.setLevel(logging.INFO if log_format == "json" else logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = log_format != "json"


def log_decision(tenant: str, req: OutreachRequest, decision: Decision, seconds: float) -> None:
    """One line per decision (JSON mode): what was decided, by which rules, how fast."""
    if not DECISIONS.isEnabledFor(logging.INFO):
        return
    DECISIONS.info(
        "decision",
        extra={
            "decision_id": decision.decision_id,
            "tenant": tenant,
            "bot": req.bot_id,
            "channel": req.channel.value,
            "kind": decision.kind.value,
            "verdict": decision.verdict.value,
            "rules": [r.rule for r in decision.reasons],
            "policy": decision.policy,
            "policy_version": decision.policy_version,
            "latency_ms": round(seconds * 1000, 2),
            "replay": decision.idempotent_replay,
        },
    )
