"""console: deal owners, edited stage templates, saved recipient filters, import jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:10:00

A deal's owner is a console user (nullable: unassigned); a stage's template may be edited in
the console (stored here, used instead of its file); the composer's saved filters; CSV import
jobs with their progress and per-row report, so any API replica serves them after a restart.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_deal_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key("fk_deal_owner_id", "consoleuser", ["owner_id"], ["id"])
    with op.batch_alter_table("pipelinestage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_body", sa.Text(), nullable=True))
    op.create_table(
        "consolefilter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["consoleuser.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "brand_id", "name", name="uq_filter_name"),
    )
    op.create_index(op.f("ix_consolefilter_user_id"), "consolefilter", ["user_id"], unique=False)
    op.create_table(
        "consoleimport",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["consoleuser.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_consoleimport_user_id"), "consoleimport", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_consoleimport_user_id"), table_name="consoleimport")
    op.drop_table("consoleimport")
    op.drop_index(op.f("ix_consolefilter_user_id"), table_name="consolefilter")
    op.drop_table("consolefilter")
    with op.batch_alter_table("pipelinestage", schema=None) as batch_op:
        batch_op.drop_column("template_body")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deal_owner_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_deal_owner_id"))
        batch_op.drop_column("owner_id")
