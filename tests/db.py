"""Where the tests' PostgreSQL comes from: TEST_DATABASE_URL, localhost, or testcontainers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

LOCAL_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _reachable(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@contextmanager
def postgres_server() -> Iterator[tuple[str | None, str]]:
    """Yields (admin url, reason). The url is None, with the reason, when none is available."""
    env_url = os.environ.get("TEST_DATABASE_URL")
    if env_url:
        if not _reachable(env_url):
            yield None, f"TEST_DATABASE_URL={make_url(env_url).render_as_string()} is unreachable"
            return
        yield env_url, ""
        return
    if _reachable(LOCAL_URL):
        yield LOCAL_URL, ""
        return
    if shutil.which("docker") is None:
        yield None, "no PostgreSQL: TEST_DATABASE_URL unset, none on localhost, no Docker"
        return
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="psycopg2")
        container.start()
    except Exception as exc:  # Docker client present but no engine
        yield None, f"no PostgreSQL: testcontainers could not start one ({exc})"
        return
    try:
        yield container.get_connection_url(), ""
    finally:
        container.stop()


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    name = f"dealpilot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # No statement of the suite waits a minute for a lock unless something leaked: it
        # fails then, naming the statement, instead of hanging the run.
        conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET lock_timeout = '60s'"))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
