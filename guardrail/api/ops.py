"""Probes and metrics (the active policies are in :mod:`guardrail.api.policies`)."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from guardrail.api import schemas
from guardrail.api.deps import GatewayDep
from guardrail.metrics import MULTIPROC_ENV, exposition
from guardrail.service.access import may_read_metrics
from guardrail.service.readiness import store_problem
from guardrail.state.base import StoreUnavailable

log = logging.getLogger("guardrail")
router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=schemas.Liveness)
async def healthz() -> dict[str, str]:
    """The process is alive (it does not look at dependencies)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=schemas.Readiness,
    responses={503: {"model": schemas.Readiness, "description": "not ready: see error"}},
)
async def readyz(gateway: GatewayDep) -> JSONResponse:
    """Ready when the state store answers and can be trusted with opt-outs (a Redis that
    may evict keys cannot, unless ``redis_allow_eviction``), and what the active policies
    need is loaded: the classifier stack when a rule reads it (unless the gateway runs
    without classifiers), the PII detectors when a policy detects PII. ``missing`` says what
    is not there yet; decisions taken meanwhile defer proactive messages and name the checks
    that did not run, so a load balancer should send traffic elsewhere until this says
    ready."""
    body: dict[str, Any] = {
        "ready": True,
        "store": gateway.store.name,
        "classifiers": gateway.public_classifiers_state,
        "pii": gateway.public_pii_state,
    }
    missing = gateway.readiness()
    try:
        await gateway.store.ping()
        problem = await store_problem(gateway)
    except StoreUnavailable as exc:
        gateway.metrics.store_up.set(0)
        log.warning("not ready: %s", exc)  # hosts and paths stay in the log
        missing.insert(0, "store: unavailable")
    else:
        gateway.metrics.store_up.set(1)
        if problem is not None:
            log.warning("not ready: %s", problem)
            missing.insert(0, "store: may evict keys (opt-outs included): see the log")
    if missing:  # an error body like any 503 (ErrorBody), with what is missing
        detail = "not ready: " + "; ".join(missing)
        body.update(ready=False, missing=missing, error="unavailable", detail=detail)
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "Prometheus text exposition format"},
        401: {"description": "no key, or an unknown one"},
        403: {"description": "a tenant's key: the metrics cover every tenant"},
    },
)
async def metrics(request: Request, gateway: GatewayDep) -> Response:
    """This process's metrics; under ``serve --workers N``, every worker's, added up (the
    workers write them to ``$PROMETHEUS_MULTIPROC_DIR``, whichever worker answers reads
    them all; ``process_*`` only for a single process). They cover every tenant, so they
    need the metrics key or the operator's (``metrics_public`` lifts that where only the
    scraper reaches the port)."""
    allowed = may_read_metrics(gateway, request.headers.get("authorization"))
    if allowed is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "/metrics needs the metrics key (GUARDRAIL_METRICS_KEY) or the operator's key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not allowed:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the metrics cover every tenant: not for a tenant's key"
        )
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        registries = [merged]
    else:
        registries = [gateway.metrics.registry, request.app.state.http_metrics]
    return Response(exposition(*registries), media_type=CONTENT_TYPE_LATEST)
