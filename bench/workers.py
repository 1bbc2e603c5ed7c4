"""One worker process against two on the same task queue: throughput, and no duplicate sends.

    .venv/bin/python -m bench.workers [--deals 300]

A Temporal dev server (`temporal` from PyPI), a fresh PostgreSQL database and a local SMTP
server (aiosmtpd, in this process) that counts every message by recipient. Two phases, each
with `--deals` new deals started at once through `DealWorkflows.start_many`, the brand inside
its window with no cap or gap in the way:
  - one    one worker process (`worker.build_worker`, heuristic AI) on the queue
  - two    two such processes on the same queue
The figure is the rate at which first emails land on the SMTP server (deals/s from the first
start until every deal's email is in), and the ratio two/one. Every recipient must get exactly
one email: duplicates are counted across both phases (0 expected). The worker processes, the
dev server, PostgreSQL and this process share the machine's CPUs (`nproc` is printed): on 2
cores a second worker adds parallel activity slots, not CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from bench.common import dev_server, fresh_postgres, seeded, table
from bench.intake import free_port
from bench.results import record
from bench.unsubscribe_race import Inbox, _settings, prepare
from dealpilot.temporal import search_attributes
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import DealWorkflows

READY = b"worker ready"


@contextmanager
def workers(
    n: int,
    address: str,
    queue: str,
    db_url: str,
    smtp_port: int,
    env: Mapping[str, str] | None = None,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`n` worker processes on `queue` (settings from `env` over this environment), each ready
    before this yields them, stopped afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.workers", "--serve-worker"]
                + [address, queue, db_url, str(smtp_port)],
                stdout=subprocess.PIPE,
                env={**os.environ, **(env or {})},
            )
            procs.append(proc)
            ready = threading.Event()

            def drain(proc: subprocess.Popen[bytes] = proc, ready: threading.Event = ready) -> None:
                assert proc.stdout is not None  # read it all: a full pipe would block the worker
                for line in proc.stdout:
                    if line.strip() == READY:
                        ready.set()

            threading.Thread(target=drain, daemon=True).start()
            if not ready.wait(120):
                raise SystemExit("a worker process did not start")
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def phase(
    env: WorkflowEnvironment, url: str, smtp_port: int, inbox: Inbox, n_workers: int, deals: int
) -> float:
    """Seconds from the first start until each of this phase's deals has its email."""
    engine = seeded(url)
    starts = prepare(engine, deals, prefix=f"w{n_workers}-")
    engine.dispose()
    queue = f"workers-{uuid.uuid4().hex[:8]}"
    address = env.client.service_client.config.target_host
    wanted = {s.contact_email.lower() for s in starts}
    with workers(n_workers, address, queue, url, smtp_port):
        started = time.perf_counter()
        ok = await DealWorkflows(env.client, queue).start_many(starts)
        if not all(ok.values()):
            raise SystemExit("some deals' workflows did not start")
        deadline = started + 600
        while not wanted <= {to for to, _ in inbox.received}:
            if time.perf_counter() > deadline:
                raise SystemExit("not every first email arrived within 10 minutes")
            await asyncio.sleep(0.05)
        took = time.perf_counter() - started
        await asyncio.sleep(2)  # a late duplicate would land now
    for start in starts:
        await env.client.get_workflow_handle(f"deal-{start.deal_id}").terminate()
    return took


async def run(deals: int) -> None:
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = await dev_server()
    try:
        await search_attributes.register(env.client)
        with fresh_postgres() as url:
            seconds = {n: await phase(env, url, smtp_port, inbox, n, deals) for n in (1, 2)}
    finally:
        await env.shutdown()
        controller.stop()
    received = Counter(to for to, _ in inbox.received)
    duplicates = sum(count - 1 for count in received.values())
    rate = {n: deals / s for n, s in seconds.items()}
    print(f"dev server, PostgreSQL, {deals} deals per phase, nproc={os.cpu_count()}")
    rows = [
        [
            f"{n} worker process{'es' if n > 1 else ''}",
            deals,
            seconds[n],
            rate[n],
            rate[n] / rate[1],
        ]
        for n in (1, 2)
    ]
    print(table(["phase", "deals", "seconds", "first emails/s", "ratio to one"], rows))
    print(f"emails received: {sum(received.values())}; duplicates: {duplicates}")
    record(
        "workers", f"two worker processes, first emails/s ({deals} deals)", value=rate[2],
        baseline=rate[1], unit="/s", baseline_name="one worker process",
        note=f"duplicates {duplicates} of {sum(received.values())} emails",
    )  # fmt: skip
    if duplicates:
        raise SystemExit(f"{duplicates} duplicate emails")


async def serve_worker(address: str, queue: str, db_url: str, smtp_port: int) -> None:
    from temporalio.client import Client

    from dealpilot.ai import HeuristicEngine
    from models import make_engine
    from worker import build_worker

    client = await Client.connect(address, data_converter=data_converter)
    settings = _settings(db_url, queue, smtp_port)
    worker = build_worker(
        client,
        settings=settings,
        engine=make_engine(db_url),
        ai=HeuristicEngine(),
        task_queue=queue,
    )
    async with worker:
        sys.stdout.buffer.write(READY + b"\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=300)
    parser.add_argument("--serve-worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_worker:
        address, queue, db_url, port = args.serve_worker
        asyncio.run(serve_worker(address, queue, db_url, int(port)))
    else:
        asyncio.run(run(args.deals))


if __name__ == "__main__":
    main()
