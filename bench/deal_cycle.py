"""Deals through their whole sequence on the time-skipping server, against a sleeping baseline.

    .venv/bin/python -m bench.deal_cycle [--deals 1000] [--batch 20] [--db sqlite|postgres|both]

Every deal runs to its end with the real worker (`worker.build_worker`: heuristic AI engine,
`outbox` provider writing .eml files, the database seeded by `dealpilot.setup.seed.seed` (a
SQLite file, or a fresh database on the local PostgreSQL), Codeteki's window open all week, no
daily cap). Nobody opens or replies, so each deal runs the autopilot's no-engagement path to its
close. Batches of at most 20 run at once (the test server stalls near 50 simultaneous timers).
The baseline runs the same batches of a workflow that only sleeps as many timers as one deal's
history holds. The worker runs in this process: its peak RSS is this process's (ru_maxrss).

Besides deals/s against the sleeper's rate, it reports CPU seconds per deal (this process and
the test server, read from /proc: unlike wall time they do not grow with other work on a shared
machine), split by process for the first and the last batch (does a deal cost more when
thousands ran before it?), and the floor the deal's shape sets: its workflow tasks alone at the
sleeper's CPU per task.

It also runs one deal's activities without Temporal: the worker records every activity attempt
of the probe deal (function, arguments, info: `ActivityRecorder`), and after the timed runs the
same calls run again, in order, for fresh deals through `temporalio.testing.ActivityEnvironment`
(no workflow, server or worker; the clock moved past the brand's last send). The bench checks
that they sent as many emails as the probe did. Their CPU is the work any workflow doing what a
deal does must pay on top of a sleeper's cost (a deal sleeps the same timers), so
sleeper / (sleeper + work) is the most a deal's rate can be of the sleeper's: the ceiling row.

What it found (issue 15): the worker's CPU per deal is flat from the first batch to the last
(400 deals: 395 -> 366 ms; 100: 369 -> 381); the time-skipping test server's own CPU per deal
grows with the workflows it holds (400 deals: 50 -> 81 ms; it keeps every closed one in
memory), which is what made 1,000 deals slower per deal than 20. A deal costs ~20x a
sleeper's CPU: about a quarter is our code (analysis ~7 ms, a send ~20 ms with its four short
transactions, rendering and MIME; the wake's reads and save ~13 ms/deal), the rest the SDK's
per-activation and per-activity work. Its 11 workflow tasks alone cost ~2.8x a sleeper, and
the activities' own work, run outside Temporal, ~6.7x a whole sleeper (65 ms against 9.8 ms,
2026-11-30): the ceiling is ~0.13x, so the issue's 0.5x target is out of reach for any workflow
that sends a deal's three emails. Duration on 2 cores:
`--deals 100` about a minute per database; 1,000 about 12 minutes per database.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, func
from sqlmodel import select
from temporalio import activity
from temporalio import client as temporal_client
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from bench.common import (
    TEST_SERVER,
    Clock,
    CpuClock,
    Target,
    add_contacts,
    fresh_postgres,
    seeded,
    seeded_sqlite,
    table,
    target,
)
from bench.results import record
from bench.sleeper import Sleeper
from dealpilot.ai import HeuristicEngine
from dealpilot.core.heap import freeze_startup_heap
from dealpilot.core.logging import configure_logging
from dealpilot.core.settings import Settings
from dealpilot.temporal import search_attributes
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import DealStart, DealWorkflows
from models import Brand, Deal, EmailLog, MailProviderName, session_scope
from worker import build_worker
from workflows.contracts import DealStateView

T = TypeVar("T")


def open_window(engine: Engine, slug: str) -> None:
    """As tests/workflows/conftest.py's `open_window`, sending through the outbox, no cap."""
    with session_scope(engine) as s:
        brand = s.exec(select(Brand).where(Brand.slug == slug)).one()
        brand.provider = MailProviderName.outbox
        brand.send_days = [0, 1, 2, 3, 4, 5, 6]
        brand.send_window_start = time(0, 0)
        brand.send_window_end = time(23, 59, 59)
        brand.min_gap_seconds = 0
        brand.daily_cap = 10_000_000
        s.add(brand)


def create_deals(engine: Engine, tgt: Target, n: int, prefix: str) -> list[DealStart]:
    contacts = add_contacts(engine, tgt.brand_id, n, prefix=prefix)
    starts = []
    with session_scope(engine) as s:
        for contact_id, email, name in contacts:
            deal = Deal(
                contact_id=contact_id, pipeline_id=tgt.pipeline_id, stage_id=tgt.first_stage_id
            )
            s.add(deal)
            s.flush()
            starts.append(
                DealStart(
                    deal.id or 0, tgt.brand_slug, tgt.pipeline_name, tgt.first_stage, email, name
                )
            )
    return starts


