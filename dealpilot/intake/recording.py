"""Storing an inbound event: matched to our sent mail, deduplicated, with its side effects.

`record` never commits (the caller owns the transaction) and never talks to Temporal: what it
stores is delivered to the deal's workflow afterwards by `deliver`, from the same rows, so an
event that arrives while Temporal is down is kept and reaches the deal later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import (
    Contact,
    Deal,
    DealStatus,
    EmailEvent,
    EmailEventType,
    EmailLog,
    EmailStatus,
    Suppression,
    SuppressionReason,
)

# A click this soon after the send is a link scanner at the recipient's gateway, not a person.
SCANNER_CLICK_WINDOW = timedelta(seconds=10)
MAX_KEY = 200

_SUPPRESSES: dict[EmailEventType, SuppressionReason] = {
    EmailEventType.bounce: SuppressionReason.hard_bounce,
    EmailEventType.complaint: SuppressionReason.complaint,
    EmailEventType.unsubscribe: SuppressionReason.unsubscribed,
}
OPEN_DEALS = (DealStatus.active, DealStatus.paused)


@dataclass(frozen=True)
class Inbound:
    """One event as a provider, the tracking endpoints or an inbox poller saw it."""

    event_type: EmailEventType
    source: str  # pixel, click, unsubscribe, zeptomail, mailgun, postmark, sendgrid, webhook, imap
    dedupe_key: str  # the provider's event id, else a content hash
    occurred_at: datetime
    brand_id: int | None = None
    email_log_id: int | None = None
    message_ids: tuple[str, ...] = ()  # In-Reply-To / References / Message-ID values
    # The addresses a reply was sent to: its brand, when `brand_id` is not known yet.
    recipients: tuple[str, ...] = ()
    email: str | None = None  # the contact's address (a reply's sender, a bounced recipient)
    url: str | None = None
    is_bot: bool = False
    # An Apple Mail Privacy Protection prefetch (intake.bots): kept per email, not engagement.
    machine_open: bool = False
    text: str = ""  # reply text (quoted history already stripped) or bounce reason
    subject: str = ""
    payload: dict[str, Any] = field(default_factory=dict)  # the raw event, minus secrets


@dataclass
class RecordResult:
    events: list[EmailEvent]
    created: bool

    @property
    def deal_ids(self) -> list[int]:
        return sorted({e.deal_id for e in self.events if e.deal_id is not None})


def content_key(*parts: object) -> str:
    """A dedupe key for events that carry no id of their own."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"h:{digest[:40]}"


def normalise_message_id(value: str) -> str:
    return value.strip().strip("<>").strip().lower()


