"""Deal changes that belong to the workflow (stage, won/lost, pause/resume) go to it through
`DealWorkflows` (`dealpilot.temporal.deals`), never to the row directly. The workflow mirrors
every change to the database through its `sync_deal` activity, so the API re-reads the row
afterwards; this module loads and re-reads the row and waits for pause/resume to land.

No transaction may be held open while the workflow is called (its activity writes the same
row): the caller ends its unit of work's read (`commit_now`) after `load_deal`, and the wait
for pause/resume reads through the caller's `Transact`, one unit of work per look."""

from __future__ import annotations

import asyncio
import time

from sqlmodel import Session

from dealpilot.core.errors import Conflict
from dealpilot.deals import service
from dealpilot.deals.lookup import get_or_404
from dealpilot.temporal.deals import DealWorkflows
from models import Deal, DealStatus, PipelineStage
from models.deal import DealPublic
from models.uow import Transact, in_thread

# How long a pause/resume request waits to see the workflow apply its signal.
SIGNAL_APPLY_TIMEOUT = 5.0
_CLOSED = {DealStatus.won, DealStatus.lost}


def _load(session: Session, deal_id: int) -> Deal:
    return get_or_404(session, Deal, deal_id, what="Deal")


async def load_deal(session: Session, deal_id: int) -> Deal:
    """The deal (404 unknown). The caller commits before calling its workflow."""
    return await in_thread(_load, session, deal_id)


def _public(session: Session, deal_id: int) -> DealPublic:
    session.expire_all()  # the workflow's activity changed the row on its own connection
    return service.get_deal_public(session, deal_id)


async def reread(session: Session, deal_id: int) -> DealPublic:
    return await in_thread(_public, session, deal_id)


def _status(session: Session, deal_id: int) -> DealStatus | None:
    deal = session.get(Deal, deal_id)
    return None if deal is None else deal.status


async def _applied(transact: Transact, deal_id: int, want: DealStatus) -> bool:
    deadline = time.monotonic() + SIGNAL_APPLY_TIMEOUT
    delay = 0.02
    while True:
        status = await transact(lambda session: _status(session, deal_id))
        if status == want or status in _CLOSED:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)


async def pause_or_resume(
    workflows: DealWorkflows, transact: Transact, deal: Deal, *, pause: bool, reason: str = ""
) -> bool:
    """Signals the workflow, then waits (briefly) for its mirror of the change to land.
    False: the signal was delivered but the workflow has not applied it yet (it may be busy
    sending); it will."""
    if deal.status in _CLOSED:
        raise Conflict(f"Deal {deal.id} is already {deal.status}", code="deal_closed")
    if pause:
        await workflows.pause(deal, reason)
    else:
        await workflows.resume(deal)
    assert deal.id is not None
    return await _applied(transact, deal.id, DealStatus.paused if pause else DealStatus.active)


def following_stage(session: Session, deal: Deal, current_stage_id: int) -> PipelineStage:
    """The stage after `current_stage_id` by order; 409 `no_next_stage` at the end."""
    stages = service.stages_in_order(session, deal.pipeline_id)
    index = next((i for i, s in enumerate(stages) if s.id == current_stage_id), None)
    if index is None or index + 1 >= len(stages):
        raise Conflict(f"Deal {deal.id} is at the last stage of its pipeline", code="no_next_stage")
    return stages[index + 1]
