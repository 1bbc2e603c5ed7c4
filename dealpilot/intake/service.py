"""Store, commit, then try to deliver: what every inbound endpoint does with its events."""

from __future__ import annotations

from collections.abc import Sequence

import anyio.to_thread
import structlog
from sqlalchemy import Engine

from dealpilot.core import metrics
from dealpilot.intake.delivery import deliver
from dealpilot.intake.recording import Inbound, RecordResult, record
from dealpilot.temporal.deals import DealWorkflows
from models import session_scope
from models.uow import unit_of_work

log = structlog.get_logger(__name__)


def store(engine: Engine, inbounds: Sequence[Inbound]) -> list[RecordResult]:
    """All of a request's events in one transaction, committed on return."""
    with session_scope(engine) as session:
        return [record(session, inbound) for inbound in inbounds]


async def store_and_deliver(
    engine: Engine, workflows: DealWorkflows | None, inbounds: Sequence[Inbound]
) -> list[RecordResult]:
    """The events are committed before any signal (the unit of work's after-commit work); a
    delivery failure (Temporal down) never fails the caller: the relay delivers what is left
    pending."""
    async with unit_of_work(engine) as uow:
        results = await anyio.to_thread.run_sync(
            lambda: [record(uow.session, inbound) for inbound in inbounds]
        )
        deal_ids = sorted({d for r in results for d in r.deal_ids})
        if workflows is not None and deal_ids:

            async def deliver_now() -> None:
                try:
                    await deliver(workflows, engine, deal_ids=deal_ids)
                except Exception as exc:  # best effort by design; the relay retries
                    log.warning("intake.deliver_failed", error_type=type(exc).__name__)

            uow.after_commit.add(deliver_now)
    for inbound, result in zip(inbounds, results, strict=True):
        metrics.record_intake(inbound.source, created=result.created, matched=bool(result.deal_ids))
    return results