def clean_text(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL: drop it everywhere, keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {str(clean_text(k)): clean_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_text(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean_text(str(value))


def event_key(dedupe_key: str) -> str:
    key = clean_text(dedupe_key)
    assert isinstance(key, str)
    if len(key) > MAX_KEY - 20:  # room for the fan-out suffix
        return content_key(key)
    return key


def _bare_ids(message_ids: Sequence[str]) -> list[str]:
    return [m.strip().strip("<>").strip() for m in message_ids if m and m.strip("<> \t")]


def logs_by_message_id(session: Session, message_ids: Sequence[str]) -> dict[str, EmailLog]:
    """Our emails carrying any of `message_ids` (in any case, with or without angle brackets),
    by normalised Message-ID: one query for all of them."""
    bare = _bare_ids(message_ids)
    if not bare:
        return {}
    forms = {f for b in bare for f in (b, f"<{b}>", b.lower(), f"<{b.lower()}>")}
    rows = session.exec(select(EmailLog).where(col(EmailLog.message_id).in_(sorted(forms)))).all()
    return {normalise_message_id(r.message_id or ""): r for r in rows}


def _find_by_message_ids(
    session: Session,
    message_ids: Sequence[str],
    brand_id: int | None,
    known: dict[str, EmailLog] | None = None,
) -> EmailLog | None:
    wanted = [b.lower() for b in _bare_ids(message_ids)]
    if not wanted:
        return None
    by_id = known if known is not None else logs_by_message_id(session, message_ids)
    # Message-ids may differ in case only; `wanted` is in the caller's order of preference.
    for w in wanted:
        row = by_id.get(w)
        if row is not None and (brand_id is None or row.brand_id == brand_id):
            return row
    return None


def _find_by_address(session: Session, email: str, brand_id: int | None) -> EmailLog | None:
    stmt = (
        select(EmailLog)
        .where(
            col(EmailLog.to_email) == email,
            col(EmailLog.status).in_([EmailStatus.sent, EmailStatus.unknown]),
        )
        .order_by(col(EmailLog.sent_at).desc(), col(EmailLog.id).desc())
    )
    if brand_id is not None:
        return session.exec(stmt.where(EmailLog.brand_id == brand_id)).first()
    # No brand known: only an address exactly one brand has written to can be matched.
    rows = session.exec(stmt).all()
    brands = {r.brand_id for r in rows}
    return rows[0] if len(brands) == 1 else None


def match_log(
    session: Session, inbound: Inbound, *, known: dict[str, EmailLog] | None = None
) -> EmailLog | None:
    """email_log_id, else a message id of ours, else the latest mail to (brand, address).
    `known`: the emails of the Message-IDs, already looked up (`logs_by_message_id`)."""
    if inbound.email_log_id is not None:
        row = session.get(EmailLog, inbound.email_log_id)
        if row is not None:
            return row
    row = _find_by_message_ids(session, inbound.message_ids, inbound.brand_id, known)
    if row is not None:
        return row
    if inbound.email:
        return _find_by_address(session, inbound.email.strip().lower(), inbound.brand_id)
    return None


def _open_deals(session: Session, brand_id: int, email: str) -> list[int]:
    rows = session.exec(
        select(Deal.id)
        .join(Contact, col(Contact.id) == col(Deal.contact_id))
        .where(
            Contact.brand_id == brand_id,
            Contact.email == email,
            col(Deal.status).in_(OPEN_DEALS),
        )
        .order_by(col(Deal.id))
    ).all()
    return [r for r in rows if r is not None]


def is_scanner_click(inbound: Inbound, log: EmailLog | None) -> bool:
    if inbound.event_type != EmailEventType.click or log is None or log.sent_at is None:
        return False
    age = inbound.occurred_at - log.sent_at
    return timedelta(0) <= age < SCANNER_CLICK_WINDOW


def _suppress(
    session: Session, brand_id: int, email: str, reason: SuppressionReason, why: str
) -> None:
    exists = session.exec(
        select(Suppression.id).where(Suppression.brand_id == brand_id, Suppression.email == email)
    ).first()
    if exists is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                Suppression(brand_id=brand_id, email=email, reason=reason, detail=why[:500])
            )
    except IntegrityError:
        pass  # a concurrent request suppressed the same address first: same outcome


def flag_log(log: EmailLog, inbound: Inbound, is_bot: bool, machine: bool) -> None:
    kind = inbound.event_type
    if machine and not log.machine_opened:
        log.machine_opened, log.machine_opened_at = True, inbound.occurred_at
    if kind in (EmailEventType.open, EmailEventType.click) and not is_bot:
        # Bot opens stay out of the flags: engagement counts flagged logs as human opens.
        if not log.opened:
            log.opened, log.opened_at = True, inbound.occurred_at
        if kind == EmailEventType.click and not log.clicked:
            log.clicked, log.clicked_at = True, inbound.occurred_at
    elif kind == EmailEventType.bounce:
        log.bounced = True


def stored_payload(inbound: Inbound) -> dict[str, Any]:
    """What an event keeps of its inbound besides its columns (the relay's signals read it)."""
    machine = inbound.machine_open and inbound.event_type == EmailEventType.open
    payload = clean_text(
        {
            "text": inbound.text[:20000],
            "subject": inbound.subject[:300],
            "message_ids": list(inbound.message_ids)[:20],
            "raw": inbound.payload,
            "machine_open": True if machine else None,
        }
    )
    assert isinstance(payload, dict)
    return payload


def record(session: Session, inbound: Inbound) -> RecordResult:
    """Stores `inbound` once per (source, dedupe_key) and applies its side effects; no commit.

    - Matched to the EmailLog it concerns (see `match_log`), never across brands; unmatched
      events are stored with `deal_id` NULL, visible at `GET /api/crm/events/?unmatched=true`.
    - Sets the log's opened/clicked/bounced flags (human opens and clicks only).
    - Hard bounce, complaint and unsubscribe suppress the address for that brand only.
    - An unsubscribe is stored once per open deal of that contact in that brand, so each deal's
      workflow hears of it; the first row carries the dedupe key itself, the others
      `{key}#deal-{id}`.
    A replay (same source and key) returns `created=False` and changes nothing.
    """
    key = event_key(inbound.dedupe_key)
    existing = _existing(session, inbound.source, key)
    if existing:
        return RecordResult(existing, created=False)

    log = match_log(session, inbound)
    brand_id = log.brand_id if log is not None else inbound.brand_id
    email = (inbound.email or (log.to_email if log else "") or "").strip().lower() or None
    machine = inbound.machine_open and inbound.event_type == EmailEventType.open
    is_bot = inbound.is_bot or machine or is_scanner_click(inbound, log)
    deal_ids: list[int | None] = [log.deal_id if log is not None else None]
    if inbound.event_type == EmailEventType.unsubscribe and brand_id is not None and email:
        deal_ids = list(_open_deals(session, brand_id, email)) or deal_ids

    payload = stored_payload(inbound)
    events: list[EmailEvent] = []
    for n, deal_id in enumerate(deal_ids):
        events.append(
            EmailEvent(
                brand_id=brand_id,
                email_log_id=log.id if log is not None else None,
                deal_id=deal_id,
                event_type=inbound.event_type,
                source=inbound.source[:50],
                dedupe_key=key if n == 0 else f"{key}#deal-{deal_id}",
                email=clean_text(email[:320]) if email else None,
                url=clean_text(inbound.url) if inbound.url else None,
                is_bot=is_bot,
                payload=payload,
                occurred_at=inbound.occurred_at,
            )
        )
    try:
        with session.begin_nested():
            session.add_all(events)
            session.flush()
    except IntegrityError:
        # A concurrent delivery of the same event won the race: it is theirs to handle.
        return RecordResult(_existing(session, inbound.source, key), created=False)

    if log is not None:
        flag_log(log, inbound, is_bot, machine)
        session.add(log)
    reason = _SUPPRESSES.get(inbound.event_type)
    if reason is not None and brand_id is not None and email:
        _suppress(session, brand_id, email, reason, inbound.text or str(inbound.event_type))
    return RecordResult(events, created=True)


def _existing(session: Session, source: str, key: str) -> list[EmailEvent]:
    first = session.exec(
        select(EmailEvent).where(EmailEvent.source == source[:50], EmailEvent.dedupe_key == key)
    ).first()
    if first is None:
        return []
    fanned = session.exec(
        select(EmailEvent)
        .where(
            EmailEvent.source == source[:50],
            col(EmailEvent.dedupe_key).startswith(f"{key}#deal-", autoescape=True),
        )
        .order_by(col(EmailEvent.id))
    ).all()
    return [first, *fanned]