async def results(env: WorkflowEnvironment, handles: Sequence[WorkflowHandle[Any, T]]) -> list[T]:
    """Awaits a batch with one time-skipping unlock: each handle's own `result()` unlocks and
    relocks, and concurrent ones drive the test server's lock count below zero (RPC errors,
    expired workflow tasks, stalls)."""
    async with env.time_skipping_unlocked():
        with env.auto_time_skipping_disabled():
            return list(await asyncio.gather(*(h.result() for h in handles)))


async def run_deals(
    env: WorkflowEnvironment,
    queue: str,
    starts: list[DealStart],
    batch: int,
    costs: list[tuple[int, float, float, float]] | None = None,
) -> list[DealStateView]:
    """Runs the deals batch by batch; `costs` gets (deals, wall s, worker CPU s, server CPU s)
    per batch."""
    done: list[DealStateView] = []
    for i in range(0, len(starts), batch):
        wall, cpu = Clock(), CpuClock()
        chunk = starts[i : i + batch]
        handles = [await DealWorkflows(env.client, queue).start(s) for s in chunk]
        done += await results(env, handles)
        if costs is not None:
            costs.append((len(chunk), wall.seconds, cpu.own, cpu.children))
    return done


async def run_sleepers(
    env: WorkflowEnvironment, queue: str, n: int, timers: int, batch: int
) -> str:
    """Returns the id of the last sleeper (its history tells a sleeper's workflow tasks)."""
    run = uuid.uuid4().hex[:6]
    for i in range(0, n, batch):
        handles = [
            await env.client.start_workflow(
                Sleeper.run, timers, id=f"sleep-{run}-{j}", task_queue=queue
            )
            for j in range(i, min(i + batch, n))
        ]
        await results(env, handles)
    return f"sleep-{run}-{n - 1}"


async def history_counts(client: Client, workflow_id: str) -> Counter[str]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    counts: Counter[str] = Counter()
    for event in history.events:
        counts[EventType.Name(event.event_type)] += 1
    return counts


@dataclasses.dataclass(frozen=True)
class ActivityCall:
    """One activity attempt as the worker ran it: the function, its arguments and its info."""

    fn: Any
    args: tuple[Any, ...]
    info: activity.Info


