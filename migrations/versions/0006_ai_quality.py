"""AI quality: editable prompts that take effect, and the brand's brief for AI writing

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:20:00

Prompts become per-brand overridable and versioned (aiprompttemplate.brand_id and version,
aipromptversion); every prompt already there becomes its own version 1. Brands get a voice and
a description, given to the model with every email it writes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("brand", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "voice",
                sqlmodel.sql.sqltypes.AutoString(length=500),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "description",
                sqlmodel.sql.sqltypes.AutoString(length=1000),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("aiprompttemplate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index(
            batch_op.f("ix_aiprompttemplate_brand_id"), ["brand_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_aiprompttemplate_brand_id_brand", "brand", ["brand_id"], ["id"]
        )
    with op.batch_alter_table("aiprompttemplate", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)
    op.create_table(
        "aipromptversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("prompt_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["prompt_id"], ["aiprompttemplate.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_aipromptversion_prompt_id"), "aipromptversion", ["prompt_id"], unique=False
    )
    op.execute(
        "INSERT INTO aipromptversion (prompt_id, version, prompt_text, created_at) "
        "SELECT id, 1, prompt_text, updated_at FROM aiprompttemplate"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_aipromptversion_prompt_id"), table_name="aipromptversion")
    op.drop_table("aipromptversion")
    with op.batch_alter_table("aiprompttemplate", schema=None) as batch_op:
        batch_op.drop_constraint("fk_aiprompttemplate_brand_id_brand", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_aiprompttemplate_brand_id"))
        batch_op.drop_column("version")
        batch_op.drop_column("brand_id")
    with op.batch_alter_table("brand", schema=None) as batch_op:
        batch_op.drop_column("description")
        batch_op.drop_column("voice")
