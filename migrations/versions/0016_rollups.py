"""rollups: the guard's sends per brand and hour; the analytics' deals, stays and AI spend per day

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
opens and clicks.

The analytics (issue 15, item 5: 100,000 deals, 1,000,000 email logs) counted every deal, stay
and AI decision of a cohort per request. Three daily rollups, kept by row triggers (a deal's
row changes one rollup row or two; a statement trigger would run on every update of `deal`):
- `dealdaily`, from `deal`: per day of creation, pipeline, stage, status, tier and (lost deals)
  reason, the deals, those with a value and the sum of the values in cents;
- `stagevisitdaily`, from `dealstagevisit`: per pipeline, day of the deal's creation and stage,
  the distinct deals that entered it (`moved_to_stage_id` 0) and, per stage moved to, the
  distinct deals that moved so and the stays that ended so. "Distinct" is kept by looking for
  the deal's other stays of the stage (`ix_dealstagevisit_deal_stage`); `ix_dealstagevisit_ended`
  serves the median stay, which no rollup can keep;
- `aispenddaily`, from `aidecisionlog`: per day, brand, the deal's pipeline and model, the
  decisions about deals and their tokens.
Days are cut from the stored text on SQLite (its date() rounds to milliseconds). The existing
rows are counted once here.
"""

from collections.abc import Sequence
from dataclasses import dataclass

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


# --- the analytics' rollups: row triggers built from a description ---------------------------
@dataclass(frozen=True)
class Part:
    """What one source row contributes to one rollup row: the rollup's key and measures as
    expressions over the row ({r}: NEW or OLD), when `when` holds of it."""

    table: str
    keys: dict[str, str]
    measures: dict[str, str]
    when: str = "1 = 1"

    def pg(self, r: str, sign: str) -> str:
        keys = ", ".join(self.keys)
        values = [e.format(r=r) for e in self.keys.values()]
        values += [f"{sign}({e.format(r=r)})" for e in self.measures.values()]
        sets = ", ".join(f"{m} = {self.table}.{m} + EXCLUDED.{m}" for m in self.measures)
        return f"""
            INSERT INTO {self.table} ({keys}, {", ".join(self.measures)})
            SELECT {", ".join(values)} WHERE {self.when.format(r=r)}
            ON CONFLICT ({keys}) DO UPDATE SET {sets};"""

    def row(self, r: str) -> str:
        return f"ROW({', '.join(e.format(r=r) for e in self.keys.values())})"

    def _match(self, r: str) -> str:
        keys = " AND ".join(f"{k} = {e.format(r=r)}" for k, e in self.keys.items())
        return f"{self.when.format(r=r)} AND {keys}"

    def sqlite(self, r: str, sign: str) -> str:
        sets = ", ".join(f"{m} = {m} {sign} ({e.format(r=r)})" for m, e in self.measures.items())
        update = f"UPDATE {self.table} SET {sets} WHERE {self._match(r)};"
        if sign == "-":
            return update
        keys = ", ".join(self.keys)
        zeros = ", ".join("0" for _ in self.measures)
        return f"""
            INSERT OR IGNORE INTO {self.table} ({keys}, {", ".join(self.measures)})
            SELECT {", ".join(e.format(r=r) for e in self.keys.values())}, {zeros}
             WHERE {self.when.format(r=r)};
            {update}"""


