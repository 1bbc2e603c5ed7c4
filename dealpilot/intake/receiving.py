"""Receiving the hot endpoints' events (opens, clicks, replies, soft bounces): one insert-if-new
per event, committed before the answer, everything else afterwards.

A received event is an `EmailEvent` row with `settled` false: its kind, source, dedupe key, time,
the address, URL and text it came with, and what its request knew of its email and brand
(`payload["received"]`). Matching it to our sent mail and its deal, the email's opened and
clicked flags, and the delivery to the deal's workflow happen after the answer, in the relay
(`dealpilot.intake.settling`, then `delivery`), from the committed row: an API that dies after
answering loses nothing, and one that dies before committing answered nothing.

The `Receiver` commits the events of all the requests that arrive while it is writing in one
statement and one commit (a group commit): `INSERT ... ON CONFLICT (source, dedupe_key) DO
NOTHING RETURNING`, so a provider's retry or a mail app's second fetch stores nothing new. Each
request still waits for its own events' commit before it answers.

Events that suppress an address (unsubscribes, complaints, hard bounces) are not received here:
they are recorded in full before the answer (`intake.record`), so their suppression is durable
when the caller hears back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
import structlog
from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from dealpilot.core import metrics
from dealpilot.core.errors import ServiceUnavailable
from dealpilot.intake.pg_receiving import PgInserter
from dealpilot.intake.recording import Inbound, clean_text, event_key, stored_payload
from models import EmailEvent, EmailEventType, utcnow
from models.uow import CONTENTION_ATTEMPTS, CONTENTION_PAUSE, is_contention

log = structlog.get_logger(__name__)

# Kinds whose side effect (a suppression) must be durable before the answer: never received
# here, always recorded in full (`intake.record`).
SUPPRESSING = frozenset(
    {EmailEventType.unsubscribe, EmailEventType.complaint, EmailEventType.bounce}
)
_TABLE: Table = EmailEvent.__table__  # type: ignore[attr-defined]


def received_row(inbound: Inbound) -> dict[str, Any]:
    """The row of an event that is not matched yet (see the module docstring)."""
    if inbound.event_type in SUPPRESSING:
        raise ValueError(f"{inbound.event_type} events are recorded in full, not received")
    payload = stored_payload(inbound)
    payload["received"] = clean_text(
        {
            "email_log_id": inbound.email_log_id,
            "brand_id": inbound.brand_id,
            "recipients": list(inbound.recipients)[:20],
        }
    )
    email = (inbound.email or "").strip().lower()
    return {
        "brand_id": None,
        "email_log_id": None,
        "deal_id": None,
        "event_type": inbound.event_type.value,
        "source": inbound.source[:50],
        "dedupe_key": event_key(inbound.dedupe_key),
        "email": clean_text(email[:320]) if email else None,
        "url": clean_text(inbound.url) if inbound.url else None,
        "is_bot": inbound.is_bot,
        "payload": payload,
        "occurred_at": inbound.occurred_at,
        "delivered_at": None,
        "settled": False,
        "created_at": utcnow(),
    }


def _insert_new(engine: Engine, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Inserts the rows whose (source, dedupe_key) is new, in one transaction; their keys.
    One statement, compiled once and cached: SQLAlchemy sends the rows as one multi-row
    INSERT ("insertmanyvalues", up to 1,000 rows a statement)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(_TABLE)
        .on_conflict_do_nothing(index_elements=["source", "dedupe_key"])
        .returning(_TABLE.c.source, _TABLE.c.dedupe_key)
    )
    with engine.begin() as conn:
        if len(rows) == 1:
            return {(s, k) for s, k in conn.execute(stmt, rows[0])}
        return {(s, k) for s, k in conn.execute(stmt, rows)}


def _insert_retrying(engine: Engine, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """`_insert_new`, run again after a short pause when only contention refused it (SQLite's
    write lock held by another writer): the same policy as `models.uow.UnitsOfWork`."""
    pause = CONTENTION_PAUSE
    for attempt in range(1, CONTENTION_ATTEMPTS + 1):
        try:
            return _insert_new(engine, rows)
        except DBAPIError as exc:
            if attempt == CONTENTION_ATTEMPTS or not is_contention(exc):
                raise
            time.sleep(pause)  # in the writer's thread, never on the event loop
            pause *= 2
    raise AssertionError("unreachable")


# Batches in flight at once on PostgreSQL, each on its own connection.
WRITERS = 4
_Waiting = tuple[list[dict[str, Any]], "asyncio.Future[list[bool]]"]


class Receiver:
    """Stores received events for many requests at once (see the module docstring). One per
    process; needs no task of its own: a request that finds a writer free starts a batch, which
    takes every request waiting when it starts. On PostgreSQL up to `WRITERS` batches are in
    flight at once, each on its own connection (the server flushes their commits together);
    on SQLite one, in a thread (SQLite has one writer)."""

    def __init__(self, engine: Engine, *, writers: int | None = None) -> None:
        self._engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._writers = writers or (WRITERS if self._pg else 1)
        self._idle: list[PgInserter] = []  # connections not in use (`pg_receiving`)
        self._waiting: list[_Waiting] = []
        self._busy = 0  # batches started and not finished
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def receive(self, inbounds: Sequence[Inbound]) -> list[bool]:
        """Commits `inbounds` (each new, or a duplicate of one already stored); for each,
        whether it was new. Raises `ServiceUnavailable` when the database refused them."""
        rows = [received_row(i) for i in inbounds]
        if not rows:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        self._waiting.append((rows, future))
        self._start(loop)
        created = await asyncio.shield(future)
        for inbound, new in zip(inbounds, created, strict=True):
            if not new:
                metrics.record_intake(inbound.source, created=False, matched=False)
        return created

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """A batch, if a writer is free and requests wait."""
        if self._loop is not loop:
            # An app served in turn by several loops (tests): an ended loop's batches never
            # finish, and its connections belong to it.
            self.close()
            self._loop, self._busy = loop, 0
        if self._waiting and self._busy < self._writers:
            self._busy += 1
            task = loop.create_task(self._write(), name="intake-receiver")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Closes the connections kept for the next batches (the app's lifespan, at the end);
        a later batch connects again."""
        idle, self._idle = self._idle, []
        for inserter in idle:
            inserter.close()

    async def _write(self) -> None:
        # The batch is taken when the task runs, not when it was created: every request that
        # arrived in between goes with it.
        batch, self._waiting = self._waiting, []
        try:
            if batch:
                await self._store(batch)
        finally:
            self._busy -= 1
            self._start(asyncio.get_running_loop())  # whatever arrived while this one wrote

    async def _store(self, batch: list[_Waiting]) -> None:
        rows: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for request_rows, _future in batch:
            for row in request_rows:
                key = (row["source"], row["dedupe_key"])
                if key not in seen:  # the same event twice in one statement: once
                    seen.add(key)
                    rows.append(row)
        try:
            created = await self._insert(rows)
        except Exception as exc:
            log.warning("intake.receive_failed", error_type=type(exc).__name__, rows=len(rows))
            refused = ServiceUnavailable(
                "The event could not be stored; try again", code="database_unavailable"
            )
            for _rows, future in batch:
                if not future.done():
                    future.set_exception(refused)
            return
        for request_rows, future in batch:
            answer = []
            for row in request_rows:
                key = (row["source"], row["dedupe_key"])
                answer.append(key in created)
                created.discard(key)  # a second copy in the same batch is a duplicate
            if not future.done():
                future.set_result(answer)

    async def _insert(self, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        if not self._pg:
            return await anyio.to_thread.run_sync(_insert_retrying, self._engine, rows)
        inserter = self._idle.pop() if self._idle else PgInserter(self._engine)
        try:
            return await inserter.insert(rows)
        finally:
            self._idle.append(inserter)  # closed after a failure: it connects again when used
