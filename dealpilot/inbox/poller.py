"""The inbox poll: read each configured mailbox from its cursor, store what matters as events
(replies, auto-replies, bounces), then deliver stored events to their deals.

Each message is recorded and its cursor moved in one unit of work (run through the caller's
`Transact`, committed before the next message is read), so a crash between the two is
impossible and a message is handled once. Delivery (the caller's `deliver`) happens after the
commits; anything it cannot hand over stays pending for the next poll or the API's relay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import structlog
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from dealpilot.ai.replies import strip_quoted
from dealpilot.inbox.classify import Kind, auto_reply_subject, is_hard_bounce, kind_of
from dealpilot.inbox.message import InboxMessage
from dealpilot.inbox.source import Cursor, InboxSource
from dealpilot.intake import DeliveryReport, Inbound, record
from models import Brand, EmailEventType, InboxCursor, utcnow
from models.uow import Transact
from workflows.jobs import PollReport

log = structlog.get_logger(__name__)

SOURCE = "inbox"  # one source for every mailbox: the same message seen twice is one event


@dataclass
class _Counts:
    handled: int = 0
    replies: int = 0
    auto_replies: int = 0
    bounces: int = 0
    complaints: int = 0
    own: int = 0
    automated: int = 0
    duplicates: int = 0
    failed: int = 0
    deal_ids: set[int] = field(default_factory=set)


def dedupe_key(msg: InboxMessage) -> str:
    if msg.message_id:
        return msg.message_id.lower()
    digest = hashlib.sha256(
        "\x1f".join(
            (msg.from_email, msg.subject, msg.received_at.isoformat(), msg.text[:5000])
        ).encode()
    ).hexdigest()
    return f"sha256:{digest}"


def to_inbound(msg: InboxMessage, kind: Kind, *, via: str) -> Inbound | None:
    """The event a message becomes, or None when it is not about a deal."""
    if kind in (Kind.own, Kind.automated):
        return None
    ids = tuple(dict.fromkeys((*msg.in_reply_to, *reversed(msg.references))))
    payload: dict[str, object] = {"via": via, "message_id": msg.message_id, "kind": str(kind)}
    if kind == Kind.complaint:
        feedback_type, recipient = msg.feedback or ("abuse", "")
        payload.update(feedback_type=feedback_type, recipient=recipient)
        return Inbound(
            event_type=EmailEventType.complaint,
            source=SOURCE,
            dedupe_key=dedupe_key(msg),
            occurred_at=msg.received_at,
            # The reported original's Message-ID names our EmailLog (and so the deal).
            message_ids=tuple(dict.fromkeys((*msg.reported_ids, *ids))),
            email=recipient or None,
            text=f"feedback report ({feedback_type}) from {msg.from_email}"[:500],
            subject=msg.subject,
            payload=payload,
        )
    if kind == Kind.bounce:
        recipient, status, diagnostic = msg.dsn or ("", "", "")
        payload.update(status=status, recipient=recipient)
        return Inbound(
            event_type=EmailEventType.bounce
            if is_hard_bounce(status)
            else EmailEventType.soft_bounce,
            source=SOURCE,
            dedupe_key=dedupe_key(msg),
            occurred_at=msg.received_at,
            # The bounced original's own Message-ID first: it names our EmailLog exactly.
            message_ids=tuple(dict.fromkeys((*msg.reported_ids, *ids))),
            email=recipient or None,
            text=(diagnostic or msg.subject)[:500],
            subject=msg.subject,
            payload=payload,
        )
    text = strip_quoted(msg.text) or msg.text.strip()
    subject = msg.subject
    payload["headers"] = dict(msg.headers)  # the kept ones: RFC 3834 and content type
    if kind == Kind.auto_reply:
        payload["auto_reply"] = True
        payload["original_subject"] = subject
        subject = auto_reply_subject(subject)
    return Inbound(
        event_type=EmailEventType.reply,
        source=SOURCE,
        dedupe_key=dedupe_key(msg),
        occurred_at=msg.received_at,
        message_ids=ids,
        email=msg.from_email or None,
        text=text,
        subject=subject,
        payload=payload,
    )


class InboxPoller:
    def __init__(
        self,
        transact: Transact,
        sources: Sequence[InboxSource],
        *,
        lookback: timedelta = timedelta(days=7),
        batch: int = 200,
    ) -> None:
        self._transact = transact
        self.sources = list(sources)
        self._lookback = lookback
        self._batch = batch

    async def poll(
        self,
        *,
        now: datetime | None = None,
        deliver: Callable[[], Awaitable[DeliveryReport]] | None = None,
        heartbeat: Callable[..., None] = lambda *details: None,
    ) -> PollReport:
        """`deliver` hands the stored events to their deals (none: they stay pending);
        `heartbeat` is called after each message with the mailbox and its checkpoint."""
        counts = _Counts()
        since = (now or utcnow()) - self._lookback
        own = await self._transact(_own_addresses)
        for source in self.sources:
            cursor = await self._transact(partial(_cursor, key=source.key))
            batch = await source.fetch(cursor, since=since, limit=self._batch)
            for msg, checkpoint in zip(batch.messages, batch.checkpoints, strict=True):
                await self._handle(source, msg, checkpoint, own, counts)
                heartbeat(source.key, checkpoint)
            if batch.cursor is not None and batch.cursor != cursor:
                await self._save_cursor(source.key, batch.cursor)
        delivered = await deliver() if deliver is not None else None
        report = PollReport(
            mailboxes=len(self.sources),
            handled=counts.handled,
            replies=counts.replies,
            auto_replies=counts.auto_replies,
            bounces=counts.bounces,
            complaints=counts.complaints,
            skipped_own=counts.own,
            skipped_automated=counts.automated,
            duplicates=counts.duplicates,
            failed=counts.failed,
            deal_ids=sorted(counts.deal_ids),
            delivered=delivered.delivered if delivered else 0,
            pending=delivered.pending if delivered else 0,
        )
        log.info("inbox.polled", **{k: v for k, v in vars(report).items() if k != "deal_ids"})
        return report

    async def _save_cursor(self, key: str, state: Cursor) -> None:
        await self._transact(lambda session: _save_cursor(session, key, state))

    async def _handle(
        self,
        source: InboxSource,
        msg: InboxMessage,
        checkpoint: Cursor,
        own: frozenset[str],
        counts: _Counts,
    ) -> None:
        kind = kind_of(msg, own)
        counts.handled += 1

        def step(session: Session) -> None:
            inbound = to_inbound(msg, kind, via=source.via)
            if inbound is not None:
                result = record(session, inbound)
                if not result.created:
                    counts.duplicates += 1
                counts.deal_ids.update(result.deal_ids)
            _save_cursor(session, source.key, checkpoint)

        try:
            await self._transact(step)
        except DBAPIError:
            raise  # the database, not the message: the activity retries from the cursor
        except Exception:
            # One unreadable message must not block the mailbox for ever: log it, move on.
            log.exception("inbox.message_failed", mailbox=source.key, ref=msg.ref)
            counts.failed += 1
            await self._save_cursor(source.key, checkpoint)
            return
        tally = {
            Kind.own: "own",
            Kind.automated: "automated",
            Kind.bounce: "bounces",
            Kind.complaint: "complaints",
            Kind.auto_reply: "auto_replies",
            Kind.reply: "replies",
        }[kind]
        setattr(counts, tally, getattr(counts, tally) + 1)
        log.info(
            "inbox.message",
            mailbox=source.key,
            ref=msg.ref,
            kind=str(kind),
            message_id=msg.message_id,
        )


def _own_addresses(session: Session) -> frozenset[str]:
    rows = session.exec(select(Brand.from_email, Brand.reply_to)).all()
    return frozenset(a.strip().lower() for row in rows for a in row if a)


def _cursor(session: Session, key: str) -> Cursor | None:
    row = session.get(InboxCursor, key)
    return dict(row.state) if row is not None else None


def _save_cursor(session: Session, key: str, state: Cursor) -> None:
    row = session.get(InboxCursor, key) or InboxCursor(source=key)
    row.state, row.updated_at = dict(state), utcnow()
    session.add(row)
