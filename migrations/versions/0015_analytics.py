"""analytics: stage visits, a daily email rollup, stage probabilities, default deal values

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 06:40:00

- `dealstagevisit`: one row per stay of a deal in a stage, written by triggers on `deal` (a
  row on insert; on a change of `stage_id` the open stay ends, noting where the deal went, and
  a new one starts; each row carries the deal's creation time for cohorts), so the
  funnel sees every move whoever made it (the workflow's mirror, a REST PATCH, a bulk
  update). Entry time is the deal's `stage_entered_at` (the workflow's clock) when the write
  changed it, else the database's clock. Existing deals get one open stay in their current
  stage (their earlier stages were never recorded).
- `emaildaily`: the sent emails' outcomes per UTC day, brand, pipeline, stage, variant and
  kind of body, kept by triggers on `emaillog` exactly like `emailrollup` (0010): the
  analytics' date ranges read thousands of rollup rows instead of a million logs.
- `pipelinestage.probability`, `pipeline.default_deal_value`, an index for the decisions of
  one kind over time, and a covering index for a pipeline's deals created in a range.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = ("opened", "machine_opened", "clicked", "replied", "bounced")
KEYS = ("day", "brand_id", "pipeline_id", "stage_id", "variant", "ai_generated")
WATCHED = ("status", "deal_id", "brand_id", "stage_id", "variant", "ai_generated", "sent_at")
WATCHED += FLAGS


# --- emaildaily, PostgreSQL: statement triggers over transition tables (as in 0010) ---------
def _pg_contributions(rows: str, sign: str) -> str:
    return f"""
        SELECT coalesce(r.sent_at, r.created_at)::date AS day, r.brand_id,
               coalesce(d.pipeline_id, 0) AS pipeline_id, coalesce(r.stage_id, 0) AS stage_id,
               r.variant, r.ai_generated, {sign}count(*) AS sent,
               {", ".join(f"{sign}sum(r.{f}::int) AS {f}" for f in FLAGS)}
          FROM {rows} r LEFT JOIN deal d ON d.id = r.deal_id
         WHERE r.status = 'sent'
         GROUP BY 1, 2, 3, 4, 5, 6
    """


def _pg_apply(*parts: str) -> str:
    union = " UNION ALL ".join(parts)
    keys = ", ".join(KEYS)
    return f"""
        INSERT INTO emaildaily ({keys}, sent, {", ".join(FLAGS)})
        SELECT {keys}, sum(sent), {", ".join(f"sum({f})" for f in FLAGS)}
          FROM ({union}) AS delta
         GROUP BY {keys}
        HAVING sum(sent) <> 0 OR {" OR ".join(f"sum({f}) <> 0" for f in FLAGS)}
        ON CONFLICT ({keys}) DO UPDATE
           SET sent = emaildaily.sent + EXCLUDED.sent,
               {", ".join(f"{f} = emaildaily.{f} + EXCLUDED.{f}" for f in FLAGS)}
    """


POSTGRES_DAILY = [
    f"""
    CREATE FUNCTION emaillog_daily() RETURNS trigger LANGUAGE plpgsql AS $$
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
    CREATE TRIGGER emaillog_daily_insert AFTER INSERT ON emaillog
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_daily()
    """,
    """
    CREATE TRIGGER emaillog_daily_delete AFTER DELETE ON emaillog
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_daily()
    """,
    """
    CREATE TRIGGER emaillog_daily_update AFTER UPDATE ON emaillog
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION emaillog_daily()
    """,
]


# --- emaildaily, SQLite: row triggers ------------------------------------------------------
def _sqlite_key(row: str) -> str:
    return f"""
        day = date(coalesce({row}.sent_at, {row}.created_at)) AND brand_id = {row}.brand_id
        AND pipeline_id = coalesce((SELECT pipeline_id FROM deal WHERE id = {row}.deal_id), 0)
        AND stage_id = coalesce({row}.stage_id, 0) AND variant = {row}.variant
        AND ai_generated = {row}.ai_generated
    """


def _sqlite_remove(row: str) -> str:
    return f"""
        UPDATE emaildaily
           SET sent = sent - 1, {", ".join(f"{f} = {f} - {row}.{f}" for f in FLAGS)}
         WHERE {row}.status = 'sent' AND {_sqlite_key(row)};
    """


def _sqlite_add(row: str) -> str:
    return f"""
        INSERT OR IGNORE INTO emaildaily ({", ".join(KEYS)}, sent, {", ".join(FLAGS)})
        SELECT date(coalesce({row}.sent_at, {row}.created_at)), {row}.brand_id,
               coalesce((SELECT pipeline_id FROM deal WHERE id = {row}.deal_id), 0),
               coalesce({row}.stage_id, 0), {row}.variant, {row}.ai_generated, 0, 0, 0, 0, 0, 0
         WHERE {row}.status = 'sent';
        UPDATE emaildaily
           SET sent = sent + 1, {", ".join(f"{f} = {f} + {row}.{f}" for f in FLAGS)}
         WHERE {row}.status = 'sent' AND {_sqlite_key(row)};
    """


SQLITE_DAILY = [
    f"""
    CREATE TRIGGER emaillog_daily_insert AFTER INSERT ON emaillog
    BEGIN {_sqlite_add("NEW")} END
    """,
    f"""
    CREATE TRIGGER emaillog_daily_delete AFTER DELETE ON emaillog
    BEGIN {_sqlite_remove("OLD")} END
    """,
    f"""
    CREATE TRIGGER emaillog_daily_update AFTER UPDATE OF {", ".join(WATCHED)} ON emaillog
    WHEN {" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)}
    BEGIN {_sqlite_remove("OLD")} {_sqlite_add("NEW")} END
    """,
]

DAILY_BACKFILL = f"""
    INSERT INTO emaildaily ({", ".join(KEYS)}, sent, {", ".join(FLAGS)})
    SELECT {{day}}, l.brand_id, coalesce(d.pipeline_id, 0), coalesce(l.stage_id, 0), l.variant,
           l.ai_generated, count(*),
           {", ".join(f"sum(CASE WHEN l.{f} THEN 1 ELSE 0 END)" for f in FLAGS)}
      FROM emaillog l LEFT JOIN deal d ON d.id = l.deal_id
     WHERE l.status = 'sent'
     GROUP BY 1, 2, 3, 4, 5, 6
"""

# --- dealstagevisit ---------------------------------------------------------------------------
POSTGRES_VISITS = [
    """
    CREATE FUNCTION deal_stage_visit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE at timestamp;
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO dealstagevisit (deal_id, pipeline_id, stage_id, deal_created_at, entered_at)
        VALUES (NEW.id, NEW.pipeline_id, NEW.stage_id, NEW.created_at, NEW.stage_entered_at);
      ELSE
        at := CASE WHEN NEW.stage_entered_at IS DISTINCT FROM OLD.stage_entered_at
                   THEN NEW.stage_entered_at ELSE (now() AT TIME ZONE 'UTC') END;
        UPDATE dealstagevisit SET left_at = at, moved_to_stage_id = NEW.stage_id
         WHERE deal_id = NEW.id AND left_at IS NULL;
        INSERT INTO dealstagevisit (deal_id, pipeline_id, stage_id, deal_created_at, entered_at)
        VALUES (NEW.id, NEW.pipeline_id, NEW.stage_id, NEW.created_at, at);
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER deal_stage_visit_insert AFTER INSERT ON deal
    FOR EACH ROW EXECUTE FUNCTION deal_stage_visit()
    """,
    """
    CREATE TRIGGER deal_stage_visit_update AFTER UPDATE OF stage_id ON deal
    FOR EACH ROW WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION deal_stage_visit()
    """,
]

_SQLITE_AT = """CASE WHEN NEW.stage_entered_at IS NOT OLD.stage_entered_at
                THEN NEW.stage_entered_at ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') END"""

SQLITE_VISITS = [
    """
    CREATE TRIGGER deal_stage_visit_insert AFTER INSERT ON deal
    BEGIN
      INSERT INTO dealstagevisit (deal_id, pipeline_id, stage_id, deal_created_at, entered_at)
      VALUES (NEW.id, NEW.pipeline_id, NEW.stage_id, NEW.created_at, NEW.stage_entered_at);
    END
    """,
    f"""
    CREATE TRIGGER deal_stage_visit_update AFTER UPDATE OF stage_id ON deal
    WHEN OLD.stage_id IS NOT NEW.stage_id
    BEGIN
      UPDATE dealstagevisit SET left_at = {_SQLITE_AT}, moved_to_stage_id = NEW.stage_id
       WHERE deal_id = NEW.id AND left_at IS NULL;
      INSERT INTO dealstagevisit (deal_id, pipeline_id, stage_id, deal_created_at, entered_at)
      VALUES (NEW.id, NEW.pipeline_id, NEW.stage_id, NEW.created_at, {_SQLITE_AT});
    END
    """,
]

VISITS_BACKFILL = """
    INSERT INTO dealstagevisit (deal_id, pipeline_id, stage_id, deal_created_at, entered_at)
    SELECT id, pipeline_id, stage_id, created_at, stage_entered_at FROM deal
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("pipeline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_deal_value", sa.Numeric(12, 2), nullable=True))
    with op.batch_alter_table("pipelinestage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("probability", sa.Numeric(4, 3), nullable=True))
    op.create_index(
        "ix_deal_analytics",
        "deal",
        ["pipeline_id", "created_at", "stage_id", "status", "engagement_tier", "value"],
    )
    op.create_index(
        "ix_aidecisionlog_type_action_created",
        "aidecisionlog",
        ["decision_type", "action_taken", "created_at"],
    )

    op.create_table(
        "dealstagevisit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("deal_created_at", sa.DateTime(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.Column("moved_to_stage_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"]),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"]),
        sa.ForeignKeyConstraint(["stage_id"], ["pipelinestage.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dealstagevisit_deal_stage", "dealstagevisit", ["deal_id", "stage_id"])
    op.create_index(
        "ix_dealstagevisit_cohort",
        "dealstagevisit",
        [
            "pipeline_id",
            "deal_created_at",
            "stage_id",
            "deal_id",
            "moved_to_stage_id",
            "entered_at",
            "left_at",
        ],
    )
    op.create_index("ix_dealstagevisit_stage_id", "dealstagevisit", ["stage_id"])

    op.create_table(
        "emaildaily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=1), nullable=False),
        sa.Column("ai_generated", sa.Boolean(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ("sent", *FLAGS)),
        sa.PrimaryKeyConstraint(*KEYS),
    )

    for statement in (
        (POSTGRES_DAILY + POSTGRES_VISITS) if postgres else (SQLITE_DAILY + SQLITE_VISITS)
    ):
        op.execute(statement)
    day = (
        "coalesce(l.sent_at, l.created_at)::date"
        if postgres
        else ("date(coalesce(l.sent_at, l.created_at))")
    )
    op.execute(DAILY_BACKFILL.format(day=day))
    op.execute(VISITS_BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER emaillog_daily_{name} ON emaillog")
        op.execute("DROP FUNCTION emaillog_daily()")
        for name in ("insert", "update"):
            op.execute(f"DROP TRIGGER deal_stage_visit_{name} ON deal")
        op.execute("DROP FUNCTION deal_stage_visit()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER emaillog_daily_{name}")
        for name in ("insert", "update"):
            op.execute(f"DROP TRIGGER deal_stage_visit_{name}")
    op.drop_table("emaildaily")
    op.drop_index("ix_dealstagevisit_stage_id", table_name="dealstagevisit")
    op.drop_index("ix_dealstagevisit_cohort", table_name="dealstagevisit")
    op.drop_index("ix_dealstagevisit_deal_stage", table_name="dealstagevisit")
    op.drop_table("dealstagevisit")
    op.drop_index("ix_aidecisionlog_type_action_created", table_name="aidecisionlog")
    op.drop_index("ix_deal_analytics", table_name="deal")
    with op.batch_alter_table("pipelinestage", schema=None) as batch_op:
        batch_op.drop_column("probability")
    with op.batch_alter_table("pipeline", schema=None) as batch_op:
        batch_op.drop_column("default_deal_value")
