"""Hook points that run after the request's transaction has committed.

`POST /api/crm/deals/` and `POST /api/crm/deals/bulk/` register these with the request's
`AfterCommit`, so the workflows they start see committed deals and never ones that were rolled
back. Each start is idempotent (`deal-{id}`, USE_EXISTING), and `deal.workflow_id` is stored
once the start succeeded.

If Temporal is not configured or cannot be reached at that moment, the deal is kept with
`workflow_id` null and the failure is logged (`workflow_start_failed`). Nothing is lost: find
such deals with `GET /api/crm/deals/?has_workflow=false` and start them with the idempotent
`POST /api/crm/deals/{id}/start/`.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from fastapi import FastAPI
from sqlalchemy import Engine

from dealpilot.core.settings import Settings
from dealpilot.temporal.deal_client import Temporal, start_and_record

log = structlog.get_logger(__name__)


def _temporal(app: FastAPI) -> Temporal | None:
    client = getattr(app.state, "temporal", None)
    settings: Settings = app.state.settings
    return None if client is None else Temporal(client, settings.temporal_task_queue)


async def on_deals_created(app: FastAPI, deal_ids: Iterable[int]) -> dict[int, str | None]:
    """Starts the deals' workflows; the workflow id per deal, None where it did not start."""
    engine: Engine = app.state.engine
    return await start_and_record(_temporal(app), engine, deal_ids)


async def on_deal_created(app: FastAPI, deal_id: int) -> str | None:
    log.info("deal_created", deal_id=deal_id)
    started = await on_deals_created(app, [deal_id])
    return started.get(deal_id)
