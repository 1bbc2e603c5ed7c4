"""Settling received events: what `record` does in the request for the events that suppress, done
for the hot endpoints' events after the answer, by the relay, from their committed rows.

Each unsettled event (`EmailEvent.settled` false, see `receiving`) is matched to our sent mail
exactly as `record` matches (`match_log`: the email log its token or reference named, else a
Message-ID of ours, else the latest mail to the address in the brand its recipients name), takes
that email's brand and deal, sets the email's opened / clicked / machine-opened flags (human
opens and clicks only; a click within seconds of the send is a link scanner's), and becomes
pending for delivery to the deal's workflow. Unmatched, it stays with `deal_id` NULL, listed at
`GET /api/crm/events/?unmatched=true`.

Replicas settle side by side: each takes its share with `FOR UPDATE SKIP LOCKED` on
PostgreSQL. A batch is one unit of work: a crash before its commit leaves the events unsettled,
to be settled again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, not_, text
from sqlmodel import Session, col, select

from dealpilot.core import metrics
from dealpilot.intake.providers import brand_for_addresses
from dealpilot.intake.recording import (
    Inbound,
    flag_log,
    is_scanner_click,
    logs_by_message_id,
    match_log,
)
from models import EmailEvent, EmailEventType, EmailLog

BATCH = 500

# PostgreSQL: a batch written with two statements (rows as arrays), not one UPDATE per event
# and per email: the batch's transaction stays short, and a duplicate of an event it holds
# (a pixel fetched again, whose insert-if-new waits on that transaction) waits milliseconds.
_EVENTS = text(
    "UPDATE emailevent AS e SET brand_id = v.brand_id, email_log_id = v.email_log_id, "
    "deal_id = v.deal_id, email = v.email, is_bot = v.is_bot, settled = true "
    "FROM unnest(CAST(:id AS INTEGER[]), CAST(:brand_id AS INTEGER[]), "
    "CAST(:email_log_id AS INTEGER[]), CAST(:deal_id AS INTEGER[]), CAST(:email AS TEXT[]), "
    "CAST(:is_bot AS BOOLEAN[])) AS v(id, brand_id, email_log_id, deal_id, email, is_bot) "
    "WHERE e.id = v.id"
)
# The flags only ever go from false to true, keeping the first time: a concurrent writer's
# flag is never undone.
_FLAGS = text(
    "UPDATE emaillog AS l SET opened = l.opened OR v.opened, "
    "opened_at = COALESCE(l.opened_at, v.opened_at), clicked = l.clicked OR v.clicked, "
    "clicked_at = COALESCE(l.clicked_at, v.clicked_at), "
    "machine_opened = l.machine_opened OR v.machine_opened, "
    "machine_opened_at = COALESCE(l.machine_opened_at, v.machine_opened_at) "
    "FROM unnest(CAST(:id AS INTEGER[]), CAST(:opened AS BOOLEAN[]), "
    "CAST(:opened_at AS TIMESTAMP[]), CAST(:clicked AS BOOLEAN[]), "
    "CAST(:clicked_at AS TIMESTAMP[]), CAST(:machine_opened AS BOOLEAN[]), "
    "CAST(:machine_opened_at AS TIMESTAMP[])) "
    "AS v(id, opened, opened_at, clicked, clicked_at, machine_opened, machine_opened_at) "
    "WHERE l.id = v.id"
)


def _naive(value: datetime | None) -> datetime | None:
    """As `models.types.UTCDateTime` stores times: naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value and value.tzinfo else value


def write_settled(session: Session, events: list[EmailEvent], logs: list[EmailLog]) -> None:
    """The settled events and the emails they flagged, written in one statement each
    (PostgreSQL), instead of the session's flush; they leave the session (nothing else of
    theirs changed)."""
    for obj in (*events, *logs):
        session.expunge(obj)  # before the statements: their autoflush must not write them
    if events:
        session.execute(
            _EVENTS,
            {
                "id": [e.id for e in events],
                "brand_id": [e.brand_id for e in events],
                "email_log_id": [e.email_log_id for e in events],
                "deal_id": [e.deal_id for e in events],
                "email": [e.email for e in events],
                "is_bot": [e.is_bot for e in events],
            },
        )
    if logs:
        session.execute(
            _FLAGS,
            {
                "id": [x.id for x in logs],
                "opened": [x.opened for x in logs],
                "opened_at": [_naive(x.opened_at) for x in logs],
                "clicked": [x.clicked for x in logs],
                "clicked_at": [_naive(x.clicked_at) for x in logs],
                "machine_opened": [x.machine_opened for x in logs],
                "machine_opened_at": [_naive(x.machine_opened_at) for x in logs],
            },
        )


