"""Enrolment rate against the raw start rate of the Temporal dev server.

    .venv/bin/python -m bench.enrolment [--n 500] [--concurrency 50]

(a) raw: `client.start_workflow` of a trivial workflow, N starts, `concurrency` in flight.
(b) enrolment through the API: one `POST /api/crm/deals/bulk/` with N contact ids, driven
    through the ASGI app (httpx ASGITransport, no network hop): every deal row in one
    transaction, committed, then the workflows started by the API (50 at a time).
(c) enrolment through the service path: `dealpilot.deals.service.create_deal` per deal in one
    transaction, then `DealWorkflows.start`, `concurrency` in flight.
The ratio to (a) is the figure to watch (target >= 0.8). No worker runs: a start costs the
same with or without one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import uuid
from collections.abc import Awaitable, Iterable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from bench.common import DEV_SERVER, Clock, Target, add_contacts, seeded_sqlite, table, target
from bench.results import record
from dealpilot.core.logging import configure_logging
from dealpilot.core.settings import Settings
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import DealStart, DealWorkflows, workflow_id
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


def bulk_route(app: FastAPI) -> str | None:
    """The bulk enrolment route, if the API has one (from its OpenAPI paths)."""
    for path in app.openapi()["paths"]:
        if path.rstrip("/").endswith("/deals/bulk"):
            return str(path)
    return None


async def api_bulk(app: FastAPI, route: str, engine: Engine, n: int) -> float:
    tgt = target(engine)
    contacts = add_contacts(engine, tgt.brand_id, n, prefix=f"a{uuid.uuid4().hex[:6]}-")
    body = {"pipeline_id": tgt.pipeline_id, "contact_ids": [c[0] for c in contacts]}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        clock = Clock()
        response = await http.post(
            route, json=body, headers={"Authorization": "Bearer bench"}, timeout=600
        )
        seconds = clock.seconds
    response.raise_for_status()
    started = response.json()["workflows_started"]
    if started != n:
        raise RuntimeError(f"the bulk endpoint started {started} of {n} workflows")
    return seconds


def create_deals(
    engine: Engine, tgt: Target, contacts: list[tuple[int, str, str]]
) -> list[DealStart]:
    """One transaction, as one bulk request: every deal row, committed before any start."""
    from dealpilot.deals.service import create_deal
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
    await bounded(concurrency, (DealWorkflows(client, queue).start(s) for s in starts))
    return db_seconds, clock.seconds - db_seconds


async def main(n: int, concurrency: int, rounds: int) -> None:
    """Paired rounds: each round measures the raw baseline and then each enrolment path on the
    same server, and ratios are taken within the round. The dev server's file database slows
    as it fills, so comparing a late run with an early baseline would mostly measure that."""
    per_round: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="dealpilot-bench-") as tmp:
        engine = seeded_sqlite(Path(tmp) / "dealpilot.db")
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(DEV_SERVER),
            search_attributes=search_attributes.ALL,
            data_converter=data_converter,
            dev_server_database_filename=str(Path(tmp) / "temporal.db"),
        )
        try:
            await raw_starts(env.client, 50, concurrency)  # warm-up: connections, namespace cache
            app = create_app(
                engine=engine, api_keys={"bench"}, settings=Settings(), temporal=env.client
            )
            route = bulk_route(app)
            for _ in range(rounds):
                rates = {
                    "raw start_workflow (trivial)": n / await raw_starts(env.client, n, concurrency)
                }
                if route:
                    rates[f"API: POST {route}"] = n / await api_bulk(app, route, engine, n)
                db_s, start_s = await enrolment(env.client, engine, n, concurrency)
                rates["service: start_deal only"] = n / start_s
                rates["service: create_deal rows + start_deal"] = n / (db_s + start_s)
                per_round.append(rates)
        finally:
            await env.shutdown()
            engine.dispose()

    print(f"temporal dev server (file DB), SQLite, {concurrency} starts in flight, no worker")
    print(f"{rounds} paired rounds of {n}; ratio = path rate / raw rate in the same round")
    rows = []
    for label in per_round[0]:
        path_rates = [r[label] for r in per_round]
        ratios = [r[label] / r["raw start_workflow (trivial)"] for r in per_round]
        rows.append(
            (
                label,
                statistics.median(path_rates),
                " ".join(f"{x:.2f}" for x in ratios),
                statistics.median(ratios),
            )
        )
    print(table(("path", "median /s", "ratios per round", "median ratio"), rows))
    print("target: bulk API enrolment median ratio >= 0.80")
    raw = statistics.median(r["raw start_workflow (trivial)"] for r in per_round)
    for label, rate, _, ratio in rows[1:]:
        record(
            "enrolment", f"{label}, starts/s", value=rate, baseline=raw, unit="/s",
            baseline_name="raw start_workflow", ratio=ratio,
            target=">= 0.8" if label.startswith("API") else None,
        )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging(Settings(DEALPILOT_LOG_LEVEL="WARNING"))  # no per-email log lines
    asyncio.run(main(args.n, args.concurrency, args.rounds))
