"""The inbox poll: read each configured mailbox from its cursor, store what matters as events
(replies, auto-replies, bounces), then deliver stored events to their deals.

Each message is recorded and its cursor moved in one transaction, so a crash between the two
is impossible and a message is handled once. Delivery happens after the commits; anything it
cannot hand over stays pending for the next poll or the API's relay.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select
from temporalio import activity
from temporalio.client import Client

from dealpilot.ai.replies import strip_quoted
from dealpilot.inbox.classify import Kind, auto_reply_subject, is_hard_bounce, kind_of
from dealpilot.inbox.message import InboxMessage
from dealpilot.inbox.source import Cursor, InboxSource
from dealpilot.intake import Inbound, deliver, record
from models import Brand, EmailEventType, InboxCursor, session_scope, utcnow
from workflows.jobs import PollReport, PollRequest

log = structlog.get_logger(__name__)

SOURCE = "inbox"  # one source for every mailbox: the same message seen twice is one event


@dataclass
class _Counts:
    handled: int = 0
    replies: int = 0
    auto_replies: int = 0
    bounces: int = 0
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
        engine: Engine,
        sources: Sequence[InboxSource],
        *,
        lookback: timedelta = timedelta(days=7),
        batch: int = 200,
    ) -> None:
        self._engine = engine
        self.sources = list(sources)
        self._lookback = lookback
        self._batch = batch

    async def poll(self, client: Client | None, *, now: datetime | None = None) -> PollReport:
        counts = _Counts()
        since = (now or utcnow()) - self._lookback
        own = await asyncio.to_thread(self._own_addresses)
        for source in self.sources:
            cursor = await asyncio.to_thread(self._cursor, source.key)
            batch = await source.fetch(cursor, since=since, limit=self._batch)
            for msg, checkpoint in zip(batch.messages, batch.checkpoints, strict=True):
                await asyncio.to_thread(self._handle, source, msg, checkpoint, own, counts)
                _heartbeat(source.key, checkpoint)
            if batch.cursor is not None and batch.cursor != cursor:
                await asyncio.to_thread(self._save_cursor, source.key, batch.cursor)
        delivered = await deliver(client, self._engine) if client is not None else None
        report = PollReport(
            mailboxes=len(self.sources),
            handled=counts.handled,
            replies=counts.replies,
            auto_replies=counts.auto_replies,
            bounces=counts.bounces,
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

    # ------------------------------------------------------------------ blocking
    def _own_addresses(self) -> frozenset[str]:
        with Session(self._engine) as session:
            rows = session.exec(select(Brand.from_email, Brand.reply_to)).all()
        return frozenset(a.strip().lower() for row in rows for a in row if a)

    def _cursor(self, key: str) -> Cursor | None:
        with Session(self._engine) as session:
            row = session.get(InboxCursor, key)
            return dict(row.state) if row is not None else None

    def _save_cursor(self, key: str, state: Cursor, session: Session | None = None) -> None:
        if session is None:
            with session_scope(self._engine) as own:
                self._save_cursor(key, state, own)
            return
        row = session.get(InboxCursor, key) or InboxCursor(source=key)
        row.state, row.updated_at = dict(state), utcnow()
        session.add(row)

    def _handle(
        self,
        source: InboxSource,
        msg: InboxMessage,
        checkpoint: Cursor,
        own: frozenset[str],
        counts: _Counts,
    ) -> None:
        kind = kind_of(msg, own)
        counts.handled += 1
        try:
            with session_scope(self._engine) as session:
                inbound = to_inbound(msg, kind, via=source.via)
                if inbound is not None:
                    result = record(session, inbound)
                    if not result.created:
                        counts.duplicates += 1
                    counts.deal_ids.update(result.deal_ids)
                self._save_cursor(source.key, checkpoint, session)
        except DBAPIError:
            raise  # the database, not the message: the activity retries from the cursor
        except Exception:
            # One unreadable message must not block the mailbox for ever: log it, move on.
            log.exception("inbox.message_failed", mailbox=source.key, ref=msg.ref)
            counts.failed += 1
            self._save_cursor(source.key, checkpoint)
            return
        tally = {
            Kind.own: "own",
            Kind.automated: "automated",
            Kind.bounce: "bounces",
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


def _heartbeat(*details: object) -> None:
    if activity.in_activity():
        activity.heartbeat(*details)


class InboxActivities:
    """The poll activity, over the sources configured at worker start."""

    def __init__(self, poller: InboxPoller) -> None:
        self._poller = poller

    @activity.defn(name="poll_inbox")
    async def poll_inbox(self, req: PollRequest) -> PollReport:
        return await self._poller.poll(activity.client(), now=req.now)
