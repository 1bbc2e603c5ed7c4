"""The unit of work's one retry policy: a step the database refused for contention (another
writer held the lock past the busy timeout) is rolled back and run again, whole, on a real
SQLite file with a second connection holding the write lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from models import Brand, make_engine, migrate
from models.uow import UnitsOfWork, is_contention
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
