from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel
from temporalio.testing import WorkflowEnvironment

from dealpilot.temporal.converter import data_converter
from models import make_engine, migrate
from tests.db import fresh_database, postgres_server
from tests.temporal import DEV_SERVER
from workflows import search_attributes

# Fixtures that start a Temporal server (time-skipping test server or dev server, in-process
# or as `dealpilot dev`) and fixtures that need PostgreSQL. A test that uses one of them,
# directly or through another fixture, gets the marker, so `-m "not temporal"` and
# `-m "not postgres"` select exactly the tests that run without that server. A new fixture
# that starts one of these servers belongs in this list.
TEMPORAL_FIXTURES = frozenset({"time_env", "dev_env", "dev_server", "devstack"})
POSTGRES_FIXTURES = frozenset({"postgres_admin_url", "postgres_engine"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # The closure: fixtures pulled in through other fixtures count too. any_engine's
        # PostgreSQL case is marked by its own param, since it looks its engine up at run time.
        used = set(getattr(item, "fixturenames", ()))
        if used & TEMPORAL_FIXTURES:
            item.add_marker(pytest.mark.temporal)
        if used & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres_server() as (url, reason):
        if url is None:
            pytest.skip(f"postgres unavailable: {reason}")
        yield url


@pytest.fixture(scope="session")
def postgres_engine(postgres_admin_url: str) -> Iterator[Engine]:
    with fresh_database(postgres_admin_url) as url:
        migrate(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "dealpilot.db"
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


# How long emptying the tables waits for another session's locks. TRUNCATE needs every
# table to itself: a transaction an earlier test left open (a thread still at work on its
# session, a session never closed) would make it, and every test after it, wait for ever.
WIPE_LOCK_TIMEOUT = "20s"
_LOCK_NOT_AVAILABLE = "55P03"


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))
        return
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{WIPE_LOCK_TIMEOUT}'"))
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) != _LOCK_NOT_AVAILABLE:
            raise
        left = _end_other_sessions(engine)
        pytest.fail(
            "an earlier test left a transaction open on the test database (ended now, so the "
            f"tests after this one run): {left}"
        )


def _end_other_sessions(engine: Engine) -> list[str]:
    """Terminates the other sessions on the test database that are inside a transaction and
    says what each was doing."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT pid, state, left(query, 300) AS query FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND xact_start IS NOT NULL"
            )
        ).all()
        for row in rows:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": row.pid})
        conn.commit()
    return [f"{row.state}: {row.query}" for row in rows]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on both databases, each starting empty."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    _wipe(engine)
    return engine


@pytest.fixture
def engine(postgres_engine: Engine) -> Engine:
    """The production database (PostgreSQL), empty at the start of each test."""
    _wipe(postgres_engine)
    return postgres_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server (real time, schedules, many workflows at once) for one module,
    with the deal search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter,
    )
    yield env
    await env.shutdown()
