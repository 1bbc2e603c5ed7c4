from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from models import make_engine, migrate
from tests.db import fresh_database, postgres_server


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


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))


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
