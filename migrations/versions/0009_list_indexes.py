"""Indexes for the lists at production size: newest first by each main filter

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 03:40:00

The deal and email-log lists are ordered newest first (created_at, id). With 100,000 deals and
1,000,000 email logs a single-column index on the filter left PostgreSQL sorting every match
for one page; a composite (filter, created_at, id) index gives the order too, and replaces the
single-column one it starts with. Undelivered events get a partial index (the relay's sweep).
On PostgreSQL, the contact search (a substring of name, email or company) gets a trigram index
(pg_trgm, a trusted extension a database owner may create); where the extension cannot be
created the search still works, by scanning. Measured by bench/api_scale.py.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, replaced single-column index or None, new index, its columns)
INDEXES = [
    ("deal", None, "ix_deal_created", ["created_at", "id"]),
    (
        "deal",
        "ix_deal_pipeline_id",
        "ix_deal_pipeline_created",
        ["pipeline_id", "created_at", "id"],
    ),
    ("deal", "ix_deal_stage_id", "ix_deal_stage_created", ["stage_id", "created_at", "id"]),
    ("deal", "ix_deal_status", "ix_deal_status_created", ["status", "created_at", "id"]),
    (
        "deal",
        "ix_deal_engagement_tier",
        "ix_deal_tier_created",
        ["engagement_tier", "created_at", "id"],
    ),
    ("deal", None, "ix_deal_pipeline_stage_status", ["pipeline_id", "stage_id", "status"]),
    ("emaillog", None, "ix_emaillog_created", ["created_at", "id"]),
    (
        "emaillog",
        "ix_emaillog_brand_id",
        "ix_emaillog_brand_created",
        ["brand_id", "created_at", "id"],
    ),
    (
        "emaillog",
        "ix_emaillog_deal_id",
        "ix_emaillog_deal_created",
        ["deal_id", "created_at", "id"],
    ),
    ("emaillog", None, "ix_emaillog_stage_created", ["stage_id", "created_at", "id"]),
    (
        "emaillog",
        "ix_emaillog_status",
        "ix_emaillog_status_created",
        ["status", "created_at", "id"],
    ),
    ("emaildraft", None, "ix_emaildraft_queue", ["kind", "status", "created_at", "id"]),
]
PENDING = sa.text("delivered_at IS NULL")
SEARCH = (
    "CREATE INDEX ix_contact_search_trgm ON contact "
    "USING gin (name gin_trgm_ops, email gin_trgm_ops, company gin_trgm_ops)"
)


def upgrade() -> None:
    for table, replaced, name, columns in INDEXES:
        op.create_index(name, table, columns)
        if replaced:
            op.drop_index(replaced, table_name=table)
    op.create_index(
        "ix_emailevent_pending",
        "emailevent",
        ["id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError as exc:
            logging.getLogger("alembic.runtime.migration").warning(
                "no trigram index for the contact search (pg_trgm: %s)", exc.orig
            )
        else:
            op.execute(SEARCH)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_contact_search_trgm")
    op.drop_index("ix_emailevent_pending", table_name="emailevent")
    for table, replaced, name, columns in reversed(INDEXES):
        if replaced:
            op.create_index(replaced, table, [columns[0]])
        op.drop_index(name, table_name=table)
