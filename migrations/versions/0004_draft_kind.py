"""emaildraft.kind: one name for each of the four kinds of draft

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:50:00

Until now the kind was implied: a composer draft had no deal, and the deal drafts were told
apart by `email_type` ("review", "reply", "next_email"), a column that for composer drafts
means the type of email the operator chose. Rows already there are given their kind from
exactly those facts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emaildraft", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="composer")
        )
        batch_op.create_index(batch_op.f("ix_emaildraft_kind"), ["kind"], unique=False)
    for kind in ("review", "reply", "next_email"):
        op.execute(
            sa.text(
                "UPDATE emaildraft SET kind = :kind WHERE deal_id IS NOT NULL AND email_type = :kind"
            ).bindparams(kind=kind)
        )
    # The default only named the rows already there: every new draft says what it is.
    with op.batch_alter_table("emaildraft", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=20), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("emaildraft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emaildraft_kind"))
        batch_op.drop_column("kind")
