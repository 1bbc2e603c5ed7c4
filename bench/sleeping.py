"""Many sleeping deals: worker memory, the time to start them, and the wake-up spread.

    .venv/bin/python -m bench.sleeping              # quick: 1,500 sleeping deals, 1,000 waking
    .venv/bin/python -m bench.sleeping --full       # the issue's: 100,000 and 10,000 (hours)
    .venv/bin/python -m bench.sleeping [--deals N] [--wake N] [--cache 500]

A Temporal dev server (`temporal` from PyPI), a fresh PostgreSQL database, and one worker
process (`worker.build_worker`, heuristic AI, `WORKER_WORKFLOW_CACHE=--cache`). Then:
  - sleepers   `--deals` deals of Codeteki, whose only sending day is today and whose window
               closed at 00:01: every deal's first task finds the window shut and sleeps until
               next week. They are enrolled through the REST API (`POST /api/crm/deals/bulk/`,
               5,000 contacts per request, the app served in this process, the worker running),
               and the worker's resident memory is read from /proc before (idle) and after
               (peak, VmHWM), once every deal has planned its wake-up.
  - wake-up    `--wake` deals of Desi Firms, whose window opens in 30 minutes for 8 hours:
               each plans its first send at the opening plus its per-deal offset
               (`workflows.windows.next_send_time`: Fibonacci hashing of the deal id over the
               first two hours). The planned wake-ups are read back from every workflow's
               `NextActionAt` search attribute: their spread, the busiest second and minute
               against an even spread (target: busiest minute <= 1.5x even).
Nothing is sent (no window is open while the bench runs). Baselines: the worker's idle RSS, and
the dev server's raw rate for starting a trivial workflow, measured in the same run. The start
rate is the bulk API's (enrolment, commit, starts, ids recorded); "until planned" also waits for
the worker to run every deal's first workflow task, which is most of the time: it is printed
with the time the full run's 100,000 + 10,000 would take at that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import tempfile
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
QUICK = (1500, 1000)  # sleeping deals, waking deals
FULL = (100_000, 10_000)
RSS_TARGET_MB = 500
SPREAD_TARGET = 1.5  # busiest minute / an even spread


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
    clock = Clock()
    for i in range(0, len(contact_ids), BULK):
        body = {"pipeline_id": pipeline_id, "contact_ids": contact_ids[i : i + BULK]}
        answer = await http.post("/api/crm/deals/bulk/", json=body, timeout=3600)
        answer.raise_for_status()
        started += answer.json()["workflows_started"]
        done = min(i + BULK, len(contact_ids))
        print(f"  enrolled {done:,} ({done / clock.seconds:.0f}/s)", flush=True)
    return started


async def planned(
    client: Client, brand: str, after: dt.datetime, expected: int, worker_pid: int
) -> None:
    """Until every deal of `brand` has planned its first send for `after` or later: it has run
    its first wake (the first email is due at once, the send finds the window shut) and sleeps
    until the window opens."""
    query = f'Brand="{brand}" AND NextActionAt >= "{after.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"'
    patience = max(3600.0, expected / 2)  # the full run's 100,000 at >= 2/s
    deadline = time.monotonic() + patience
    last_print = time.monotonic()
    while time.monotonic() < deadline:
        count = (await client.count_workflows(query)).count
        if count >= expected:
            return
        if time.monotonic() - last_print >= 60:
            rss = rss_mb(worker_pid, "VmRSS")
            print(f"  {brand}: {count:,} of {expected:,} planned; worker RSS {rss:.0f} MB",
                  flush=True)  # fmt: skip
            last_print = time.monotonic()
        await asyncio.sleep(1)
    raise SystemExit(f"the {brand} deals did not all plan their first send in {patience:.0f} s")


async def wake_times(client: Client, query: str) -> list[dt.datetime]:
    times = []
    async for wf in client.list_workflows(query):
        value = wf.typed_search_attributes.get(NEXT_ACTION_AT)
        if value is not None:
            times.append(value)
    return times


def wake_window(engine: Engine, wake: int, zone: str) -> dt.datetime:
    """Desi Firms' only window: opening once every waking deal will have planned (30 minutes
    from now, plus half a second per deal), for 8 hours or until 23:59. The opening."""
    now = dt.datetime.now(ZoneInfo(zone))
    lead = dt.timedelta(minutes=30) + dt.timedelta(seconds=wake / 2)
    opening = (now + lead).replace(second=0, microsecond=0)
    closing = min(opening + dt.timedelta(hours=8), opening.replace(hour=23, minute=59))
    set_window(engine, "desifirms", [opening.weekday()], opening.time(), closing.time(), zone)
    return opening


def spread(wakes: list[dt.datetime]) -> tuple[float, int, int, float]:
    """(spread in seconds, busiest second, busiest minute, an even spread's deals a minute)."""
    first, last = min(wakes), max(wakes)
    spread_s = (last - first).total_seconds()
    per_second = Counter(int(w.timestamp()) for w in wakes)
    per_minute = Counter(int(w.timestamp()) // 60 for w in wakes)
    even_per_minute = len(wakes) / max(spread_s / 60, 1)
    return spread_s, max(per_second.values()), max(per_minute.values()), even_per_minute


async def run(args: argparse.Namespace) -> None:
    from api.app import create_app

    # In memory, the dev server's SQLite (modernc) crashed with a SIGSEGV near 80,000 deals
    # in the full run; past 20,000 deals it keeps its state in a file.
    scratch = tempfile.TemporaryDirectory(prefix="bench-temporal-")
    db_file = Path(scratch.name) / "temporal.db" if args.deals + args.wake > 20_000 else None
    env = await dev_server(db_file)
    try:
        await search_attributes.register(env.client)
        address = env.client.service_client.config.target_host
        with fresh_postgres() as url:
            engine = seeded(url)
            zone = "UTC"
            today = dt.datetime.now(ZoneInfo(zone))
            set_window(engine, "codeteki", [today.weekday()], dt.time(0, 0), dt.time(0, 1), zone)
            # Until Desi Firms' window is set (just before its deals enrol): never open.
            set_window(engine, "desifirms", [(today.weekday() + 3) % 7], dt.time(0, 0),
                       dt.time(0, 1), zone)  # fmt: skip
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
                raw_n = min(args.deals, 2000)
                raw_rate = raw_n / await raw_starts(env.client, raw_n, 50)
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
                    await planned(env.client, "codeteki", next_week, args.deals, worker.pid)
                    settled_s = clock.seconds
                    opening = wake_window(engine, args.wake, zone)
                    woken = await enrol(http, wakers.pipeline_id, [c[0] for c in w_contacts])
                    await planned(env.client, "desifirms", opening, args.wake, worker.pid)
                now_rss, peak = rss_mb(worker.pid, "VmRSS"), rss_mb(worker.pid, "VmHWM")
                wakes = await wake_times(env.client, 'Brand="desifirms"')
            engine.dispose()
    finally:
        await env.shutdown()
        scratch.cleanup()

    if (started, woken) != (args.deals, args.wake):
        raise SystemExit(f"the bulk API started {started} of {args.deals} sleeping deals and "
                         f"{woken} of {args.wake} waking ones")  # fmt: skip
    report(args, raw_rate=raw_rate, enrol_s=enrol_s, settled_s=settled_s, idle=idle,
           now_rss=now_rss, peak=peak, wakes=wakes, opening=opening)  # fmt: skip


def report(
    args: argparse.Namespace,
    *,
    raw_rate: float,
    enrol_s: float,
    settled_s: float,
    idle: float,
    now_rss: float,
    peak: float,
    wakes: list[dt.datetime],
    opening: dt.datetime,
) -> None:
    spread_s, busiest_s, busiest_min, even = spread(wakes)
    start_rate, settle_rate = args.deals / enrol_s, args.deals / settled_s
    full = sum(FULL) / settle_rate / 3600
    print(f"dev server, PostgreSQL, one worker process (workflow cache {args.cache}), "
          f"nproc={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(table(
        ["figure", "value", "baseline", "ratio"],
        [
            ["sleeping deals started (bulk API), /s", start_rate, raw_rate,
             start_rate / raw_rate],
            ["...until every one has planned its wake-up, /s", settle_rate, raw_rate,
             settle_rate / raw_rate],
            [f"worker RSS after, MB (peak {peak:.0f})", now_rss, idle, now_rss / idle],
            ["wake-up: busiest minute, deals", float(busiest_min), even, busiest_min / even],
        ],
    ))  # fmt: skip
    rss_met = "met" if peak < RSS_TARGET_MB else "NOT met"
    spread_met = "met" if busiest_min / even <= SPREAD_TARGET else "NOT met"
    print(f"worker peak RSS {peak:.0f} MB with {args.deals + args.wake:,} sleeping deals: "
          f"target < {RSS_TARGET_MB} MB {rss_met}")  # fmt: skip
    print(
        f"wake-up of {len(wakes):,} deals at {opening:%H:%M} UTC: spread over {spread_s:.0f} s "
        f"(first {min(wakes):%H:%M:%S}, last {max(wakes):%H:%M:%S}); busiest second "
        f"{busiest_s} deals, busiest minute {busiest_min} (even: {even:.1f}/min): "
        f"{busiest_min / even:.2f}x, target <= {SPREAD_TARGET} {spread_met}"
    )
    print(f"at {settle_rate:.1f} deals/s the full run ({FULL[0]:,} + {FULL[1]:,}) would take "
          f"about {full:.1f} h until every deal has planned its wake-up")  # fmt: skip
    record("sleeping", f"{args.deals:,} sleeping deals started through the bulk API, /s",
           value=start_rate, baseline=raw_rate, unit="/s",
           baseline_name="raw start of a trivial workflow",
           note=f"{BULK:,} a request, the worker running")  # fmt: skip
    record("sleeping", f"{args.deals:,} sleeping deals until every one planned its wake-up, /s",
           value=settle_rate, baseline=raw_rate, unit="/s",
           baseline_name="raw start of a trivial workflow",
           note=f"the worker runs each deal's first task; full run ~{full:.1f} h")  # fmt: skip
    record("sleeping", f"worker peak RSS with {args.deals + args.wake:,} sleeping deals, MB",
           value=peak, baseline=idle, unit="MB", baseline_name="idle worker",
           note=f"target < {RSS_TARGET_MB} MB: {rss_met}; cache {args.cache}")  # fmt: skip
    record("sleeping", f"wake-up of {len(wakes):,}: busiest minute, deals",
           value=busiest_min, baseline=even, unit="deals", baseline_name="an even spread",
           target=f"<= {SPREAD_TARGET}",
           note=f"spread {spread_s:.0f} s; busiest second {busiest_s}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help=f"{FULL[0]:,} and {FULL[1]:,}")
    parser.add_argument("--deals", type=int, help=f"sleeping deals (quick: {QUICK[0]:,})")
    parser.add_argument("--wake", type=int, help=f"deals whose window opens (quick: {QUICK[1]:,})")
    parser.add_argument("--cache", type=int, default=500, help="the worker's workflow cache")
    args = parser.parse_args()
    sizes = FULL if args.full else QUICK
    args.deals = sizes[0] if args.deals is None else args.deals
    args.wake = sizes[1] if args.wake is None else args.wake
    configure_logging(Settings(DEALPILOT_LOG_LEVEL="WARNING"))
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
