"""Store, commit, answer: what every inbound endpoint does with its events. The delivery to the
deals happens afterwards, in the relay, so no caller ever waits on Temporal."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlmodel import Session

from dealpilot.core import metrics
from dealpilot.intake.recording import Inbound, RecordResult, record
from dealpilot.intake.relay import Relay
from models.uow import Transact


def store(session: Session, inbounds: Sequence[Inbound]) -> list[RecordResult]:
    """All of a request's events in the caller's unit of work (flushed, not committed)."""
    return [record(session, inbound) for inbound in inbounds]


async def store_and_relay(
    transact: Transact, relay: Relay | None, inbounds: Sequence[Inbound]
) -> list[RecordResult]:
    """The events (and what they imply: an unsubscribe's suppression) are committed in one unit
    of work of `transact`; then their deals are handed to the `relay`, which delivers them
    after the caller has answered. Without a relay (Temporal not configured) they stay pending
    for the relay of another process, or of this one once it runs."""
    results = await transact(partial(store, inbounds=inbounds))
    deal_ids = sorted({d for r in results for d in r.deal_ids})
    if relay is not None and deal_ids:
        relay.wake(deal_ids)
    for inbound, result in zip(inbounds, results, strict=True):
        metrics.record_intake(inbound.source, created=result.created, matched=bool(result.deal_ids))
    return results
