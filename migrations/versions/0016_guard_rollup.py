"""brandsendhour: each brand's sends and bounces per UTC hour, kept by triggers on emaillog

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 09:10:00

The deliverability guard counted a brand's sent emails of the last seven days on every send,
under the brand's row lock: about 25 ms at 100,000 sends a week, growing with the volume. The
triggers keep one row per brand and UTC hour instead (`hour`: whole hours since 1970-01-01),
in the transaction that changes an email log, as `emailrollup` (0010) and `emaildaily` (0015)
do: an email contributes (1, bounced) to its brand's hour of `sent_at` while its status is
`sent` and it has a `sent_at`. The guard sums the whole hours of its window (168 rows) and
counts the email logs of the part hour at its start (`ix_emaillog_brand_sent`).
`ix_emailevent_flagged` finds a brand's complaints and unsubscribes of the window among its
opens and clicks. The existing rows are counted once here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = ("status", "brand_id", "sent_at", "bounced")
FLAGGED_EVENTS = "event_type IN ('complaint', 'unsubscribe')"
PG_HOUR = "floor(extract(epoch FROM {row}.sent_at) / 3600)::int"
# SQLite keeps times in milliseconds: 08:59:59.9999 would round into the next hour. The hour
# is cut from the stored text instead ('YYYY-MM-DD HH').
SQLITE_HOUR = "(CAST(strftime('%s', substr({row}.sent_at, 1, 13) || ':00:00') AS INTEGER) / 3600)"
COUNTED = "{row}.status = 'sent' AND {row}.sent_at IS NOT NULL"


# --- PostgreSQL: statement triggers over transition tables (as in 0010, 0015) --------------
def _pg_contributions(rows: str, sign: str) -> str:
    return f"""
        SELECT r.brand_id, {PG_HOUR.format(row="r")} AS hour, {sign}count(*) AS sent,
               {sign}sum(r.bounced::int) AS bounced
          FROM {rows} r
         WHERE {COUNTED.format(row="r")}
         GROUP BY 1, 2
    """


def _pg_apply(*parts: str) -> str:
    union = " UNION ALL ".join(parts)
    return f"""
        INSERT INTO brandsendhour (brand_id, hour, sent, bounced)
        SELECT brand_id, hour, sum(sent), sum(bounced)
          FROM ({union}) AS delta
         GROUP BY brand_id, hour
        HAVING sum(sent) <> 0 OR sum(bounced) <> 0
        ON CONFLICT (brand_id, hour) DO UPDATE
           SET sent = brandsendhour.sent + EXCLUDED.sent,
               bounced = brandsendhour.bounced + EXCLUDED.bounced
    """


POSTGRES = [
    f"""
    CREATE FUNCTION emaillog_send_hour() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        {_pg_apply(_pg_contributions("new_rows", ""))};
      ELSIF TG_OP = 'DELETE' THEN
        {_pg_apply(_pg_contributions("old_rows", "-"))};
      ELSE
        {_pg_apply(_pg_contributions("new_rows", ""), _pg_contributions("old_rows", "-"))};
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER emaillog_send_hour_insert AFTER INSERT ON emaillog
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_send_hour()
    """,
    """
    CREATE TRIGGER emaillog_send_hour_delete AFTER DELETE ON emaillog
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_send_hour()
    """,
    """
    CREATE TRIGGER emaillog_send_hour_update AFTER UPDATE ON emaillog
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_send_hour()
    """,
]


# --- SQLite: row triggers --------------------------------------------------------------------
def _sqlite_key(row: str) -> str:
    return f"brand_id = {row}.brand_id AND hour = {SQLITE_HOUR.format(row=row)}"


def _sqlite_remove(row: str) -> str:
    return f"""
        UPDATE brandsendhour SET sent = sent - 1, bounced = bounced - {row}.bounced
         WHERE {COUNTED.format(row=row)} AND {_sqlite_key(row)};
    """


def _sqlite_add(row: str) -> str:
    return f"""
        INSERT OR IGNORE INTO brandsendhour (brand_id, hour, sent, bounced)
        SELECT {row}.brand_id, {SQLITE_HOUR.format(row=row)}, 0, 0
         WHERE {COUNTED.format(row=row)};
        UPDATE brandsendhour SET sent = sent + 1, bounced = bounced + {row}.bounced
         WHERE {COUNTED.format(row=row)} AND {_sqlite_key(row)};
    """


SQLITE = [
    f"""
    CREATE TRIGGER emaillog_send_hour_insert AFTER INSERT ON emaillog
    BEGIN {_sqlite_add("NEW")} END
    """,
    f"""
    CREATE TRIGGER emaillog_send_hour_delete AFTER DELETE ON emaillog
    BEGIN {_sqlite_remove("OLD")} END
    """,
    f"""
    CREATE TRIGGER emaillog_send_hour_update AFTER UPDATE OF {", ".join(WATCHED)} ON emaillog
    WHEN {" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)}
    BEGIN {_sqlite_remove("OLD")} {_sqlite_add("NEW")} END
    """,
]

BACKFILL = """
    INSERT INTO brandsendhour (brand_id, hour, sent, bounced)
    SELECT l.brand_id, {hour}, count(*), sum(CASE WHEN l.bounced THEN 1 ELSE 0 END)
      FROM emaillog l
     WHERE l.status = 'sent' AND l.sent_at IS NOT NULL
     GROUP BY 1, 2
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "brandsendhour",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("bounced", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", "hour"),
    )
    for statement in POSTGRES if postgres else SQLITE:
        op.execute(statement)
    op.execute(BACKFILL.format(hour=(PG_HOUR if postgres else SQLITE_HOUR).format(row="l")))
    op.create_index(
        "ix_emaillog_brand_sent",
        "emaillog",
        ["brand_id", "sent_at", "bounced"],
        postgresql_where=sa.text("status = 'sent'"),
        sqlite_where=sa.text("status = 'sent'"),
    )
    op.create_index(
        "ix_emailevent_flagged",
        "emailevent",
        ["brand_id", "occurred_at", "event_type", "email"],
        postgresql_where=sa.text(FLAGGED_EVENTS),
        sqlite_where=sa.text(FLAGGED_EVENTS),
    )


def downgrade() -> None:
    op.drop_index("ix_emailevent_flagged", table_name="emailevent")
    op.drop_index("ix_emaillog_brand_sent", table_name="emaillog")
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER emaillog_send_hour_{name} ON emaillog")
        op.execute("DROP FUNCTION emaillog_send_hour()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER emaillog_send_hour_{name}")
    op.drop_table("brandsendhour")
