"""tier-aware stage templates, default and enrolled email sequences

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 06:45:00

- stagetiertemplate: a stage's email for one engagement tier (chosen at send time by the
  deal's tier, the stage's own email otherwise);
- emailsequence.is_default: the pipeline's default sequence;
- deal.sequence_id: the sequence a deal was enrolled with (its steps are snapshotted into the
  deal's workflow at start; no foreign key, the sequence may since be deleted).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stagetiertemplate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("template_body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["stage_id"], ["pipelinestage.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stage_id", "tier", name="uq_stagetier_stage_tier"),
    )
    op.create_index(
        op.f("ix_stagetiertemplate_stage_id"), "stagetiertemplate", ["stage_id"], unique=False
    )
    with op.batch_alter_table("emailsequence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_deal_sequence_id"), ["sequence_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_sequence_id"))
        batch_op.drop_column("sequence_id")
    with op.batch_alter_table("emailsequence", schema=None) as batch_op:
        batch_op.drop_column("is_default")
    op.drop_index(op.f("ix_stagetiertemplate_stage_id"), table_name="stagetiertemplate")
    op.drop_table("stagetiertemplate")
