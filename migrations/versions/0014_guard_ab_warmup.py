"""Campaign intelligence: the deliverability guard, warm-up and the automatic A/B winner

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 06:40:00

brand: warm-up settings (warmup_enabled, warmup_start_cap, warmup_increase_percent) and state
(warmup_started_on, warmup_level, warmup_level_on); the guard's pause (sending_paused_at,
sending_paused_reason) and the last resume (sending_resumed_at).
pipelinestage: ab_min_sends (sends each variant needs before a winner is decided) and
ab_started_at (when the current subject B was set).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("brand", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warmup_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("warmup_start_cap", sa.Integer(), nullable=False, server_default="20")
        )
        batch_op.add_column(
            sa.Column("warmup_increase_percent", sa.Integer(), nullable=False, server_default="50")
        )
        batch_op.add_column(sa.Column("sending_paused_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "sending_paused_reason",
                sqlmodel.sql.sqltypes.AutoString(length=500),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("sending_resumed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("warmup_started_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("warmup_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("warmup_level_on", sa.Date(), nullable=True))
    with op.batch_alter_table("pipelinestage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ab_min_sends", sa.Integer(), nullable=False, server_default="100")
        )
        batch_op.add_column(sa.Column("ab_started_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipelinestage", schema=None) as batch_op:
        batch_op.drop_column("ab_started_at")
        batch_op.drop_column("ab_min_sends")
    with op.batch_alter_table("brand", schema=None) as batch_op:
        for name in (
            "warmup_level_on",
            "warmup_level",
            "warmup_started_on",
            "sending_resumed_at",
            "sending_paused_reason",
            "sending_paused_at",
            "warmup_increase_percent",
            "warmup_start_cap",
            "warmup_enabled",
        ):
            batch_op.drop_column(name)
