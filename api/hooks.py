"""Hook points that run after the request's transaction has committed.

`POST /api/crm/deals/` registers `on_deal_created` with the request's `AfterCommit`, so
whatever runs here sees the committed deal and never one that was rolled back. This is
where the deal's Temporal workflow (`deal-{id}`) is started; until a Temporal client is
wired into the app (`app.state`), it only logs.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI

log = structlog.get_logger(__name__)


async def on_deal_created(app: FastAPI, deal_id: int) -> None:
    log.info("deal_created", deal_id=deal_id)
