"""Delivering stored events to their deals' workflows: a transactional outbox relay.

Events are stored first (`record`), then signalled here, oldest first per deal, and marked
`delivered_at` only once the signal was accepted. A crash between the signal and the mark
sends the signal again later; the workflow acts on each `event_id` once, so that is harmless.

- Temporal unreachable: stop, leave everything pending; the next run picks up where this one
  stopped, in order.
- The deal's workflow is gone (completed, terminated, never existed): nothing can act on the
  event any more; it is marked delivered with a note in its payload.
- No workflow found for an open deal that never recorded one (`Deal.workflow_id` NULL: created
  while Temporal was down): left pending until the deal's workflow is started.
- Any other refusal: that deal stops at the failing event (later ones wait behind it, so the
  order is kept); the other deals go on.

Deals are signalled side by side (`SIGNALS_AT_ONCE`), each deal's events one after another.

Concurrent relays (API replicas) share the work with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
and a relay only delivers a deal whose oldest pending event it holds, so a deal's events never
overtake each other: there the claimed rows stay locked in one unit of work while their deals
are signalled. SQLite has no row locks (one process, one relay), and its first write takes the
whole database's write lock: holding that across Temporal round trips made every other writer
(an unsubscribe, a send) wait past its busy timeout. There the claim is a read of its own and
each event is marked delivered in a short unit of work right after its signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.service import RPCError, RPCStatusCode

from dealpilot.intake.settling import count_unsettled
from dealpilot.temporal.deals import DealSignal, DealWorkflows
from models import Deal, DealStatus, EmailEvent, EmailEventType, utcnow
from models.uow import Transact, in_thread
from workflows.contracts import BounceEvent, EngagementEvent, EventRef, ReplyEvent
from workflows.deal import DealWorkflow

log = structlog.get_logger(__name__)

# The whole signal, the SDK's own retries included (they go on for up to 10 s against a server
# that is down): a healthy signal takes milliseconds, and an unanswered one stays pending.
SIGNAL_TIMEOUT = timedelta(seconds=3)
# Deals signalled side by side: one round trip each is milliseconds, so a relay that waited
# for each in turn fell behind a steady stream of pixels and replies.
SIGNALS_AT_ONCE = 16
OPEN_DEALS = (DealStatus.active, DealStatus.paused)
_UNREACHABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)


@dataclass
class DeliveryReport:
    delivered: int = 0
    pending: int = 0
    failed_deals: list[int] = field(default_factory=list)
    unreachable: bool = False  # Temporal did not answer; the relay backs off


class TemporalUnreachable(Exception):
    pass


def _classification_headers(payload: dict[str, Any]) -> dict[str, str]:
    """The headers the inbox poller kept (Auto-Submitted, Precedence, Content-Type...)."""
    raw = payload.get("raw")
    headers = raw.get("headers") if isinstance(raw, dict) else None
    if not isinstance(headers, dict):
        return {}
    return {str(k): str(v) for k, v in headers.items()}


def _signal_for(event: EmailEvent) -> tuple[DealSignal, object] | None:
    """The deal workflow's signal for this kind of event and its argument (None: no signal)."""
    payload: dict[str, Any] = event.payload or {}
    kind = event.event_type
    if kind == EmailEventType.reply:
        reply = ReplyEvent(
            text=str(payload.get("text", "")),
            subject=str(payload.get("subject", "")),
            from_email=event.email or "",
            received_at=event.occurred_at,
            email_log_id=event.email_log_id,
            event_id=event.id,
            headers=_classification_headers(payload),
        )
        return DealWorkflow.reply_received, reply
    if kind in (EmailEventType.bounce, EmailEventType.soft_bounce):
        bounce = BounceEvent(
            hard=kind == EmailEventType.bounce,
            reason=str(payload.get("text", ""))[:500],
            email_log_id=event.email_log_id,
            event_id=event.id,
        )
        return DealWorkflow.bounced, bounce
    if kind == EmailEventType.unsubscribe:
        return DealWorkflow.unsubscribed, EventRef(event.id)
    if kind == EmailEventType.complaint:
        return DealWorkflow.complained, EventRef(event.id)
    if kind in (EmailEventType.open, EmailEventType.click):
        engagement = EngagementEvent(
            email_log_id=event.email_log_id,
            url=event.url,
            is_bot=event.is_bot,
            event_id=event.id,
            machine=bool((event.payload or {}).get("machine_open")),
        )
        if kind == EmailEventType.open:
            return DealWorkflow.email_opened, engagement
        return DealWorkflow.email_clicked, engagement
    return None


