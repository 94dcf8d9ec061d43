"""Probes and metrics (the active policies are in :mod:`guardrail.api.policies`)."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from guardrail.api.deps import GatewayDep
from guardrail.metrics import MULTIPROC_ENV
from guardrail.state.base import StoreUnavailable

log = logging.getLogger("guardrail")
router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (it does not look at dependencies)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(gateway: GatewayDep) -> JSONResponse:
    """Ready when the state store answers and what the active policies need is loaded: the
    classifier stack when a rule reads it (unless the gateway runs without classifiers),
    the PII detectors when a policy detects PII. ``missing`` says what is not there yet;
    decisions taken meanwhile defer proactive messages and name the checks that did not
    run, so a load balancer should send traffic elsewhere until this says ready."""
    body: dict[str, Any] = {
        "ready": True,
        "store": gateway.store.name,
        "classifiers": gateway.public_classifiers_state,
        "pii": gateway.public_pii_state,
    }
    missing = gateway.readiness()
    try:
        await gateway.store.ping()
    except StoreUnavailable as exc:
        gateway.metrics.store_up.set(0)
        log.warning("not ready: %s", exc)  # hosts and paths stay in the log
        missing.insert(0, "store: unavailable")
    else:
        gateway.metrics.store_up.set(1)
    if missing:  # an error body like any 503 (ErrorBody), with what is missing
        detail = "not ready: " + "; ".join(missing)
        body.update(ready=False, missing=missing, error="unavailable", detail=detail)
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text exposition format"}},
)
async def metrics(gateway: GatewayDep) -> Response:
    """This process's metrics; under ``serve --workers N``, every worker's, added up (the
    workers write them to ``$PROMETHEUS_MULTIPROC_DIR``, whichever worker answers reads
    them all)."""
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return Response(generate_latest(merged), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
