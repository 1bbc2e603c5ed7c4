"""`GET /metrics`: the Prometheus text exposition of this API process (dealpilot.core.metrics).

Not behind the CRM API keys: Prometheus scrapes it. When METRICS_TOKEN is set, a scrape must
send `Authorization: Bearer <METRICS_TOKEN>` (Prometheus: `authorization: {credentials: ...}`);
without it the endpoint is open, for a private network. METRICS_ENABLED=false removes it."""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.errors import ErrorEnvelope
from api.ledger_metrics import LedgerCollector
from dealpilot.core import metrics
from dealpilot.core.errors import Unauthorized
from dealpilot.core.settings import Settings


def install_metrics(app: FastAPI, engine: Engine, settings: Settings) -> None:
    prices = metrics.configure_prices(settings.ai_prices)
    ledger = CollectorRegistry(auto_describe=False)
    ledger.register(LedgerCollector(engine, prices))
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
            401: {"model": ErrorEnvelope, "description": "METRICS_TOKEN is set and not given"},
        },
    )
    async def prometheus_metrics(request: Request) -> Response:
        if token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.encode(), token.encode()
            ):
                raise Unauthorized("A valid METRICS_TOKEN bearer token is required")
        # The ledger query blocks: keep it off the event loop.
        body = await run_in_threadpool(metrics.exposition, ledger)
        return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)
