"""Enrolment rate against the raw start rate of the Temporal dev server.

    .venv/bin/python -m bench.enrolment [--n 500] [--concurrency 50]

(a) raw: `client.start_workflow` of a trivial workflow, N starts, `concurrency` in flight.
(b) enrolment: N deals created in SQLite in one transaction (`api.services.deals.create_deal`,
    as a bulk request would), committed, then started with `dealpilot.enrolment.start_deal`
    (search attributes, summaries), `concurrency` in flight. The ratio (b)/(a) is the figure
    to watch (target >= 0.8). No worker runs: a start costs the same with or without one.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Iterable
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.common import DEV_SERVER, Clock, Target, add_contacts, seeded_sqlite, table, target
from dealpilot.enrolment import DealStart, start_deal, workflow_id
from dealpilot.logging import configure_logging
from dealpilot.settings import Settings
from workflows import search_attributes

NOOP = "BenchNoop"  # never executed: starts only need the type name


async def bounded(limit: int, jobs: Iterable[Awaitable[object]]) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[object]) -> None:
        async with gate:
            await job

    await asyncio.gather(*(one(job) for job in jobs))


async def raw_starts(client: Client, n: int, concurrency: int) -> float:
    queue, run = f"bench-raw-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:6]
    clock = Clock()
    await bounded(
        concurrency,
        (client.start_workflow(NOOP, id=f"raw-{run}-{i}", task_queue=queue) for i in range(n)),
    )
    return clock.seconds


def bulk_route(engine: Engine) -> str | None:
    """The API's bulk enrolment route, once it exists (another change adds it)."""
    from api.app import create_app

    app = create_app(engine=engine, api_keys={"bench"})
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.rstrip("/").endswith("/deals/bulk"):
            return str(path)
    return None


def create_deals(
    engine: Engine, tgt: Target, contacts: list[tuple[int, str, str]]
) -> list[DealStart]:
    """One transaction, as one bulk request: every deal row, committed before any start."""
    from api.services.deals import create_deal
    from models import session_scope
    from models.deal import DealCreate

    starts: list[DealStart] = []
    with session_scope(engine) as session:
        for contact_id, email, name in contacts:
            deal = create_deal(
                session, DealCreate(contact_id=contact_id, pipeline_id=tgt.pipeline_id)
            )
            deal.workflow_id = workflow_id(deal.id or 0)
            starts.append(
                DealStart(
                    deal.id or 0, tgt.brand_slug, tgt.pipeline_name, tgt.first_stage, email, name
                )
            )
    return starts


async def enrolment(
    client: Client, engine: Engine, n: int, concurrency: int
) -> tuple[float, float]:
    """(seconds in the database, seconds starting workflows)."""
    tgt = target(engine)
    contacts = add_contacts(engine, tgt.brand_id, n, prefix=f"e{uuid.uuid4().hex[:6]}-")
    queue = f"bench-deals-{uuid.uuid4().hex[:6]}"
    clock = Clock()
    starts = await asyncio.to_thread(create_deals, engine, tgt, contacts)
    db_seconds = clock.seconds
    await bounded(concurrency, (start_deal(client, queue, s) for s in starts))
    return db_seconds, clock.seconds - db_seconds


async def main(n: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="dealpilot-bench-") as tmp:
        engine = seeded_sqlite(Path(tmp) / "dealpilot.db")
        route = bulk_route(engine)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(DEV_SERVER),
            search_attributes=search_attributes.ALL,
            data_converter=pydantic_data_converter,
            dev_server_database_filename=str(Path(tmp) / "temporal.db"),
        )
        try:
            await raw_starts(env.client, 50, concurrency)  # warm-up: connections, namespace cache
            raw = await raw_starts(env.client, n, concurrency)
            db_s, start_s = await enrolment(env.client, engine, n, concurrency)
            raw_again = await raw_starts(env.client, n, concurrency)
        finally:
            await env.shutdown()
            engine.dispose()

    baseline = n / min(raw, raw_again)
    rows = [
        (label, n, secs, n / secs, n / secs / baseline)
        for label, secs in (
            ("raw start_workflow (trivial), 1st", raw),
            ("raw start_workflow (trivial), 2nd", raw_again),
            ("enrolment: start_deal only", start_s),
            ("enrolment: DB rows + start_deal", db_s + start_s),
        )
    ]
    print(f"temporal dev server (file DB), SQLite, {concurrency} starts in flight, no worker")
    print(
        "enrolment path: service (api.services.deals.create_deal + start_deal)"
        + (
            f"; NOTE: {route} exists now but this bench does not drive it yet"
            if route
            else "; no POST /api/crm/deals/bulk/ route exists yet"
        )
    )
    print(f"DB phase: {db_s:.2f}s for {n} deal rows in one transaction")
    print(table(("path", "n", "seconds", "per second", "ratio"), rows))
    print(f"baseline = the faster raw run ({baseline:,.1f}/s); target ratio for enrolment >= 0.80")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    configure_logging(Settings(DEALPILOT_LOG_LEVEL="WARNING"))  # no per-email log lines
    asyncio.run(main(args.n, args.concurrency))
