from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from models import DraftKind, EmailDraft, make_engine, migrate
from models.db import alembic_config
from tests.db import fresh_database
from tests.factories import make_brand


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


def test_models_and_migrations_agree(any_engine: Engine) -> None:
    """What alembic would autogenerate from the models against the migrated schema: nothing.
    An index or column declared on a model but not migrated (or the reverse) shows here.
    (The contact search's trigram index is PostgreSQL's alone, made by migration 0009.)"""

    def declared(obj: object, name: str | None, type_: str, reflected: bool, _: object) -> bool:
        return not (type_ == "index" and name == "ix_contact_search_trgm")

    with any_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": declared})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'drafts.db'}"
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    with fresh_database(admin_url) as url:
        yield url


def test_0004_names_the_kind_of_every_existing_draft(empty_url: str) -> None:
    """Rows written before `emaildraft.kind` existed get the kind their deal and email_type
    implied: no deal is a composer draft; a deal's draft is a review, reply or next-email."""
    command.upgrade(alembic_config(empty_url), "0003")
    engine = make_engine(empty_url)
    try:
        rows = {"intro": None, "review": 1, "reply": 1, "next_email": 1, "follow_up": None}
        # Brand and deal ids without their rows (foreign keys off for this connection): only
        # the deal id's NULL-ness and the email type matter to the migration.
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
            else:
                conn.execute(sa.text("SET session_replication_role = replica"))
            for email_type, deal_id in rows.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO emaildraft (brand_id, deal_id, email_type, tone, recipients,"
                        " subject, body, status, ai_generated, timezone, variant, review_note,"
                        " outcome, created_at, updated_at) VALUES (:b, :d, :t, '', '[]', 's',"
                        " 'x', 'draft', false, 'UTC', '', '', '{}', :now, :now)"
                    ).bindparams(b=1, d=deal_id, t=email_type, now=datetime(2026, 1, 1))
                )
        migrate(empty_url)
        with engine.connect() as conn:
            kinds = dict(conn.execute(sa.text("SELECT email_type, kind FROM emaildraft")).all())
    finally:
        engine.dispose()
    assert kinds == {
        "intro": DraftKind.composer,
        "follow_up": DraftKind.composer,
        "review": DraftKind.review,
        "reply": DraftKind.reply,
        "next_email": DraftKind.next_email,
    }


def test_a_draft_must_say_what_kind_it_is(any_engine: Engine) -> None:
    """No default kind: a draft written without one is refused, not filed as a composer draft."""
    with Session(any_engine) as session:
        brand = make_brand(session, slug="b")
        session.add(EmailDraft(brand_id=brand.id or 0, subject="s"))
        with pytest.raises(IntegrityError):
            session.commit()
