"""Many sleeping deals: worker memory, the time to start them, and the wake-up spread.

    .venv/bin/python -m bench.sleeping [--deals 100000] [--wake 10000] [--cache 500]

A Temporal dev server (`temporal` from PyPI), a fresh PostgreSQL database, and one worker
process (`worker.build_worker`, heuristic AI, `WORKER_WORKFLOW_CACHE=--cache`). Then:
  - sleepers   `--deals` deals of Codeteki, whose only sending day is today and whose window
               closed at 00:01: every deal's first task finds the window shut and sleeps until
               next week. They are enrolled through the REST API (`POST /api/crm/deals/bulk/`,
               5,000 contacts per request, the app served in this process), and the worker's
               resident memory is read from /proc before (idle) and after (peak, VmHWM).
  - wake-up    `--wake` deals of Desi Firms, whose window opens in 30 minutes for 8 hours:
               each plans its first send at the opening plus its per-deal offset. The planned
               wake-ups are read back from every workflow's `NextActionAt` search attribute:
               their spread, the busiest second and minute against an even spread.
Nothing is sent (no window is open while the bench runs). Baselines: the worker's idle RSS, and
the dev server's raw rate for starting a trivial workflow, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine
from sqlmodel import select
from temporalio.client import Client

from bench.common import Clock, add_contacts, dev_server, fresh_postgres, seeded, table, target
from bench.enrolment import raw_starts
from bench.results import record
from bench.workers import workers
from dealpilot.core.logging import configure_logging
from dealpilot.core.settings import Settings
from dealpilot.temporal import search_attributes
from models import Brand, MailProviderName, session_scope
from workflows.search_attributes import NEXT_ACTION_AT

BULK = 5000  # contacts per bulk request (the API's limit)
READY = b"worker ready"


def rss_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def set_window(
    engine: Engine, slug: str, days: list[int], start: dt.time, end: dt.time, zone: str
) -> None:
    with session_scope(engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == slug)).one()
        brand.provider = MailProviderName.outbox
        brand.timezone = zone
        brand.send_days = days
        brand.send_window_start, brand.send_window_end = start, end
        brand.daily_cap = 10_000
        s.add(brand)


async def enrol(http: httpx.AsyncClient, pipeline_id: int, contact_ids: list[int]) -> int:
    started = 0
    for i in range(0, len(contact_ids), BULK):
        body = {"pipeline_id": pipeline_id, "contact_ids": contact_ids[i : i + BULK]}
        answer = await http.post("/api/crm/deals/bulk/", json=body, timeout=3600)
        answer.raise_for_status()
        started += answer.json()["workflows_started"]
        print(f"  enrolled {i + BULK if i + BULK < len(contact_ids) else len(contact_ids):,}",
              flush=True)  # fmt: skip
    return started


async def planned(client: Client, brand: str, after: dt.datetime, expected: int) -> None:
    """Until every deal of `brand` has planned its first send for `after` or later: it has run
    its first wake (the first email is due at once, the send finds the window shut) and sleeps
    until the window opens."""
    query = f'Brand="{brand}" AND NextActionAt >= "{after.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"'
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if (await client.count_workflows(query)).count >= expected:
            return
        await asyncio.sleep(1)
    raise SystemExit(f"the {brand} deals did not all plan their first send within an hour")


async def wake_times(client: Client, query: str) -> list[dt.datetime]:
    times = []
    async for wf in client.list_workflows(query):
        value = wf.typed_search_attributes.get(NEXT_ACTION_AT)
        if value is not None:
            times.append(value)
    return times


async def run(args: argparse.Namespace) -> None:
    from api.app import create_app

    env = await dev_server()
    try:
        await search_attributes.register(env.client)
        address = env.client.service_client.config.target_host
        with fresh_postgres() as url:
            engine = seeded(url)
            sleep_zone = "UTC"
            today = dt.datetime.now(ZoneInfo(sleep_zone))
            set_window(
                engine, "codeteki", [today.weekday()], dt.time(0, 0), dt.time(0, 1), sleep_zone
            )
            opening = (today + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
            if opening.date() != today.date():
                raise SystemExit("run it before 23:30 UTC: the wake-up window must open today")
            closing = min(opening + dt.timedelta(hours=8), opening.replace(hour=23, minute=59))
            set_window(engine, "desifirms", [opening.weekday()], opening.time(), closing.time(),
                       sleep_zone)  # fmt: skip
            sleepers, wakers = (
                target(engine, "codeteki"),
                target(engine, "desifirms", "real_estate"),
            )
            s_contacts = add_contacts(engine, sleepers.brand_id, args.deals, prefix="s")
            w_contacts = add_contacts(engine, wakers.brand_id, args.wake, prefix="w")

            queue = f"sleep-{uuid.uuid4().hex[:8]}"
            settings = Settings(DEALPILOT_ENV="test", TEMPORAL_TASK_QUEUE=queue)
            app = create_app(engine=engine, api_keys={"bench"}, settings=settings,
                             temporal=env.client, relay_every=None)  # fmt: skip
            cache = {"WORKER_WORKFLOW_CACHE": str(args.cache)}
            with workers(1, address, queue, url, 25, env=cache) as [worker]:
                await asyncio.sleep(2)
                idle = rss_mb(worker.pid, "VmRSS")
                raw_s = await raw_starts(env.client, min(args.deals, 2000), 50)
                raw_rate = min(args.deals, 2000) / raw_s
                transport = httpx.ASGITransport(app=app)
                headers = {"Authorization": "Bearer bench"}
                client = httpx.AsyncClient(
                    transport=transport, base_url="http://b", headers=headers
                )
                async with app.router.lifespan_context(app), client as http:
                    clock = Clock()
                    started = await enrol(http, sleepers.pipeline_id, [c[0] for c in s_contacts])
                    enrol_s = clock.seconds
                    next_week = today.replace(
                        hour=0, minute=0, second=0, microsecond=0
                    ) + dt.timedelta(days=7)
                    await planned(env.client, "codeteki", next_week, args.deals)
                    settled_s = clock.seconds
                    await enrol(http, wakers.pipeline_id, [c[0] for c in w_contacts])
                    await planned(env.client, "desifirms", opening, args.wake)
                now_rss, peak = rss_mb(worker.pid, "VmRSS"), rss_mb(worker.pid, "VmHWM")
                wakes = await wake_times(env.client, 'Brand="desifirms"')
            engine.dispose()
    finally:
        await env.shutdown()

    if started != args.deals:
        raise SystemExit(f"the bulk API started {started} of {args.deals} workflows")
    first, last = min(wakes), max(wakes)
    spread_s = (last - first).total_seconds()
    per_second = Counter(int(w.timestamp()) for w in wakes)
    per_minute = Counter(int(w.timestamp()) // 60 for w in wakes)
    even_per_minute = len(wakes) / max(spread_s / 60, 1)
    print(f"dev server, PostgreSQL, one worker process (workflow cache {args.cache}), "
          f"nproc={os.cpu_count()}")  # fmt: skip
    print(table(
        ["figure", "value", "baseline", "ratio"],
        [
            ["sleeping deals started (bulk API), /s", args.deals / enrol_s, raw_rate,
             args.deals / enrol_s / raw_rate],
            ["...until every one has planned its wake-up, /s", args.deals / settled_s, raw_rate,
             args.deals / settled_s / raw_rate],
            [f"worker RSS after, MB (peak {peak:.0f})", now_rss, idle, now_rss / idle],
        ],
    ))  # fmt: skip
    print(
        f"wake-up of {len(wakes):,} deals at {opening:%H:%M} UTC: spread over {spread_s:.0f} s "
        f"(first {first:%H:%M:%S}, last {last:%H:%M:%S}); busiest second {max(per_second.values())}"
        f" deals, busiest minute {max(per_minute.values())} (even: {even_per_minute:.0f}/min)"
    )
    record("sleeping", f"{args.deals:,} sleeping deals started through the bulk API, /s",
           value=args.deals / settled_s, baseline=raw_rate, unit="/s",
           baseline_name="raw start of a trivial workflow",
           note="until every deal planned its wake-up")  # fmt: skip
    record("sleeping", f"worker peak RSS with {args.deals:,} sleeping deals, MB", value=peak,
           baseline=idle, unit="MB", baseline_name="idle worker",
           note=f"target < 500 MB; cache {args.cache}")  # fmt: skip
    record("sleeping", f"wake-up of {len(wakes):,}: busiest minute, deals",
           value=max(per_minute.values()), baseline=even_per_minute, unit="deals",
           baseline_name="an even spread",
           note=f"spread {spread_s:.0f} s; busiest second {max(per_second.values())}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--wake", type=int, default=10_000)
    parser.add_argument("--cache", type=int, default=500, help="the worker's workflow cache")
    args = parser.parse_args()
    configure_logging(Settings(DEALPILOT_LOG_LEVEL="WARNING"))
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
