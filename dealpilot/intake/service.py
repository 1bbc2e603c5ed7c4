"""Store, commit, answer: what every inbound endpoint does with its events. The delivery to the
deals happens afterwards, in the relay, so no caller ever waits on Temporal.

Two ways to store: `store_and_relay` records events in full before the answer (matched, with
their suppression: unsubscribes, complaints, hard bounces), `receive_and_relay` only inserts
them (opens, clicks, replies, soft bounces: `receiving`) and the relay matches them after the
answer (`settling`). `accept` picks the way for each event of a request."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlmodel import Session

from dealpilot.core import metrics
from dealpilot.intake.receiving import SUPPRESSING, Receiver
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


async def receive_and_relay(
    receiver: Receiver, relay: Relay | None, inbounds: Sequence[Inbound]
) -> list[bool]:
    """The events inserted (one statement, shared with concurrent requests) and committed; the
    relay settles and delivers them after the answer. For each event, whether it was new."""
    created = await receiver.receive(inbounds)
    if relay is not None and any(created):
        relay.wake_settle()
    return created


async def accept(
    transact: Transact, receiver: Receiver, relay: Relay | None, inbounds: Sequence[Inbound]
) -> int:
    """Each event stored the way its kind needs (see the module docstring), all committed
    before this returns; how many were new (not a redelivery of one already stored)."""
    full = [i for i in inbounds if i.event_type in SUPPRESSING]
    quick = [i for i in inbounds if i.event_type not in SUPPRESSING]
    new = 0
    if full:
        new += sum(1 for r in await store_and_relay(transact, relay, full) if r.created)
    if quick:
        new += sum(await receive_and_relay(receiver, relay, quick))
    return new