def _row_triggers(
    name: str, source: str, watched: tuple[str, ...], parts: list[Part], pg: bool
) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS {'DISTINCT FROM' if pg else 'NOT'} NEW.{c}" for c in watched)
    if not pg:
        add = "".join(p.sqlite("NEW", "+") for p in parts)
        remove = "".join(p.sqlite("OLD", "-") for p in parts)
        return [
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {source} BEGIN {add} END",
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {source} BEGIN {remove} END",
            f"""CREATE TRIGGER {name}_update AFTER UPDATE OF {", ".join(watched)} ON {source}
                WHEN {changed} BEGIN {remove} {add} END""",
        ]
    return [
        # An update moving a row between two keys locks the lesser rollup row first, whichever
        # way it moves: two transactions moving deals the opposite ways wait, not deadlock.
        f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND {parts[0].row("NEW")} < {parts[0].row("OLD")} THEN
                {"".join(p.pg("NEW", "") for p in parts)}
                {"".join(p.pg("OLD", "-") for p in parts)}
              ELSE
                IF TG_OP <> 'INSERT' THEN {"".join(p.pg("OLD", "-") for p in parts)} END IF;
                IF TG_OP <> 'DELETE' THEN {"".join(p.pg("NEW", "") for p in parts)} END IF;
              END IF;
              RETURN NULL;
            END $$""",
        f"""CREATE TRIGGER {name}_insert AFTER INSERT ON {source}
            FOR EACH ROW EXECUTE FUNCTION {name}()""",
        f"""CREATE TRIGGER {name}_delete AFTER DELETE ON {source}
            FOR EACH ROW EXECUTE FUNCTION {name}()""",
        f"""CREATE TRIGGER {name}_update AFTER UPDATE OF {", ".join(watched)} ON {source}
            FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}()""",
    ]


def _day(column: str, pg: bool) -> str:
    return f"({column})::date" if pg else f"substr({column}, 1, 10)"


def _cents(column: str, pg: bool) -> str:
    if pg:
        return f"coalesce(round({column} * 100), 0)::bigint"
    return f"coalesce(CAST(round({column} * 100) AS INTEGER), 0)"


LOST_REASON = "CASE WHEN {r}.status = 'lost' THEN coalesce({r}.lost_reason, '') ELSE '' END"
DEAL_WATCHED = (
    "created_at", "pipeline_id", "stage_id", "status", "engagement_tier", "lost_reason", "value"
)  # fmt: skip
# A stay's entry counts by its deal and stage; its move also by where and when it ended (a
# stay ending fires only the moves' trigger).
VISIT_WATCHED = ("deal_id", "pipeline_id", "stage_id", "deal_created_at")
MOVE_WATCHED = (*VISIT_WATCHED, "left_at", "moved_to_stage_id")
DECISION_WATCHED = (
    "created_at", "brand_id", "deal_id", "model", "prompt_tokens", "completion_tokens"
)  # fmt: skip
OTHER_STAY = """NOT EXISTS (SELECT 1 FROM dealstagevisit o WHERE o.deal_id = {{r}}.deal_id
                AND o.stage_id = {{r}}.stage_id AND o.id <> {{r}}.id{extra})"""
DEAL_PIPELINE = "(SELECT pipeline_id FROM deal WHERE id = {r}.deal_id)"


def _deal_parts(pg: bool) -> list[Part]:
    return [
        Part(
            "dealdaily",
            {
                "day": _day("{r}.created_at", pg),
                "pipeline_id": "{r}.pipeline_id",
                "stage_id": "{r}.stage_id",
                "status": "{r}.status",
                "engagement_tier": "{r}.engagement_tier",
                "lost_reason": LOST_REASON,
            },
            {
                "deals": "1",
                "valued": "CASE WHEN {r}.value IS NOT NULL THEN 1 ELSE 0 END",
                "value_cents": _cents("{r}.value", pg),
            },
        )
    ]


def _visit_keys(pg: bool) -> dict[str, str]:
    return {
        "pipeline_id": "{r}.pipeline_id",
        "day": _day("{r}.deal_created_at", pg),
        "stage_id": "{r}.stage_id",
    }


def _visit_parts(pg: bool) -> list[Part]:
    first = f"CASE WHEN {OTHER_STAY.format(extra='')} THEN 1 ELSE 0 END"
    return [
        Part(
            "stagevisitdaily",
            {**_visit_keys(pg), "moved_to_stage_id": "0"},
            {"deals": first, "stays": "0"},
        )
    ]


def _move_parts(pg: bool) -> list[Part]:
    same_move = " AND o.moved_to_stage_id = {r}.moved_to_stage_id"
    first_move = f"CASE WHEN {OTHER_STAY.format(extra=same_move)} THEN 1 ELSE 0 END"
    return [
        Part(
            "stagevisitdaily",
            {**_visit_keys(pg), "moved_to_stage_id": "{r}.moved_to_stage_id"},
            {"deals": first_move, "stays": "CASE WHEN {r}.left_at IS NOT NULL THEN 1 ELSE 0 END"},
            when="{r}.moved_to_stage_id IS NOT NULL",
        )
    ]


def _decision_parts(pg: bool) -> list[Part]:
    return [
        Part(
            "aispenddaily",
            {
                "day": _day("{r}.created_at", pg),
                "brand_id": "coalesce({r}.brand_id, 0)",
                "pipeline_id": DEAL_PIPELINE,
                "model": "{r}.model",
            },
            {
                "calls": "1",
                "prompt_tokens": "coalesce({r}.prompt_tokens, 0)",
                "completion_tokens": "coalesce({r}.completion_tokens, 0)",
            },
            when=f"{DEAL_PIPELINE} IS NOT NULL",
        )
    ]


ANALYTICS_BACKFILL = [
    f"""
    INSERT INTO dealdaily (day, pipeline_id, stage_id, status, engagement_tier, lost_reason,
                           deals, valued, value_cents)
    SELECT {{day}}, pipeline_id, stage_id, status, engagement_tier, {LOST_REASON.format(r="deal")},
           count(*), count(value), sum({{cents}})
      FROM deal GROUP BY 1, 2, 3, 4, 5, 6
    """,
    """
    INSERT INTO stagevisitdaily (pipeline_id, day, stage_id, moved_to_stage_id, deals, stays)
    SELECT pipeline_id, {visit_day}, stage_id, 0, count(DISTINCT deal_id), 0
      FROM dealstagevisit GROUP BY 1, 2, 3
    UNION ALL
    SELECT pipeline_id, {visit_day}, stage_id, moved_to_stage_id, count(DISTINCT deal_id),
           count(left_at)
      FROM dealstagevisit WHERE moved_to_stage_id IS NOT NULL GROUP BY 1, 2, 3, 4
    """,
    """
    INSERT INTO aispenddaily (day, brand_id, pipeline_id, model, calls, prompt_tokens,
                              completion_tokens)
    SELECT {decision_day}, coalesce(a.brand_id, 0), d.pipeline_id, a.model, count(*),
           coalesce(sum(a.prompt_tokens), 0), coalesce(sum(a.completion_tokens), 0)
      FROM aidecisionlog a JOIN deal d ON d.id = a.deal_id GROUP BY 1, 2, 3, 4
    """,
]


def _analytics_upgrade(pg: bool) -> None:
    def day_column(name: str) -> sa.Column[object]:
        return sa.Column(name, sa.Date(), nullable=False)

    def counts(*names: str, big: tuple[str, ...] = ()) -> list[sa.Column[object]]:
        return [sa.Column(n, sa.BigInteger() if n in big else sa.Integer(), nullable=False)
                for n in names]  # fmt: skip

    op.create_table(
        "dealdaily",
        day_column("day"),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("engagement_tier", sa.String(length=20), nullable=False),
        sa.Column("lost_reason", sa.String(), nullable=False),
        *counts("deals", "valued", "value_cents", big=("value_cents",)),
        sa.PrimaryKeyConstraint(
            "day", "pipeline_id", "stage_id", "status", "engagement_tier", "lost_reason"
        ),
    )
    op.create_table(
        "stagevisitdaily",
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        day_column("day"),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("moved_to_stage_id", sa.Integer(), nullable=False),
        *counts("deals", "stays"),
        sa.PrimaryKeyConstraint("pipeline_id", "day", "stage_id", "moved_to_stage_id"),
    )
    op.create_table(
        "aispenddaily",
        day_column("day"),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        *counts(
            "calls",
            "prompt_tokens",
            "completion_tokens",
            big=("prompt_tokens", "completion_tokens"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("day", "brand_id", "pipeline_id", "model"),
    )
    op.create_index(
        "ix_dealstagevisit_ended",
        "dealstagevisit",
        ["pipeline_id", "deal_created_at", "stage_id", "entered_at", "left_at"],
        postgresql_where=sa.text("left_at IS NOT NULL"),
        sqlite_where=sa.text("left_at IS NOT NULL"),
    )
    for name, source, watched, parts in ANALYTICS_TRIGGERS:
        for statement in _row_triggers(name, source, watched, parts(pg), pg):
            op.execute(statement)
    days = {
        "day": _day("created_at", pg),
        "cents": _cents("value", pg),
        "visit_day": _day("deal_created_at", pg),
        "decision_day": _day("a.created_at", pg),
    }
    for statement in ANALYTICS_BACKFILL:
        op.execute(statement.format(**days))


ANALYTICS_TRIGGERS = [
    ("deal_daily", "deal", DEAL_WATCHED, _deal_parts),
    ("stage_visit_daily", "dealstagevisit", VISIT_WATCHED, _visit_parts),
    ("stage_move_daily", "dealstagevisit", MOVE_WATCHED, _move_parts),
    ("ai_spend_daily", "aidecisionlog", DECISION_WATCHED, _decision_parts),
]


def _analytics_downgrade(pg: bool) -> None:
    for name, source, _watched, _parts in ANALYTICS_TRIGGERS:
        for kind in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {name}_{kind}" + (f" ON {source}" if pg else ""))
        if pg:
            op.execute(f"DROP FUNCTION {name}()")
    op.drop_index("ix_dealstagevisit_ended", table_name="dealstagevisit")
    for table in ("aispenddaily", "stagevisitdaily", "dealdaily"):
        op.drop_table(table)


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
    _analytics_upgrade(postgres)


def downgrade() -> None:
    _analytics_downgrade(op.get_bind().dialect.name == "postgresql")
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
