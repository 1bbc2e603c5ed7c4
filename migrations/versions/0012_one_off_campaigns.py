"""emaildraft.one_off: composer emails sent once, without follow-ups

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 03:10:00

A one-off composer email (an announcement, an update) is sent to its recipients by their
deals as usual (guards, unsubscribe link, caps, ledger) but enrols them into no follow-ups.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emaildraft", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("one_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("emaildraft", schema=None) as batch_op:
        batch_op.drop_column("one_off")
