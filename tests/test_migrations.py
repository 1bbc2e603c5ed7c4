from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import SQLModel

from models import migrate


def test_migrations_create_every_table(any_engine: Engine) -> None:
    names = set(sa.inspect(any_engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= names
    assert "alembic_version" in names


def test_migrating_twice_is_a_no_op(any_engine: Engine) -> None:
    url = any_engine.url.render_as_string(hide_password=False)
    migrate(url)
    with any_engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert len(versions) == 1
