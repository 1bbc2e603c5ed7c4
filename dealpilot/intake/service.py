"""Store, commit, then try to deliver: what every inbound endpoint does with its events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog
from sqlalchemy import Engine
from temporalio.client import Client

from dealpilot.core import metrics
from dealpilot.intake.delivery import deliver
from dealpilot.intake.recording import Inbound, RecordResult, record
from models import session_scope

log = structlog.get_logger(__name__)


def store(engine: Engine, inbounds: Sequence[Inbound]) -> list[RecordResult]:
    """All of a request's events in one transaction, committed on return."""
    with session_scope(engine) as session:
        return [record(session, inbound) for inbound in inbounds]


async def store_and_deliver(
    engine: Engine, client: Client | None, inbounds: Sequence[Inbound]
) -> list[RecordResult]:
    """The events are committed before any signal; a delivery failure (Temporal down) never
    fails the caller: the relay delivers what is left pending."""
    results = await asyncio.to_thread(store, engine, inbounds)
    for inbound, result in zip(inbounds, results, strict=True):
        metrics.record_intake(inbound.source, created=result.created, matched=bool(result.deal_ids))
    deal_ids = sorted({d for r in results for d in r.deal_ids})
    if client is not None and deal_ids:
        try:
            await deliver(client, engine, deal_ids=deal_ids)
        except Exception as exc:  # best effort by design; the relay retries
            log.warning("intake.deliver_failed", error_type=type(exc).__name__)
    return results