async def _signal(workflows: DealWorkflows, event: EmailEvent) -> bool:
    """Signals the event's deal. False when there is no signal for this kind of event."""
    signal = _signal_for(event)
    if signal is None:
        return False
    assert event.deal_id is not None
    sending = workflows.signal(event.deal_id, signal[0], signal[1], timeout=SIGNAL_TIMEOUT)
    await asyncio.wait_for(sending, SIGNAL_TIMEOUT.total_seconds())
    return True


def _pending_stmt(deal_ids: list[int] | None) -> Any:
    stmt = select(EmailEvent).where(
        col(EmailEvent.delivered_at).is_(None), col(EmailEvent.deal_id).is_not(None)
    )
    if deal_ids is not None:
        stmt = stmt.where(col(EmailEvent.deal_id).in_(deal_ids))
    return stmt


def count_pending(session: Session, deal_ids: list[int] | None = None) -> int:
    """Events still owed to a deal: matched and not delivered, and (all deals) received events
    not matched yet (`settling`), which may be some deal's."""
    sub = _pending_stmt(deal_ids).subquery()
    pending = int(session.exec(select(func.count()).select_from(sub)).one())
    if deal_ids is None:
        pending += count_unsettled(session)
    return pending


def _claim(
    session: Session, deal_ids: list[int] | None, limit: int
) -> tuple[dict[int, list[EmailEvent]], set[int]]:
    """This relay's share of the pending events, by deal, oldest first; only deals whose
    oldest pending event it holds (another relay holding an older one owns that deal now)."""
    rows = session.exec(
        _pending_stmt(deal_ids)
        .order_by(col(EmailEvent.deal_id), col(EmailEvent.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    by_deal: dict[int, list[EmailEvent]] = {}
    for row in rows:
        assert row.deal_id is not None
        by_deal.setdefault(row.deal_id, []).append(row)
    if not by_deal:
        return by_deal, set()
    oldest = dict(
        session.exec(
            select(EmailEvent.deal_id, func.min(EmailEvent.id))
            .where(
                col(EmailEvent.delivered_at).is_(None),
                col(EmailEvent.deal_id).in_(list(by_deal)),
            )
            .group_by(col(EmailEvent.deal_id))
        ).all()
    )
    unstarted = {
        d
        for d in session.exec(
            select(Deal.id).where(
                col(Deal.id).in_(list(by_deal)),
                col(Deal.workflow_id).is_(None),
                col(Deal.status).in_(OPEN_DEALS),
            )
        ).all()
        if d is not None
    }
    mine = {
        deal_id: events
        for deal_id, events in by_deal.items()
        if oldest.get(deal_id) == events[0].id
    }
    return mine, unstarted


def _mark(session: Session, event: EmailEvent, note: str | None = None) -> None:
    event.delivered_at = utcnow()
    if note:
        event.payload = {**(event.payload or {}), "delivery": note}
    session.add(event)
    session.flush()


def _mark_by_id(session: Session, event_id: int, note: str | None) -> None:
    event = session.get(EmailEvent, event_id)
    if event is not None:
        _mark(session, event, note)


def _locks_rows(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# Marks one event delivered (with an optional note) once its signal was accepted.
Mark = Callable[[EmailEvent, str | None], Awaitable[None]]


async def _deliver_deal(
    workflows: DealWorkflows,
    mark: Mark,
    deal_id: int,
    events: list[EmailEvent],
    report: DeliveryReport,
    *,
    unstarted: bool,
) -> None:
    """One deal's events, in order, stopping at the first failure."""
    for event in events:
        note: str | None = None
        try:
            if not await _signal(workflows, event):
                note = f"no signal for {event.event_type} events"
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND and unstarted:
                return  # its workflow may still be started: keep the events for it
            if exc.status == RPCStatusCode.NOT_FOUND:
                note = "the deal's workflow is not running; nothing left to act on it"
            elif exc.status in _UNREACHABLE:
                raise TemporalUnreachable(str(exc)) from exc
            else:
                log.warning(
                    "intake.signal_refused",
                    deal_id=deal_id,
                    event_id=event.id,
                    status=exc.status.name,
                )
                report.failed_deals.append(deal_id)
                return
        except Exception as exc:  # a lazy client that cannot connect, a timeout...
            # Unknown trouble reaching Temporal: keep the event pending rather than guess.
            raise TemporalUnreachable(f"{type(exc).__name__}: {exc}") from exc
        await mark(event, note)
        report.delivered += 1


async def _deliver_claimed(
    workflows: DealWorkflows,
    session: Session,
    wanted: list[int] | None,
    limit: int,
    report: DeliveryReport,
) -> None:
    """PostgreSQL: one unit of work; the claimed events stay locked while their deals are
    signalled, and each is marked delivered (flushed) once its signal was accepted."""
    claimed, unstarted = await in_thread(_claim, session, wanted, limit)
    marking = asyncio.Lock()  # deals are signalled side by side; their one session is not

    async def mark(event: EmailEvent, note: str | None) -> None:
        async with marking:
            await in_thread(_mark, session, event, note)

    await _deliver_all(workflows, mark, claimed, unstarted, report)


async def _deliver_unlocked(
    workflows: DealWorkflows,
    transact: Transact,
    wanted: list[int] | None,
    limit: int,
    report: DeliveryReport,
) -> None:
    """SQLite: the claim is a read of its own; each mark is a short unit of work of its own,
    so no write lock is held while Temporal answers."""
    claimed, unstarted = await transact(partial(_claim, deal_ids=wanted, limit=limit))

    async def mark(event: EmailEvent, note: str | None) -> None:
        assert event.id is not None
        await transact(partial(_mark_by_id, event_id=event.id, note=note))

    await _deliver_all(workflows, mark, claimed, unstarted, report)


async def _deliver_all(
    workflows: DealWorkflows,
    mark: Mark,
    claimed: dict[int, list[EmailEvent]],
    unstarted: set[int],
    report: DeliveryReport,
) -> None:
    """Up to `SIGNALS_AT_ONCE` deals side by side, each deal's events in order; the first sign
    that Temporal is unreachable stops the deals not yet begun (those in flight end within
    their signal's timeout)."""
    gate = asyncio.Semaphore(SIGNALS_AT_ONCE)

    async def one(deal_id: int, events: list[EmailEvent]) -> None:
        async with gate:
            if report.unreachable:
                return
            try:
                await _deliver_deal(
                    workflows, mark, deal_id, events, report, unstarted=deal_id in unstarted
                )
            except TemporalUnreachable as exc:
                if not report.unreachable:
                    log.warning("intake.temporal_unreachable", error=str(exc)[:200])
                report.unreachable = True

    await asyncio.gather(*(one(deal_id, events) for deal_id, events in claimed.items()))


async def deliver(
    workflows: DealWorkflows | None,
    transact: Transact,
    *,
    deal_ids: Iterable[int] | None = None,
    limit: int = 500,
) -> DeliveryReport:
    """Signals stored, undelivered events to `deal-{deal_id}` (see the module docstring).
    The claim, the signals and the marks are one unit of work of the caller's `transact`,
    committed when they are done; what is left pending is counted after that commit."""
    wanted = None if deal_ids is None else sorted(set(deal_ids))
    if wanted is not None and not wanted:
        return DeliveryReport()
    count = partial(count_pending, deal_ids=wanted)
    if workflows is None:
        return DeliveryReport(pending=await transact(count))
    report = DeliveryReport()
    if await transact(_locks_rows):
        await transact.run_async(
            partial(_deliver_claimed, workflows, wanted=wanted, limit=limit, report=report)
        )
    else:
        await _deliver_unlocked(workflows, transact, wanted, limit, report)
    report.pending = await transact(count)
    if report.delivered or report.failed_deals:
        log.info(
            "intake.delivered",
            delivered=report.delivered,
            pending=report.pending,
            failed_deals=report.failed_deals,
        )
    return report
