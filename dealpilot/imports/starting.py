"""After an import's commit: starting the workflows of the deals it enrolled, in batches,
and telling the operator how to start the ones Temporal could not."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from dealpilot.temporal.deals import DealWorkflows
from dealpilot.temporal.starting import start_and_record
from models.uow import Transact

START_BATCH = 500


@dataclass(frozen=True)
class StartReport:
    started: int
    not_started: int
    message: str | None  # how the deals without a workflow will be started


RETRY_HINT = (
    "they are saved without a workflow; start each with POST /api/crm/deals/{id}/start/ "
    "(list them with GET /api/crm/deals/?has_workflow=false)"
)


async def start_enrolled(
    workflows: DealWorkflows | None,
    transact: Transact,
    deal_ids: list[int],
    *,
    batch: int = START_BATCH,
) -> StartReport:
    """Starts the committed deals' workflows in batches (the bulk enrolment's starter), each
    batch's reads and workflow ids through `transact`. A batch in which nothing started means
    Temporal is down: the rest are not attempted."""
    if not deal_ids:
        return StartReport(0, 0, None)
    if workflows is None:
        return StartReport(
            0, len(deal_ids), f"Temporal is not configured: {len(deal_ids)} deals {RETRY_HINT}"
        )
    started = 0
    for offset in range(0, len(deal_ids), batch):
        chunk = deal_ids[offset : offset + batch]
        results = await start_and_record(workflows, transact, chunk)
        ok = sum(1 for wid in results.values() if wid is not None)
        started += ok
        if ok == 0:
            break
        await asyncio.sleep(0)
    missing = len(deal_ids) - started
    if not missing:
        return StartReport(started, 0, None)
    return StartReport(
        started, missing, f"Temporal could not start {missing} workflows: those deals {RETRY_HINT}"
    )
