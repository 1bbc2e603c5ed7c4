"""emaillog.machine_opened: Apple Mail Privacy Protection prefetches, per email

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:20:00

A machine open is recorded on its email apart from `opened` (a person's open), so open rates
stay honest and a recipient whose mail app prefetches every image is not taken for a ghost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emaillog", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("machine_opened", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("machine_opened_at", models.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("emaillog", schema=None) as batch_op:
        batch_op.drop_column("machine_opened_at")
        batch_op.drop_column("machine_opened")
