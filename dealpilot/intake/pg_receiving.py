"""The receiver's statement on PostgreSQL, sent from the event loop itself (no thread per batch,
no ORM, no pool checkout): the hot endpoints' events as one prepared `INSERT ... SELECT FROM
unnest(...) ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING source, dedupe_key`.

The connection is psycopg2's asynchronous one (its socket watched by the event loop, as aiopg
does), which runs in autocommit: the statement is its own transaction, so when its answer
arrives the rows are committed (durable as the server's `synchronous_commit` makes every
commit), in one round trip instead of BEGIN, INSERT and COMMIT. One connection per process,
kept open; any failure closes it (the batch is refused, the next one connects again).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg2
import psycopg2.extensions as pgext
from sqlalchemy import Engine

# Columns of `emailevent` the statement fills, in the order of its parameters; the others take
# their defaults (NULL brand, email log, deal and delivery; `settled` false, set below).
_COLUMNS = (
    ("event_type", "text"),
    ("source", "text"),
    ("dedupe_key", "text"),
    ("email", "text"),
    ("url", "text"),
    ("is_bot", "boolean"),
    ("payload", "text"),
    ("occurred_at", "timestamp"),
    ("created_at", "timestamp"),
)
_NAME = "dealpilot_receive"
_PREPARE = (
    f"PREPARE {_NAME} ({', '.join(f'{t}[]' for _c, t in _COLUMNS)}) AS "
    f"INSERT INTO emailevent ({', '.join(c for c, _t in _COLUMNS)}, settled) "
    f"SELECT {', '.join('t.payload::json' if c == 'payload' else f't.{c}' for c, _t in _COLUMNS)}"
    f", false FROM unnest({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 1))}) "
    f"AS t({', '.join(c for c, _t in _COLUMNS)}) "
    "ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING source, dedupe_key"
)
_EXECUTE = f"EXECUTE {_NAME} ({', '.join('%s' for _c in _COLUMNS)})"
# One statement (or the connection) that takes longer than this is abandoned: the batch is
# refused (503) rather than leaving requests waiting on a server that does not answer.
TIMEOUT = 10.0


def _naive_utc(value: datetime) -> datetime:
    """As `models.types.UTCDateTime` stores times: naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _columns(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The rows (`receiving.received_row`) as one array per column, for unnest."""
    arrays: list[list[Any]] = [[] for _c in _COLUMNS]
    for row in rows:
        for array, (column, _type) in zip(arrays, _COLUMNS, strict=True):
            value = row[column]
            if column == "payload":
                value = json.dumps(value)
            elif column in ("occurred_at", "created_at"):
                value = _naive_utc(value)
            array.append(value)
    return arrays


class PgInserter:
    """`insert(rows)`: the keys of the rows that were new, committed. Not for concurrent use:
    the receiver's writer sends one batch at a time."""

    def __init__(self, engine: Engine) -> None:
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        self._connect: Callable[[], Any] = lambda: psycopg2.connect(*cargs, **cparams, async_=1)
        self._conn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def insert(self, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        try:
            return await asyncio.wait_for(self._insert(rows), TIMEOUT)
        except BaseException:
            self.close()  # its state is unknown: the next batch connects again
            raise

    async def _insert(self, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        loop = asyncio.get_running_loop()
        if self._conn is None or self._conn.closed or self._loop is not loop:
            self.close()
            conn = self._connect()
            self._conn, self._loop = conn, loop
            await _wait(conn)
            with conn.cursor() as cur:
                cur.execute(_PREPARE)
                await _wait(conn)
        with self._conn.cursor() as cur:
            cur.execute(_EXECUTE, _columns(rows))
            await _wait(self._conn)
            return {(str(s), str(k)) for s, k in cur.fetchall()}

    def close(self) -> None:
        conn, self._conn, self._loop = self._conn, None, None
        if conn is not None and not conn.closed:
            conn.close()


async def _wait(conn: Any) -> None:
    """Until the asynchronous connection's current operation is done (psycopg2's poll loop)."""
    loop = asyncio.get_running_loop()
    fd = conn.fileno()
    while True:
        state = conn.poll()
        if state == pgext.POLL_OK:
            return
        ready: asyncio.Future[None] = loop.create_future()

        def done(ready: asyncio.Future[None] = ready) -> None:
            if not ready.done():
                ready.set_result(None)

        if state == pgext.POLL_READ:
            loop.add_reader(fd, done)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
        elif state == pgext.POLL_WRITE:
            loop.add_writer(fd, done)
            try:
                await ready
            finally:
                loop.remove_writer(fd)
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
