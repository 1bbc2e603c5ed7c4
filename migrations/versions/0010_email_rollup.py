"""emailrollup: each pipeline's sent-email outcomes, kept by triggers on emaillog

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:50:00

`GET /api/crm/stats/` counted the outcomes of every sent email per request: about a second at
1,000,000 email logs. The triggers keep one row per pipeline instead, in the transaction that
changes an email log, whichever code path changes it (a send, an open, a reply, a bounce): an
email contributes (1, opened, clicked, replied, bounced) to its deal's pipeline while its
status is `sent`; an update takes its old contribution away and adds its new one. PostgreSQL
applies each statement's changes at once (statement triggers over transition tables); SQLite,
which updates rows in place, row by row. The existing rows are counted once here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = ("opened", "clicked", "replied", "bounced")
WATCHED = ("status", "deal_id", *FLAGS)


def _contributions(rows: str, sign: str) -> str:
    return f"""
        SELECT d.pipeline_id, {sign}count(*) AS sent,
               {", ".join(f"{sign}sum(r.{f}::int) AS {f}" for f in FLAGS)}
          FROM {rows} r JOIN deal d ON d.id = r.deal_id
         WHERE r.status = 'sent' GROUP BY d.pipeline_id
    """


def _apply(*parts: str) -> str:
    union = " UNION ALL ".join(parts)
    return f"""
        INSERT INTO emailrollup (pipeline_id, sent, {", ".join(FLAGS)})
        SELECT pipeline_id, sum(sent), {", ".join(f"sum({f})" for f in FLAGS)}
          FROM ({union}) AS delta
         GROUP BY pipeline_id
        HAVING sum(sent) <> 0 OR {" OR ".join(f"sum({f}) <> 0" for f in FLAGS)}
        ON CONFLICT (pipeline_id) DO UPDATE
           SET sent = emailrollup.sent + EXCLUDED.sent,
               {", ".join(f"{f} = emailrollup.{f} + EXCLUDED.{f}" for f in FLAGS)}
    """


# Statement-level, over the statement's transition tables: one upsert per pipeline per
# statement, however many rows it changed (a row-level trigger would update the same rollup
# row once per email log, and PostgreSQL keeps every version of it until the transaction ends).
POSTGRES = [
    f"""
    CREATE FUNCTION emaillog_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        {_apply(_contributions("new_rows", ""))};
      ELSIF TG_OP = 'DELETE' THEN
        {_apply(_contributions("old_rows", "-"))};
      ELSE
        {_apply(_contributions("new_rows", ""), _contributions("old_rows", "-"))};
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER emaillog_rollup_insert AFTER INSERT ON emaillog
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_rollup()
    """,
    """
    CREATE TRIGGER emaillog_rollup_delete AFTER DELETE ON emaillog
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_rollup()
    """,
    """
    CREATE TRIGGER emaillog_rollup_update AFTER UPDATE ON emaillog
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_rollup()
    """,
]


def _sqlite_remove(row: str) -> str:
    return f"""
        UPDATE emailrollup
           SET sent = sent - 1, {", ".join(f"{f} = {f} - {row}.{f}" for f in FLAGS)}
         WHERE {row}.status = 'sent'
           AND pipeline_id = (SELECT pipeline_id FROM deal WHERE id = {row}.deal_id);
    """


def _sqlite_add(row: str) -> str:
    return f"""
        INSERT OR IGNORE INTO emailrollup (pipeline_id, sent, {", ".join(FLAGS)})
        SELECT pipeline_id, 0, 0, 0, 0, 0 FROM deal
         WHERE id = {row}.deal_id AND {row}.status = 'sent';
        UPDATE emailrollup
           SET sent = sent + 1, {", ".join(f"{f} = {f} + {row}.{f}" for f in FLAGS)}
         WHERE {row}.status = 'sent'
           AND pipeline_id = (SELECT pipeline_id FROM deal WHERE id = {row}.deal_id);
    """


SQLITE = [
    f"""
    CREATE TRIGGER emaillog_rollup_insert AFTER INSERT ON emaillog
    BEGIN {_sqlite_add("NEW")} END
    """,
    f"""
    CREATE TRIGGER emaillog_rollup_delete AFTER DELETE ON emaillog
    BEGIN {_sqlite_remove("OLD")} END
    """,
    f"""
    CREATE TRIGGER emaillog_rollup_update AFTER UPDATE OF {", ".join(WATCHED)} ON emaillog
    WHEN {" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)}
    BEGIN {_sqlite_remove("OLD")} {_sqlite_add("NEW")} END
    """,
]

BACKFILL = f"""
    INSERT INTO emailrollup (pipeline_id, sent, {", ".join(FLAGS)})
    SELECT d.pipeline_id, count(*), {", ".join(f"sum(CASE WHEN l.{f} THEN 1 ELSE 0 END)" for f in FLAGS)}
      FROM emaillog l JOIN deal d ON d.id = l.deal_id
     WHERE l.status = 'sent'
     GROUP BY d.pipeline_id
"""


def upgrade() -> None:
    op.create_table(
        "emailrollup",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ("sent", *FLAGS)),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"]),
        sa.PrimaryKeyConstraint("pipeline_id"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES if postgres else SQLITE:
        op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER emaillog_rollup_{name} ON emaillog")
        op.execute("DROP FUNCTION emaillog_rollup()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER emaillog_rollup_{name}")
    op.drop_table("emailrollup")
