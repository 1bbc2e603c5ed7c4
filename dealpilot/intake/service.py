"""Store, commit, then try to deliver: what every inbound endpoint does with its events."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import structlog
from sqlmodel import Session

from dealpilot.core import metrics
from dealpilot.intake.delivery import deliver
from dealpilot.intake.recording import Inbound, RecordResult, record
from dealpilot.temporal.deals import DealWorkflows
from models.uow import Transact

log = structlog.get_logger(__name__)


def store(session: Session, inbounds: Sequence[Inbound]) -> list[RecordResult]:
    """All of a request's events in the caller's unit of work (flushed, not committed)."""
    return [record(session, inbound) for inbound in inbounds]


async def store_and_deliver(
    transact: Transact, workflows: DealWorkflows | None, inbounds: Sequence[Inbound]
) -> list[RecordResult]:
    """The events are committed (one unit of work of `transact`) before any signal; a delivery
    failure (Temporal down) never fails the caller: the relay delivers what is left pending."""
    results = await transact(partial(store, inbounds=inbounds))
    deal_ids = sorted({d for r in results for d in r.deal_ids})
    if workflows is not None and deal_ids:
        try:
            await deliver(workflows, transact, deal_ids=deal_ids)
        except Exception as exc:  # best effort by design; the relay retries
            log.warning("intake.deliver_failed", error_type=type(exc).__name__)
    for inbound, result in zip(inbounds, results, strict=True):
        metrics.record_intake(inbound.source, created=result.created, matched=bool(result.deal_ids))
    return results
