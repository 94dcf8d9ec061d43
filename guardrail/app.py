"""The FastAPI application: wiring, lifespan and uniform error bodies.

Every error answers ``{"error": <kind>, "detail": ...}``; validation errors name the
field, so an operator can fix a request from the response alone.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.exceptions import HTTPException as StarletteHTTPException

from guardrail import __version__, console, tracing
from guardrail.api import audit, audit_search, classify, events, ops, outreach, policies, users
from guardrail.api.edge import BodyGuard
from guardrail.api.errors import ERROR_NAMES, error_response
from guardrail.api.openapi import declare_security
from guardrail.api.tenancy import RecordElsewhere
from guardrail.audit.outbox import copying
from guardrail.audit.witness import witnessing
from guardrail.config import Settings
from guardrail.gateway import Gateway, system_clock
from guardrail.metrics import http_registry
from guardrail.models import ErrorBody, Event, OutreachRequest
from guardrail.notify import delivering
from guardrail.platforms.meta import routes as meta_routes
from guardrail.platforms.telegram import routes as telegram_routes
from guardrail.policy.holder import reloading
from guardrail.retention import pruning
from guardrail.service.errors import ServiceError
from guardrail.service.readiness import UnsafeStore, refuse_unsafe_store

log = logging.getLogger("guardrail")


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_PLATFORM_PATHS = ("/v1/proxy/",)
"""Proxy routes answer a refusal in the platform's own error shape, not ErrorBody."""


def _modelled(response: dict[str, Any]) -> bool:
    """A response a route documents with its own model (not FastAPI's validation error)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return bool(ref) and not ref.endswith(("/HTTPValidationError", "/ErrorBody"))


def _document_errors(spec: dict[str, Any]) -> None:
    """Publish the error bodies the handlers below really send: ``ErrorBody`` for every
    4xx and 503 (in place of FastAPI's HTTPValidationError, which nothing sends)."""
    for path, operations in spec.get("paths", {}).items():
        platform = path.startswith(_PLATFORM_PATHS)
        schema: dict[str, Any] = {"type": "object"} if platform else _ERROR_REF
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in [c for c in responses if c.startswith("4")]:
                if _modelled(responses[code]):
                    continue  # a route's own error model (an ErrorBody with more fields)
                described = responses[code].get("description") or "refused"
                responses[code] = {
                    "description": described,
                    "content": {"application/json": {"schema": schema}},
                }
            responses["4XX"] = {
                "description": "refused: see error and detail",
                "content": {"application/json": {"schema": schema}},
            }
            responses.setdefault(
                "503",
                {
                    "description": "a component (state store, audit log) is unavailable; retry",
                    "content": {"application/json": {"schema": _ERROR_REF}},
                },
            )
    spec["components"]["schemas"].pop("HTTPValidationError", None)
    spec["components"]["schemas"].pop("ValidationError", None)


def create_app(
    settings: Settings | None = None,
    *,
    gateway: Gateway | None = None,
    clock: Callable[[], datetime] = system_clock,
    policy_poll_s: float | None = 2.0,
    reload_on_sighup: bool = False,
) -> FastAPI:
    """The app; ``policy_poll_s`` is how long policy file changes must settle (no new
    change for that many seconds) before a reload (None: no file watching);
    ``reload_on_sighup`` is for the ``serve`` command, which owns the process."""
    settings = settings or (gateway.settings if gateway else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = gateway or Gateway.from_settings(settings, clock=clock)
        try:
            await refuse_unsafe_store(running)
        except UnsafeStore:
            await running.aclose()
            raise
        if not len(running.auth):
            log.warning("no API keys configured: every request will get 401; set GUARDRAIL_API_KEY")
        app.state.gateway = running
        try:
            async with (
                reloading(running.policies, poll=policy_poll_s, sighup=reload_on_sighup),
                pruning(running) as prune_stats,
                delivering(running.notifier),
                witnessing(running.witness),  # its last head after the copier's last copy
                copying(running.records),
            ):
                app.state.prune_stats = prune_stats
                yield
        finally:
            await running.aclose()

    app = FastAPIOffline(  # /docs and /redoc from packaged assets: they work offline
        title="guardrail",
        version=__version__,
        description="Safety and wellbeing gateway for proactive AI bot outreach.",
        lifespan=lifespan,
    )
    routers = (
        outreach.router,
        events.router,
        meta_routes.whatsapp_webhook,
        meta_routes.meta_webhook,
        telegram_routes.router,
        meta_routes.proxy_router,
        ops.router,
        policies.router,
        audit.router,
        audit_search.router,
        classify.router,
        users.router,
        console.router,
    )
    for router in routers:
        app.include_router(router)
    app.add_middleware(RecordElsewhere)  # an operator's request in another tenant: recorded
    app.add_middleware(
        BodyGuard,
        limit=settings.max_body_bytes,
        timeout_s=settings.body_read_timeout_s,
        slow_after_s=settings.slow_body_s,
        max_slow=settings.max_slow_bodies,
    )
    # Requests by route template, status and method, and their latency (per-route HTTP
    # metrics beside the decision metrics, in the same registry).
    if tracing.enabled() or tracing.configure():  # OTEL_*: a server span per request
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracing.provider(), excluded_urls="healthz,readyz,metrics"
        )
    app.state.http_metrics = http_registry()
    Instrumentator(registry=app.state.http_metrics, excluded_handlers=["/metrics"]).instrument(
        app, metric_namespace="guardrail"
    )

    def openapi() -> dict[str, Any]:
        """The generated spec, plus the body models the hot routes validate themselves."""
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in (OutreachRequest, Event, ErrorBody):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            _document_errors(spec)
            declare_security(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p != "body") or "body",
                "message": err["msg"],
            }
            for err in exc.errors()
        ]
        return JSONResponse({"error": "invalid_request", "detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = ERROR_NAMES.get(exc.status_code, "error")
        return JSONResponse(
            {"error": name, "detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(ServiceError)
    async def refused(request: Request, exc: ServiceError) -> JSONResponse:
        """A use case refused: its domain error, mapped to HTTP once."""
        return error_response(exc)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        """A JSON body nested thousands deep is the client's error, not a crash."""
        detail = [{"field": "body", "message": "JSON nested too deep"}]
        return JSONResponse({"error": "invalid_request", "detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal", "detail": "internal error, logged"}, 500)

    return app
