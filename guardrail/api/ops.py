"""Probes and metrics (the active policies are in :mod:`guardrail.api.policies`)."""

from __future__ import annotations

import logging
import os

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
    """Ready only while the state store answers (proactive outreach fails closed otherwise)
    and can be trusted with opt-outs (a Redis that may evict keys cannot, unless
    ``redis_allow_eviction``).

    ``classifiers`` (off, loading, ready, failed: ...) is shown but never makes the gateway
    unready: the lexicon answers while the models load."""
    classifiers = gateway.public_classifiers_state
    try:
        await gateway.store.ping()
        problem = await store_problem(gateway)
    except StoreUnavailable as exc:
        gateway.metrics.store_up.set(0)
        log.warning("not ready: %s", exc)  # hosts and paths stay in the log
        body = {"ready": False, "store": gateway.store.name, "error": "state store unavailable"}
        return JSONResponse({**body, "classifiers": classifiers}, status_code=503)
    gateway.metrics.store_up.set(1)
    if problem is not None:
        log.warning("not ready: %s", problem)
        body = {
            "ready": False,
            "store": gateway.store.name,
            "error": "the state store may evict keys (opt-outs included): see the log",
        }
        return JSONResponse({**body, "classifiers": classifiers}, status_code=503)
    return JSONResponse({"ready": True, "store": gateway.store.name, "classifiers": classifiers})


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
