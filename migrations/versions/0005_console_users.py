"""console users and their brands

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consoleuser",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("last_login_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_consoleuser_email"), "consoleuser", ["email"], unique=True)
    op.create_table(
        "consoleuserbrand",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["consoleuser.id"]),
        sa.PrimaryKeyConstraint("user_id", "brand_id"),
    )
    op.create_index(
        op.f("ix_consoleuserbrand_brand_id"), "consoleuserbrand", ["brand_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_consoleuserbrand_brand_id"), table_name="consoleuserbrand")
    op.drop_table("consoleuserbrand")
    op.drop_index(op.f("ix_consoleuser_email"), table_name="consoleuser")
    op.drop_table("consoleuser")
