"""The FastAPI application. Everything it needs is passed in; nothing is module-global."""

from __future__ import annotations

from collections.abc import AsyncIterator
from collections.abc import Set as AbstractSet
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.console import install_console
from api.deps import EngineDep, reject_nul_characters, require_api_key
from api.errors import ErrorEnvelope, install_error_handlers
from api.metrics import install_metrics
from api.middleware import MetricsMiddleware, RequestIdMiddleware
from api.routes import CRM_ROUTERS, PUBLIC_ROUTERS
from api.routes.tracking import TrackingFastPath
from dealpilot.ai import AIEngine
from dealpilot.core.errors import ServiceUnavailable
from dealpilot.core.settings import Settings
from dealpilot.intake import Receiver, Relay
from dealpilot.intake.relay import RELAY_EVERY
from dealpilot.temporal.deals import DealWorkflows
from models.uow import UnitsOfWork

log = structlog.get_logger(__name__)

CRM_PREFIX = "/api/crm"

_ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in [
        (401, "Missing or invalid API key"),
        (404, "Not found"),
        (409, "Conflict"),
        (422, "Invalid request"),
        (503, "Database or Temporal unavailable"),
    ]
}


class Health(BaseModel):
    status: str
    database: str


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def create_app(
    *,
    engine: Engine,
    api_keys: AbstractSet[str],
    settings: Settings | None = None,
    temporal: Client | None = None,
    ai: AIEngine | None = None,
    relay_every: timedelta | None = RELAY_EVERY,
) -> FastAPI:
    """`temporal` is optional: without it the CRUD API works, deals are created without a
    workflow (start them later with `POST /api/crm/deals/{id}/start/`), and endpoints that
    must reach a workflow answer 503 `temporal_unavailable`. `ai` renders previews of
    AI-written emails (default: the engine the settings choose, built on first use).

    The app's lifespan runs the intake relay: the tracking, unsubscribe and webhook endpoints
    store their events, wake it and answer without waiting on Temporal; it matches the events
    the hot endpoints only inserted (pixel, click, replies) and, with a Temporal client,
    delivers their deals' events, and sweeps everything pending every `relay_every` (None:
    never), so events stored while Temporal was unreachable reach their deals once it is
    back."""
    settings = settings or Settings()
    # Without Temporal the relay only settles received events (matches them to their deals);
    # they wait for a relay with Temporal to be delivered.
    workflows = None if temporal is None else DealWorkflows(temporal, settings.temporal_task_queue)
    relay = Relay(workflows, UnitsOfWork(engine), every=relay_every)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = relay.start()
        try:
            yield
        finally:
            if started:
                await relay.stop()
            app.state.receiver.close()  # its kept database connections

    app = FastAPI(
        lifespan=lifespan,
        title="dealpilot",
        summary="AI outreach autopilot CRM: every deal a Temporal workflow",
        version="0.1.0",
        docs_url="/docs",
        # Routes answer with and without the trailing slash themselves (api.routing);
        # a redirect would drop the Authorization header in many clients.
        redirect_slashes=False,
    )
    app.state.engine = engine
    app.state.api_keys = frozenset(k for k in api_keys if k)
    app.state.settings = settings
    # Deal workflows run on settings.temporal_task_queue (see api.deps.get_optional_temporal).
    app.state.temporal = temporal
    app.state.ai = ai
    app.state.relay = relay  # the intake endpoints wake it (dealpilot.intake.store_and_relay)
    app.state.receiver = Receiver(engine)  # the hot intake endpoints' group commit

    install_error_handlers(app)
    app.add_middleware(TrackingFastPath, prefix=CRM_PREFIX)  # innermost: see its docstring
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    if settings.metrics_enabled:
        install_metrics(app, engine, settings)

    @app.get(
        "/healthz",
        response_model=Health,
        tags=["health"],
        responses={503: {"model": ErrorEnvelope, "description": "Database unreachable"}},
    )
    async def healthz(engine: EngineDep) -> Health:
        try:
            await run_in_threadpool(_ping, engine)
        except SQLAlchemyError as exc:
            log.warning("healthz_database_down", error_type=type(exc).__name__)
            raise ServiceUnavailable(
                "The database is unreachable", code="database_unavailable"
            ) from exc
        return Health(status="ok", database="ok")

    # The public routes first: their paths (/track, /unsubscribe, /webhooks) overlap none of
    # the CRM's, and the pixel and the click are the busiest requests the API serves, so they
    # should not be tried against every CRM route before they match.
    for router in PUBLIC_ROUTERS:
        app.include_router(router, prefix=CRM_PREFIX)
    for router in CRM_ROUTERS:
        app.include_router(
            router,
            prefix=CRM_PREFIX,
            dependencies=[Depends(require_api_key), Depends(reject_nul_characters)],
            responses=_ERROR_RESPONSES,
        )
    install_console(app, settings)
    return app


__all__ = ["create_app"]