@dataclass
class Settled:
    events: int = 0
    deal_ids: set[int] = field(default_factory=set)


def inbound_of(event: EmailEvent) -> Inbound:
    """The inbound a received event was stored from (see `receiving.received_row`)."""
    payload: dict[str, Any] = event.payload or {}
    received = payload.get("received")
    received = received if isinstance(received, dict) else {}
    log_id, brand_id = received.get("email_log_id"), received.get("brand_id")
    return Inbound(
        event_type=EmailEventType(event.event_type),
        source=event.source,
        dedupe_key=event.dedupe_key,
        occurred_at=event.occurred_at,
        brand_id=brand_id if isinstance(brand_id, int) else None,
        email_log_id=log_id if isinstance(log_id, int) else None,
        message_ids=tuple(str(m) for m in payload.get("message_ids") or []),
        recipients=tuple(str(r) for r in received.get("recipients") or []),
        email=event.email,
        url=event.url,
        is_bot=event.is_bot,
        machine_open=bool(payload.get("machine_open")),
        text=str(payload.get("text", "")),
        subject=str(payload.get("subject", "")),
    )


def _settle_one(
    session: Session,
    event: EmailEvent,
    inbound: Inbound,
    brand_for: Callable[[tuple[str, ...]], int | None],
    known: dict[str, EmailLog],
    flagged: dict[int, EmailLog],
) -> None:
    if inbound.brand_id is None and inbound.recipients:
        inbound = replace(inbound, brand_id=brand_for(inbound.recipients))
    log = match_log(session, inbound, known=known)
    machine = inbound.machine_open and inbound.event_type == EmailEventType.open
    is_bot = inbound.is_bot or machine or is_scanner_click(inbound, log)
    event.brand_id = log.brand_id if log is not None else inbound.brand_id
    event.email_log_id = log.id if log is not None else None
    event.deal_id = log.deal_id if log is not None else None
    if event.email is None and log is not None:
        event.email = log.to_email
    event.is_bot = is_bot
    event.settled = True
    if log is not None:
        before = (log.opened, log.clicked, log.machine_opened)
        flag_log(log, inbound, is_bot, machine)
        if (log.opened, log.clicked, log.machine_opened) != before and log.id is not None:
            flagged[log.id] = log
    metrics.record_intake(event.source, created=True, matched=event.deal_id is not None)


def settle(session: Session, limit: int = BATCH) -> Settled:
    """Settles up to `limit` received events, oldest first (see the module docstring); flushes,
    never commits."""
    events = session.exec(
        select(EmailEvent)
        .where(not_(col(EmailEvent.settled)))
        .order_by(col(EmailEvent.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    brands: dict[tuple[str, ...], int | None] = {}

    def brand_for(recipients: tuple[str, ...]) -> int | None:
        if recipients not in brands:
            brands[recipients] = brand_for_addresses(session, recipients)
        return brands[recipients]

    done = Settled()
    flagged: dict[int, EmailLog] = {}
    # Every email the batch names, loaded at once (by id, by Message-ID); nothing is written
    # until all are matched, then the whole batch is flushed together.
    with session.no_autoflush:
        inbounds = [inbound_of(event) for event in events]
        log_ids = sorted({i.email_log_id for i in inbounds if i.email_log_id is not None})
        # Held here: the session's identity map (which `match_log`'s lookups by id hit) keeps
        # only weak references.
        logs = session.exec(select(EmailLog).where(col(EmailLog.id).in_(log_ids))).all()
        known = logs_by_message_id(session, [m for i in inbounds for m in i.message_ids])
        for event, inbound in zip(events, inbounds, strict=True):
            _settle_one(session, event, inbound, brand_for, known, flagged)
            done.events += 1
            if event.deal_id is not None:
                done.deal_ids.add(event.deal_id)
        del logs
        if session.get_bind().dialect.name == "postgresql":
            write_settled(session, list(events), list(flagged.values()))
    session.flush()
    return done


def count_unsettled(session: Session) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(EmailEvent).where(not_(col(EmailEvent.settled)))
        ).one()
    )
