"""emailevent.settled and the relay's partial indexes: cheap intake

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 03:10:00

The pixel, the click redirect and the reply webhooks store an event with one insert and answer;
the event is matched to its email and deal afterwards (`settled` false until then). Two partial
indexes keep the relay's queues cheap to read however many events are stored: the unsettled
events, and the matched events not yet delivered.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSETTLED = "NOT settled"
UNDELIVERED = "delivered_at IS NULL AND deal_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("emailevent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settled", sa.Boolean(), nullable=False, server_default=sa.text("true"))
        )
    op.create_index(
        "ix_emailevent_unsettled",
        "emailevent",
        ["id"],
        postgresql_where=sa.text(UNSETTLED),
        sqlite_where=sa.text(UNSETTLED),
    )
    op.create_index(
        "ix_emailevent_undelivered",
        "emailevent",
        ["deal_id", "id"],
        postgresql_where=sa.text(UNDELIVERED),
        sqlite_where=sa.text(UNDELIVERED),
    )


def downgrade() -> None:
    op.drop_index("ix_emailevent_undelivered", table_name="emailevent")
    op.drop_index("ix_emailevent_unsettled", table_name="emailevent")
    with op.batch_alter_table("emailevent", schema=None) as batch_op:
        batch_op.drop_column("settled")
