"""The REST API's lists and stats at production size, on PostgreSQL.

    .venv/bin/python -m bench.api_scale [--deals 100000] [--contacts 20000] [--logs 1000000]
                                        [--requests 30] [--explain]

A fresh PostgreSQL database is filled with SQL (`generate_series`, a few seconds per million
rows): `--contacts` contacts over both brands, `--deals` deals over every pipeline and stage,
`--logs` email logs spread over the deals, a third as many events (opens, clicks, replies, a
few unmatched), one AI decision per deal, suppressions and drafts. Then every list and stats
endpoint is called in-process (Starlette's TestClient, an API key) with its main filters,
`--requests` times each after a warm-up, over the first ten pages of 50 (where people read;
one row shows deep pages); each figure is a whole request in milliseconds (routing, auth,
queries, serialisation). Totals are counted up to 10,000 (models.pagination.COUNT_CAP).

The baseline is `GET /healthz` of the same app in the same run. Target (issue 15): p95 under
100 ms for each row. `--explain` also prints, for each row, the plan's scans of the big tables
(`EXPLAIN` of the statements the request ran, captured as it ran them): an index scan is what
the main filters should show; a sequential scan over a big table is flagged.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from api import create_app
from bench.common import LOCAL_POSTGRES, fresh_postgres, seeded, table
from bench.results import record
from dealpilot.core.settings import Settings
from models.pagination import encode_cursor

BIG = ("deal", "contact", "emaillog", "emailevent", "aidecisionlog")

FILL = [
    # contacts, half per brand
    """
    INSERT INTO contact (brand_id, email, name, company, website, phone, contact_type, source,
                         tags, notes, created_at, updated_at)
    SELECT b.id, 'lead' || g || '@' || b.slug || '.bench.example', 'Lead ' || g,
           'Company ' || (g % 997), '', '', 'lead', 'bench', '["bench"]'::json, '',
           now() - (g || ' minutes')::interval, now()
    FROM generate_series(1, :contacts) g
    JOIN (SELECT id, slug, row_number() OVER (ORDER BY id) - 1 AS k FROM brand) b
      ON b.k = g % 2
    """,
    # deals: each contact in several pipelines of its brand, stages spread
    """
    WITH c AS (SELECT id, brand_id, row_number() OVER (ORDER BY id) - 1 AS k FROM contact),
         p AS (SELECT id, brand_id, row_number() OVER (PARTITION BY brand_id ORDER BY id) - 1
                      AS k, count(*) OVER (PARTITION BY brand_id) AS n FROM pipeline),
         s AS (SELECT id, pipeline_id,
                      row_number() OVER (PARTITION BY pipeline_id ORDER BY "order") - 1 AS k,
                      count(*) OVER (PARTITION BY pipeline_id) AS n FROM pipelinestage)
    INSERT INTO deal (contact_id, pipeline_id, stage_id, status, engagement_tier,
                      next_action_at, next_action_reason, stage_entered_at, lost_reason,
                      ai_notes, workflow_id, created_at, updated_at)
    SELECT c.id, p.id, s.id,
           (ARRAY['active','active','active','paused','won','lost'])[1 + g % 6],
           (ARRAY['new','engaged','hot','warm','lurker','cold','ghost'])[1 + g % 7],
           now() + ((g % 240) || ' hours')::interval, 'follow-up', now(), '', '',
           'deal-bench-' || g, now() - (g || ' seconds')::interval, now()
    FROM generate_series(1, :deals) g
    JOIN c ON c.k = g % :contacts
    JOIN p ON p.brand_id = c.brand_id AND p.k = (g / :contacts) % p.n
    JOIN s ON s.pipeline_id = p.id AND s.k = g % s.n
    """,
    # email logs, spread over the deals
    """
    INSERT INTO emaillog (idempotency_key, brand_id, deal_id, contact_id, stage_id, to_email,
                          provider, message_id, subject, body, body_text, variant, status,
                          error, ai_generated, sent_at, opened, clicked, replied, bounced,
                          machine_opened, created_at)
    SELECT 'bench-' || g, p.brand_id, d.id, d.contact_id, d.stage_id,
           'lead' || d.contact_id || '@bench.example', 'outbox',
           '<bench-' || g || '@bench.example>', 'Subject ' || (g % 50),
           repeat('Body text of a bench email. ', 12), repeat('Body text. ', 12),
           (ARRAY['', 'A', 'B'])[1 + g % 3],
           (ARRAY['sent','sent','sent','sent','unknown','failed'])[1 + g % 6], '', false,
           now() - (g || ' seconds')::interval, g % 3 = 0, g % 11 = 0, g % 17 = 0,
           g % 50 = 0, g % 13 = 0, now() - (g || ' seconds')::interval
    FROM generate_series(1, :logs) g
    JOIN (SELECT id, contact_id, stage_id, pipeline_id,
                 row_number() OVER (ORDER BY id) - 1 AS k FROM deal) d ON d.k = g % :deals
    JOIN pipeline p ON p.id = d.pipeline_id
    """,
    # events on a third of the logs; every 40th unmatched
    """
    INSERT INTO emailevent (brand_id, email_log_id, deal_id, event_type, source, dedupe_key,
                            email, url, is_bot, payload, occurred_at, delivered_at, created_at)
    SELECT CASE WHEN l.id % 40 = 0 THEN NULL ELSE l.brand_id END,
           CASE WHEN l.id % 40 = 0 THEN NULL ELSE l.id END,
           CASE WHEN l.id % 40 = 0 THEN NULL ELSE l.deal_id END,
           (ARRAY['open','click','reply','bounce'])[1 + l.id % 4], 'bench', 'bench-' || l.id,
           l.to_email, NULL, false, '{}'::json, l.created_at,
           CASE WHEN l.id % 97 = 0 THEN NULL ELSE l.created_at END, l.created_at
    FROM emaillog l WHERE l.id % 3 = 0
    """,
    # one AI decision per deal
    """
    INSERT INTO aidecisionlog (brand_id, deal_id, decision_type, reasoning, action_taken,
                               metadata, model, prompt_tokens, completion_tokens, latency_ms,
                               created_at)
    SELECT p.brand_id, d.id,
           (ARRAY['analyse_deal','classify_reply','score_engagement'])[1 + d.id % 3],
           'Bench reasoning.', 'wait', '{}'::json, 'heuristic', 100, 50, 10,
           now() - (d.id || ' seconds')::interval
    FROM deal d JOIN pipeline p ON p.id = d.pipeline_id
    """,
    """
    INSERT INTO suppression (brand_id, email, reason, detail, created_at)
    SELECT brand_id, email, 'unsubscribed', '', now() FROM contact WHERE id % 10 = 0
    """,
    # drafts: review holds on deals and suggested replies
    """
    INSERT INTO emaildraft (brand_id, pipeline_id, deal_id, email_type, tone, recipients,
                            subject, body, status, ai_generated, created_at, updated_at,
                            timezone, contact_id, stage_id, step, variant, review_note, kind)
    SELECT p.brand_id, d.pipeline_id, d.id, 'follow_up', 'friendly', '[]'::json, 'Draft',
           'Draft body', (ARRAY['pending_review','draft'])[1 + d.id % 2], true, now(), now(),
           'Australia/Sydney', d.contact_id, d.stage_id, 1, '', '',
           (ARRAY['review','reply'])[1 + d.id % 2]
    FROM deal d JOIN pipeline p ON p.id = d.pipeline_id WHERE d.id % 20 = 0
    """,
    # analytics: a third of the deals moved on one stage (the triggers record the stays)
    """
    UPDATE deal d SET stage_id = s2.id, stage_entered_at = d.created_at + interval '2 hours'
      FROM pipelinestage s1
      JOIN pipelinestage s2 ON s2.pipeline_id = s1.pipeline_id AND s2."order" = s1."order" + 1
     WHERE d.stage_id = s1.id AND d.id % 3 = 0
    """,
    "UPDATE deal SET value = (id % 50) * 100 WHERE id % 4 <> 0",
    # analytics: ghost, burnout and change-of-approach decisions on a tenth of the deals
    """
    INSERT INTO aidecisionlog (brand_id, deal_id, decision_type, reasoning, action_taken,
                               metadata, model, prompt_tokens, completion_tokens, latency_ms,
                               created_at)
    SELECT p.brand_id, d.id, (ARRAY['ghost','burnout','analyze_deal'])[1 + d.id % 3],
           'Bench.', (ARRAY['closed_lost','wait_7_days','change_approach'])[1 + d.id % 3],
           '{}'::json, 'gpt-4o-mini', 800, 200, 10, now() - (d.id || ' seconds')::interval
    FROM deal d JOIN pipeline p ON p.id = d.pipeline_id WHERE d.id % 10 = 0
    """,
    # analytics: complaints and unsubscribes on one email in 500
    """
    INSERT INTO emailevent (brand_id, email_log_id, deal_id, event_type, source, dedupe_key,
                            email, url, is_bot, payload, occurred_at, delivered_at, created_at)
    SELECT l.brand_id, l.id, l.deal_id, (ARRAY['complaint','unsubscribe'])[1 + l.id % 2],
           'bench', 'bench-cu-' || l.id, l.to_email, NULL, false, '{}'::json, l.created_at,
           l.created_at, l.created_at
    FROM emaillog l WHERE l.id % 500 = 0
    """,
]


def fill(engine: Engine, deals: int, contacts: int, logs: int) -> None:
    params = {"deals": deals, "contacts": contacts, "logs": logs}
    with engine.begin() as conn:
        for statement in FILL:
            started = time.monotonic()
            count = conn.execute(sa.text(statement), params).rowcount
            target = re.search(r"(?:INSERT INTO|UPDATE) (\w+)", statement)
            name = target.group(1) if target else "?"
            print(f"  {name}: {count:,} rows in {time.monotonic() - started:.1f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


@contextmanager
def kept_postgres(name: str) -> Iterator[str]:
    admin = sa.create_engine(LOCAL_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield make_url(LOCAL_POSTGRES).set(database=name).render_as_string(hide_password=False)


def filled(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT count(*) FROM emaillog")).scalar_one())


def requests(engine: Engine) -> dict[str, list[str]]:
    """Each row of the table: a name and the paths it cycles through (pages, filters)."""
    with engine.connect() as conn:
        brand = conn.execute(sa.text("SELECT slug FROM brand ORDER BY id LIMIT 1")).scalar_one()
        pipeline, stage = conn.execute(
            sa.text(
                "SELECT d.pipeline_id, d.stage_id FROM deal d GROUP BY 1, 2 "
                "ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        deal_ids = conn.execute(sa.text("SELECT id FROM deal ORDER BY id LIMIT 40")).scalars()
        deal_list = list(deal_ids)
        contact = conn.execute(sa.text("SELECT min(contact_id) FROM deal")).scalar_one()
        # Deep pages: 20,000 rows in (half way in a smaller fill), by offset and by the
        # cursors a client following `next_after` holds at the same depths.
        total = conn.execute(sa.text("SELECT count(*) FROM deal")).scalar_one()
        depth = min(20_000, total // 2)
        cursors = [
            encode_cursor(*conn.execute(
                sa.text("SELECT created_at, id FROM deal ORDER BY created_at DESC, id DESC "
                        "OFFSET :skip LIMIT 1"), {"skip": depth + k * 50 - 1}).one())
            for k in range(10)
        ]  # fmt: skip
    pages = [f"limit=50&offset={k * 50}" for k in range(10)]

    def paged(path: str) -> list[str]:
        joiner = "&" if "?" in path else "?"
        return [f"{path}{joiner}{p}" for p in pages]

    api = "/api/crm"
    return {
        "bare: GET /healthz": ["/healthz"],
        "deals": paged(f"{api}/deals/"),
        "deals ?brand": paged(f"{api}/deals/?brand={brand}"),
        "deals ?pipeline&stage": paged(f"{api}/deals/?pipeline={pipeline}&stage={stage}"),
        "deals ?status=paused": paged(f"{api}/deals/?status=paused"),
        "deals ?tier=hot": paged(f"{api}/deals/?tier=hot"),
        f"deals, deep pages (offset {depth:,}+)": [
            f"{api}/deals/?limit=50&offset={depth + k * 50}" for k in range(10)
        ],
        f"deals, deep pages by key (?after=, {depth:,}+)": [
            f"{api}/deals/?limit=50&after={c}" for c in cursors
        ],
        "deals ?contact": [f"{api}/deals/?contact={contact}"],
        "deals ?has_workflow=false": paged(f"{api}/deals/?has_workflow=false"),
        "deal by id": [f"{api}/deals/{d}/" for d in deal_list],
        "contacts ?brand": paged(f"{api}/contacts/?brand={brand}"),
        "contacts ?search": [f"{api}/contacts/?search=lead{n}" for n in range(100, 140)],
        "email-logs": paged(f"{api}/email-logs/"),
        "email-logs ?brand&status": paged(f"{api}/email-logs/?brand={brand}&status=failed"),
        "email-logs ?deal": [f"{api}/email-logs/?deal={d}" for d in deal_list],
        "email-logs ?pipeline&variant": paged(f"{api}/email-logs/?pipeline={pipeline}&variant=B"),
        "email-logs ?stage": paged(f"{api}/email-logs/?stage={stage}"),
        "events": paged(f"{api}/events/"),
        "events ?unmatched": paged(f"{api}/events/?unmatched=true"),
        "events ?pending": paged(f"{api}/events/?pending=true"),
        "events ?deal": [f"{api}/events/?deal={d}" for d in deal_list],
        "ai-activity ?brand": paged(f"{api}/ai-activity/?brand={brand}"),
        "ai-activity/{deal}": [f"{api}/ai-activity/{d}/" for d in deal_list],
        "suppressions ?brand": paged(f"{api}/suppressions/?brand={brand}"),
        "review": paged(f"{api}/review/"),
        "review/replies": paged(f"{api}/review/replies/"),
        "composer/drafts": paged(f"{api}/composer/drafts/"),
        "stats": [f"{api}/stats/"],
        "stats ?brand": [f"{api}/stats/?brand={brand}"],
        "stats ?pipeline": [f"{api}/stats/?pipeline={pipeline}"],
        "stats/daily ?brand": [f"{api}/stats/daily/?brand={brand}"],
        # Analytics over the default range (the last 30 days: every bench row).
        **{
            f"analytics/{section}{label}": [f"{api}/analytics/{section}/{query}"]
            for section in ("funnel", "emails", "ab-tests", "engagement", "revenue")
            for label, query in (
                ("", ""),
                (" ?brand", f"?brand={brand}"),
                (" ?pipeline", f"?pipeline={pipeline}"),
            )
        },
        "analytics/emails ?format=csv": [
            f"{api}/analytics/emails/?format=csv&table=by_stage&brand={brand}"
        ],
    }


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plan_of(engine: Engine, statements: list[tuple[str, Any]]) -> str:
    """The scans of the big tables in the plans of what one request ran."""
    scans: list[str] = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN " + statement, parameters)
            for (line,) in cursor.fetchall():
                found = re.search(
                    r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan)"
                    r"(?: using \w+)? on (\w+)",
                    line,
                )
                if found and found.group(2) in BIG:
                    kind = "SEQ" if found.group(1) == "Seq Scan" else "idx"
                    scans.append(f"{kind} {found.group(2)}")
        raw.rollback()
    finally:
        raw.close()
    return ", ".join(sorted(set(scans))) or "-"


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def run(engine: Engine, n: int, explain: bool) -> list[list[object]]:
    app = create_app(engine=engine, api_keys={"bench"}, settings=Settings(DEALPILOT_ENV="test"))
    rows: list[list[object]] = []
    with TestClient(app, headers={"Authorization": "Bearer bench"}) as client:
        base = 0.0
        for name, paths in requests(engine).items():
            for path in paths[:3]:  # warm-up: plans cached, pool filled
                answer = client.get(path)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            times = []
            for i in range(n):
                started = time.perf_counter()
                answer = client.get(paths[i % len(paths)])
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (name, answer.status_code)
            p50, p95 = percentiles(times)
            base = base or p50
            row: list[object] = [name, p50, p95, p50 / base, "yes" if p95 < 100 else "NO"]
            if explain:
                with captured(engine) as statements:
                    client.get(paths[len(paths) // 2])
                row.append(plan_of(engine, statements))
            rows.append(row)
            print(f"  {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="fill database NAME on the local server once and keep it (to look at plans)",
    )
    args = parser.parse_args()
    with kept_postgres(args.keep) if args.keep else fresh_postgres() as url:
        engine = seeded(url)
        try:
            started = time.monotonic()
            print(
                f"filling: {args.deals:,} deals, {args.contacts:,} contacts, "
                f"{args.logs:,} email logs",
                flush=True,
            )
            if not args.keep or not filled(engine):
                fill(engine, args.deals, args.contacts, args.logs)
            print(f"filled in {time.monotonic() - started:.0f} s", flush=True)
            rows = run(engine, args.requests, args.explain)
        finally:
            engine.dispose()
    header = ["endpoint", "p50 ms", "p95 ms", "p50 / bare", "p95 < 100"]
    print(table(header + (["scans of big tables"] if args.explain else []), rows))
    bare = rows[0]
    for name, p50, p95, ratio, under, *_ in rows[1:]:
        record(
            "api_scale", f"{name}, p50 ms", value=float(p50), baseline=float(bare[1]),
            unit="ms", baseline_name="GET /healthz", ratio=float(ratio),
            note=f"p95 {p95:.0f} ms, under 100: {under}",
        )  # fmt: skip


if __name__ == "__main__":
    main()
