"""The unit of work's one retry policy: a step the database refused for contention (another
writer held the lock past the busy timeout) is rolled back and run again, whole, on a real
SQLite file with a second connection holding the write lock. And a unit of work whose caller is
cancelled (`Task.cancel()`, as Temporal cancels an activity) while its thread is at work leaves
no transaction open on PostgreSQL: the caller waits for the thread, then the work is rolled
back."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from models import Brand, make_engine, migrate
from models.uow import UnitsOfWork, in_thread, is_contention, unit_of_work
from tests.factories import make_brand
from tests.waiting import wait_until


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
        # Runs after make_engine's own pragmas: wait 200 ms for a lock, not 30 s.
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    with Session(engine) as session:
        make_brand(session, slug="acme")
    yield path, engine
    engine.dispose()


async def test_a_step_refused_for_contention_is_run_again(
    sqlite_file: tuple[Path, Engine],
) -> None:
    path, engine = sqlite_file
    attempts = 0
    held = threading.Event()

    def hold_the_write_lock() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE brand SET name = 'Held' WHERE slug = 'acme'")
        held.set()
        # Let go once the first attempt has failed and the second one is under way.
        wait_until(lambda: attempts >= 2, timeout=20)
        other.execute("COMMIT")
        other.close()

    blocker = threading.Thread(target=hold_the_write_lock)
    blocker.start()
    held.wait(10)

    def rename(session: Session) -> str:
        nonlocal attempts
        attempts += 1
        brand = session.exec(select(Brand).where(Brand.slug == "acme")).one()
        brand.name = "Acme Web"
        session.add(brand)
        session.flush()
        return brand.name

    try:
        assert await UnitsOfWork(engine)(rename) == "Acme Web"
    finally:
        blocker.join(20)
    assert attempts == 2
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM brand")).scalar_one() == "Acme Web"


def test_contention_is_told_by_the_drivers_code(sqlite_file: tuple[Path, Engine]) -> None:
    path, engine = sqlite_file
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError) as refused, engine.begin() as conn:
            conn.execute(sa.text("UPDATE brand SET name = 'x'"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert is_contention(refused.value)
    with pytest.raises(OperationalError) as broken, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_contention(broken.value)


def _open_transactions(engine: Engine) -> list[str]:
    """The queries of the other sessions on this database left idle inside a transaction."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
        return [row.query for row in rows]


def _brand_name(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT name FROM brand")).scalar_one())


async def _cancel_while_blocked(
    engine: Engine, start: asyncio.Future[Any], inside: threading.Event, gate: threading.Event
) -> None:
    """Cancels `start` while its thread waits at `gate`, checks it keeps waiting for the
    thread, then lets the thread go and expects the CancelledError."""
    assert await asyncio.to_thread(inside.wait, 10)
    start.cancel()
    await asyncio.sleep(0.05)
    assert not start.done(), "a cancelled caller must wait for its thread"
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await start
    assert _open_transactions(engine) == []
    assert _brand_name(engine) == "Acme"


def _acme(engine: Engine) -> None:
    with Session(engine) as session:  # closed: no transaction of the test's own stays open
        make_brand(session, slug="acme", name="Acme")


def _claim_like_a_send(inside: threading.Event, gate: threading.Event) -> Callable[[Session], int]:
    """A step like the send's claim: a row lock on the brand and a change, then, once `gate`
    lets it go, one more statement."""

    def step(s: Session) -> int:
        brand = s.exec(select(Brand).where(Brand.slug == "acme").with_for_update()).one()
        brand.name = "Claimed"
        s.add(brand)
        s.flush()
        inside.set()
        gate.wait(10)
        return len(s.exec(select(Brand)).all())

    return step


async def test_a_cancelled_step_waits_for_its_thread_and_leaves_nothing_open(
    engine: Engine,
) -> None:
    _acme(engine)
    inside, gate = threading.Event(), threading.Event()
    step = asyncio.ensure_future(UnitsOfWork(engine)(_claim_like_a_send(inside, gate)))
    await _cancel_while_blocked(engine, step, inside, gate)


async def test_a_cancelled_unit_of_work_rolls_back_after_its_thread(engine: Engine) -> None:
    _acme(engine)
    inside, gate = threading.Event(), threading.Event()

    async def block() -> None:
        async with unit_of_work(engine) as uow:
            await in_thread(_claim_like_a_send(inside, gate), uow.session)

    await _cancel_while_blocked(engine, asyncio.ensure_future(block()), inside, gate)