class ActivityRecorder(temporal_client.Interceptor, Interceptor):
    """Records every activity attempt (local ones included) the worker runs, per workflow id, so
    that a deal's activities can be run again outside Temporal (`activity_work`). A client
    interceptor that is also a worker interceptor is used by the workers of that client."""

    def __init__(self) -> None:
        self.calls: dict[str, list[ActivityCall]] = {}

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        recorder = self

        class Recording(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                info = activity.info()
                call = ActivityCall(input.fn, tuple(input.args), info)
                recorder.calls.setdefault(info.workflow_id or "", []).append(call)
                return await super().execute_activity(input)

        return Recording(next)


def for_deal(value: Any, probe_id: int, deal_id: int) -> Any:
    """An activity argument of the probe deal, made for deal `deal_id`: its deal id swapped."""
    if isinstance(value, int) and not isinstance(value, bool) and value == probe_id:
        return deal_id
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if getattr(value, "deal_id", None) == probe_id:
            return dataclasses.replace(value, deal_id=deal_id)  # type: ignore[type-var]
    return value


def shifted(value: Any, by: timedelta) -> Any:
    return value + by if isinstance(value, datetime) else value


async def activity_work(
    calls: Sequence[ActivityCall], probe_id: int, deal_ids: Sequence[int], after: datetime
) -> float:
    """CPU seconds of this process to run the probe deal's activities, in their order and with
    its arguments, for each of `deal_ids` (fresh deals), outside Temporal: no workflow, no
    server, no worker; `temporalio.testing.ActivityEnvironment` gives them their context. The
    probe's clock is moved past `after` (the brand's last send: an earlier clock would see its
    send-gap rule broken and defer), a little further for each deal, as if each came later."""
    times = [c.info.current_attempt_scheduled_time for c in calls]
    span = max(times) - min(times) + timedelta(days=1)
    base = after - min(times) + timedelta(days=1)
    env = ActivityEnvironment()
    cpu = CpuClock()
    for k, deal_id in enumerate(deal_ids):
        by = base + k * span
        for call in calls:
            env.info = dataclasses.replace(
                call.info,
                workflow_id=f"deal-{deal_id}",
                current_attempt_scheduled_time=call.info.current_attempt_scheduled_time + by,
                scheduled_time=call.info.scheduled_time + by,
                started_time=call.info.started_time + by,
            )
            args = [shifted(for_deal(a, probe_id, deal_id), by) for a in call.args]
            result = env.run(call.fn, *args)
            if asyncio.iscoroutine(result):
                await result
    return cpu.own


def last_send(engine: Engine) -> datetime:
    with session_scope(engine) as s:
        latest = s.exec(select(func.max(EmailLog.sent_at))).one()
    if latest is None:
        raise RuntimeError("no email was sent: nothing to measure")
    return latest if latest.tzinfo else latest.replace(tzinfo=UTC)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def database(db: str, tmp: Path) -> Iterator[Engine]:
    """A seeded database: a SQLite file in `tmp`, or a fresh database on the local PostgreSQL."""
    if db == "sqlite":
        engine = seeded_sqlite(tmp / "dealpilot.db")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with fresh_postgres() as url:
        engine = seeded(url)
        try:
            yield engine
        finally:
            engine.dispose()


def eml_count(outbox: Path) -> int:
    return sum(1 for p in outbox.glob("*.eml") if not p.name.startswith("."))


def work_deals(deals: int) -> int:
    """How many fresh deals run the activities outside Temporal: enough for a steady figure."""
    return max(20, min(deals // 2, 200))


def per_deal(costs: Sequence[tuple[int, float, float, float]]) -> tuple[float, float, float]:
    """(wall ms, worker CPU ms, server CPU ms) per deal over some batches."""
    n = sum(c[0] for c in costs)
    return (
        sum(c[1] for c in costs) / n * 1000,
        sum(c[2] for c in costs) / n * 1000,
        sum(c[3] for c in costs) / n * 1000,
    )


async def main(deals: int, batch: int, db: str) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="dealpilot-bench-") as tmp,
        database(db, Path(tmp)) as engine,
    ):
        open_window(engine, "codeteki")
        tgt = target(engine)
        settings = Settings(
            DEALPILOT_ENV="test",
            DEALPILOT_DATA_DIR=Path(tmp),
            TRACKING_SECRET="bench-tracking-secret",
            PUBLIC_BASE_URL="https://crm.example.test",
        )
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(TEST_SERVER), data_converter=data_converter
        )
        await search_attributes.register(env.client)
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        recorder = ActivityRecorder()
        recording = Client(**{**env.client.config(), "interceptors": [recorder]})
        deal_worker = build_worker(
            recording, settings=settings, engine=engine, ai=HeuristicEngine(), task_queue=queue
        )
        sleep_queue = f"bench-sleep-{uuid.uuid4().hex[:6]}"
        sleep_worker = Worker(env.client, task_queue=sleep_queue, workflows=[Sleeper])
        freeze_startup_heap()  # as worker.run_worker does
        costs: list[tuple[int, float, float, float]] = []
        try:
            async with deal_worker, sleep_worker:
                # One probe deal (untimed) tells how many timers a deal's life takes.
                probe = create_deals(engine, tgt, 1, prefix="probe-")
                [probe_result] = await run_deals(env, queue, probe, batch)
                counts = await history_counts(env.client, f"deal-{probe[0].deal_id}")
                timers = counts["EVENT_TYPE_TIMER_STARTED"]
                rss_start = peak_rss_mb()

                clock, cpu = Clock(), CpuClock()
                last_sleeper = await run_sleepers(env, sleep_queue, deals, timers, batch)
                base_s, base_cpu = clock.seconds, cpu.seconds
                sleeper_tasks = (await history_counts(env.client, last_sleeper))[
                    "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"
                ]
                rss_base = peak_rss_mb()

                starts = create_deals(engine, tgt, deals, prefix="d-")
                clock, cpu = Clock(), CpuClock()
                finished = await run_deals(env, queue, starts, batch, costs)
                deal_s, deal_cpu = clock.seconds, cpu.seconds
                rss_deals = peak_rss_mb()
        finally:
            await env.shutdown()
        outbox = Path(tmp) / "outbox"
        emails = eml_count(outbox)
        # The same deal's activities again, outside Temporal, for fresh deals: what the
        # activities' own work costs, whatever workflow calls them.
        probe_id = probe[0].deal_id
        probe_calls = recorder.calls[f"deal-{probe_id}"]
        fresh = [s.deal_id for s in create_deals(engine, tgt, work_deals(deals), prefix="w-")]
        work_cpu = await activity_work(probe_calls, probe_id, fresh, last_send(engine))
        work_emails = eml_count(outbox) - emails
        if work_emails != probe_result.emails_sent * len(fresh):
            raise RuntimeError(
                f"the activities outside Temporal sent {work_emails} emails for {len(fresh)} "
                f"deals, not {probe_result.emails_sent} each: they did not repeat the deal's work"
            )

    outcomes = Counter(f"{r.status}/{r.stage}" for r in finished)
    print(f"time-skipping test server, {db}, batches of {batch}, worker in this process")
    print(
        f"one deal's life: {probe_result.emails_sent} emails, ends {probe_result.status} at "
        f"'{probe_result.stage}'; history {sum(counts.values())} events, {timers} timers, "
        f"{counts['EVENT_TYPE_ACTIVITY_TASK_SCHEDULED']} activities, "
        f"{counts['EVENT_TYPE_WORKFLOW_TASK_COMPLETED']} workflow tasks"
    )
    print(f"outcomes: {dict(outcomes)}; .eml files written: {emails} (probe included)")
    rows = [
        ("baseline: sleeper, same timers", deals, base_s, deals / base_s, 1.0,
         base_cpu / deals * 1000, rss_base),
        ("deals: full sequence, real worker", deals, deal_s, deals / deal_s,
         (deals / deal_s) / (deals / base_s), deal_cpu / deals * 1000, rss_deals),
    ]  # fmt: skip
    headers = ("workflows", "n", "seconds", "per second", "ratio", "CPU ms/deal", "peak RSS MB")
    print(table(headers, rows))
    print(f"peak RSS before the timed runs: {rss_start:.0f} MB")
    # What the SDK and server charge per workflow task, before any of our code runs: the
    # sleeper's CPU per task, times the deal's tasks (its local activities not counted).
    deal_tasks = counts["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"]
    per_task = base_cpu / deals / sleeper_tasks * 1000
    print(
        f"a sleeper's workflow task costs {per_task:.1f} ms CPU ({sleeper_tasks} per sleeper); "
        f"a deal's {deal_tasks} tasks alone would cost {per_task * deal_tasks:.0f} ms, "
        f"{per_task * deal_tasks / (base_cpu / deals * 1000):.1f}x a sleeper"
    )
    work_ms = work_cpu / len(fresh) * 1000
    sleeper_ms = base_cpu / deals * 1000
    ceiling = sleeper_ms / (sleeper_ms + work_ms)
    print(
        f"the deal's {len(probe_calls)} activity calls run outside Temporal for {len(fresh)} "
        f"fresh deals: {work_ms:.0f} ms CPU per deal ({work_emails} emails), "
        f"{work_ms / sleeper_ms:.1f}x a whole sleeper; any workflow that does this work and "
        f"sleeps these timers costs at least both, so its rate is at most {ceiling:.2f}x the "
        "sleeper's (where CPU bounds both runs)"
    )
    first_wall, first_cpu, first_server = per_deal(costs[:1])
    last_wall, last_cpu, last_server = per_deal(costs[-1:])
    print(
        f"per deal, first batch vs last batch: wall {first_wall:.0f} -> {last_wall:.0f} ms, "
        f"worker CPU {first_cpu:.0f} -> {last_cpu:.0f} ms, "
        f"test server CPU {first_server:.0f} -> {last_server:.0f} ms"
    )
    record(
        "deal_cycle", f"{deals} deals through a full sequence, deals/s ({db})",
        value=deals / deal_s, baseline=deals / base_s, unit="/s",
        baseline_name="sleeper with the same timers", target=">= 0.5",
    )  # fmt: skip
    record(
        "deal_cycle", f"CPU per deal, ms ({db}; worker process + test server)",
        value=deal_cpu / deals * 1000, baseline=base_cpu / deals * 1000, unit="ms",
        baseline_name="sleeper with the same timers",
    )  # fmt: skip
    record(
        "deal_cycle", f"the deal's activities run outside Temporal, CPU ms per deal ({db})",
        value=work_ms, baseline=sleeper_ms, unit="ms",
        baseline_name="a whole sleeper (worker + test server)",
    )  # fmt: skip
    record(
        "deal_cycle", f"ceiling on deals/s for any workflow doing a deal's work ({db})",
        value=deals / base_s * ceiling, baseline=deals / base_s, unit="/s",
        baseline_name="sleeper with the same timers", target=">= 0.5",
        note="sleeper CPU / (sleeper CPU + the activities' CPU)",
    )  # fmt: skip
    record(
        "deal_cycle", f"worker CPU per deal in the last batch of {deals}, ms ({db})",
        value=last_cpu, baseline=first_cpu, unit="ms", baseline_name="the first batch",
        target="<= 1.2",
    )  # fmt: skip
    record(
        "deal_cycle", f"test server CPU per deal in the last batch of {deals}, ms ({db})",
        value=last_server, baseline=first_server, unit="ms", baseline_name="the first batch",
    )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    configure_logging(Settings(DEALPILOT_LOG_LEVEL="WARNING"))  # no per-email log lines
    if not 1 <= args.batch <= 20:
        parser.error("--batch must be 1..20: the test server stalls near 50 timers at once")
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        asyncio.run(main(args.deals, args.batch, db))
