"""One-click unsubscribe latency while deals are sending against while idle, in the same run.

    .venv/bin/python -m bench.unsubscribe_race [--db sqlite|postgres] [--deals 100]

A Temporal dev server (`temporal` from PyPI), a worker in this process sending every deal's
first email through a local aiosmtpd server, and the real API (`api.create_app` with its intake
relay connected to the same server) served by uvicorn in a subprocess, on the dev default
database (a SQLite file) or a fresh PostgreSQL database:
  - sending  `--deals` deals start at once; as each first email lands, every other one's
             one-click link (List-Unsubscribe, RFC 8058) is POSTed while the rest still send
  - idle     once every first email is out and the worker has stopped, the other half's links
             are POSTed, as many at once as the sending phase had at most
Reported per phase: p50, p99 and max latency of the POSTs, errors (non-2xx), and the ratio
sending/idle; then the emails any unsubscribed address got after its POST answered (by the
SMTP server's receive order; 0 expected) and the suppressions stored. Client, API, worker and
servers share the machine's CPUs (`nproc` and the load average are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import time as clock
from email import message_from_bytes, policy
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.service import RPCError

from bench.common import add_contacts, dev_server, seeded, table, target
from bench.intake import API_KEY, TRACKING_SECRET, database, free_port, server
from bench.results import record
from dealpilot.ai import HeuristicEngine
from dealpilot.core.enums import MailProviderName
from dealpilot.temporal import search_attributes
from dealpilot.temporal.converter import data_converter
from dealpilot.temporal.deals import DealStart, DealWorkflows
from models import Brand, Deal, Suppression, session_scope

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


# --------------------------------------------------------------------------- the API process
def _settings(db_url: str, queue: str, smtp_port: int = 25) -> Any:
    from dealpilot.core.logging import configure_logging
    from dealpilot.core.settings import Settings

    settings = Settings(
        DEALPILOT_ENV="test",
        DEALPILOT_LOG_LEVEL="WARNING",
        DATABASE_URL=db_url,
        TRACKING_SECRET=TRACKING_SECRET,
        PUBLIC_BASE_URL="https://crm.bench.example",
        TEMPORAL_TASK_QUEUE=queue,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        SMTP_SECURITY="none",
    )
    configure_logging(settings)
    return settings


async def _serve_async(db_url: str, port: int, address: str, queue: str) -> None:
    import uvicorn
    from temporalio.client import Client

    from api.app import create_app
    from models import make_engine

    client = await Client.connect(address, data_converter=data_converter)
    app = create_app(
        engine=make_engine(db_url),
        api_keys={API_KEY},
        settings=_settings(db_url, queue),
        temporal=client,
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()


# ----------------------------------------------------------------------------- the sending
@dataclass
class Inbox:
    """The SMTP server's side: each accepted message's recipient and one-click link, in order."""

    received: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=policy.default)
        to = parseaddr(str(msg["To"]))[1].lower()
        self.received.append((to, str(msg.get("List-Unsubscribe", "")).strip("<>")))
        return "250 OK"


def prepare(engine: Engine, deals: int, prefix: str = "race") -> list[DealStart]:
    """The brand always inside its window, no cap or gap in the way; `deals` new deals, their
    contacts `{prefix}{i}@bench.example`."""
    tgt = target(engine)
    with session_scope(engine) as s:
        brand = s.get(Brand, tgt.brand_id)
        assert brand is not None
        brand.provider = MailProviderName.smtp
        brand.send_days = [0, 1, 2, 3, 4, 5, 6]
        brand.send_window_start, brand.send_window_end = clock(0, 0), clock(23, 59, 59)
        brand.min_gap_seconds, brand.daily_cap = 0, 100 * deals
        s.add(brand)
    contacts = add_contacts(engine, tgt.brand_id, deals, prefix)
    with session_scope(engine) as s:
        rows = [
            Deal(contact_id=c_id, pipeline_id=tgt.pipeline_id, stage_id=tgt.first_stage_id)
            for c_id, _email, _name in contacts
        ]
        s.add_all(rows)
        s.flush()
        return [
            DealStart(d.id or 0, tgt.brand_slug, tgt.pipeline_name, tgt.first_stage, email)
            for (_c_id, email, _name), d in zip(contacts, rows, strict=True)
        ]


@dataclass
class Posts:
    millis: list[float] = field(default_factory=list)
    errors: int = 0
    answered_at: dict[str, int] = field(default_factory=dict)  # address → messages received
    most_at_once: int = 0
    _in_flight: int = 0

    async def post(self, http: httpx.AsyncClient, address: str, url: str, inbox: Inbox) -> None:
        self._in_flight += 1
        self.most_at_once = max(self.most_at_once, self._in_flight)
        started = time.perf_counter()
        try:
            r = await http.post(urlsplit(url).path, data=ONE_CLICK)
        finally:
            self._in_flight -= 1
        self.millis.append((time.perf_counter() - started) * 1000)
        self.answered_at[address] = len(inbox.received)
        if not 200 <= r.status_code < 300:
            self.errors += 1

    def pct(self, q: float) -> float:
        ordered = sorted(self.millis)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def race(args: argparse.Namespace, url: str, work: Path) -> tuple[Posts, Posts, int, int]:
    from worker import build_worker

    engine = seeded(url)
    starts = prepare(engine, args.deals)
    queue = f"race-{uuid.uuid4().hex[:8]}"
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = await dev_server()
    sending, idle = Posts(), Posts()
    try:
        await search_attributes.register(env.client)
        address = env.client.service_client.config.target_host
        extra = ["--temporal", address, "--queue", queue]
        with server(
            "real", url, work / "api.log", module="bench.unsubscribe_race", extra=extra
        ) as base:
            settings = _settings(url, queue, smtp_port)
            worker = build_worker(
                env.client, settings=settings, engine=engine, ai=HeuristicEngine(), task_queue=queue
            )
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                async with worker:
                    started = await DealWorkflows(env.client, queue).start_many(starts)
                    if not all(started.values()):
                        raise SystemExit("some deals' workflows did not start")
                    tasks: list[asyncio.Task[None]] = []
                    seen = 0
                    while len({to for to, _ in inbox.received}) < len(starts):
                        for to, link in inbox.received[seen:]:
                            seen += 1
                            if int(to.removeprefix("race").split("@")[0]) % 2 == 0:
                                tasks.append(
                                    asyncio.create_task(sending.post(http, to, link, inbox))
                                )
                        await asyncio.sleep(0.01)
                    await asyncio.gather(*tasks)
                # The worker has stopped: nothing sends while the idle half is POSTed.
                rest = [(to, link) for to, link in inbox.received if to not in sending.answered_at]
                gate = asyncio.Semaphore(max(1, sending.most_at_once))

                async def one(to: str, link: str) -> None:
                    async with gate:
                        await idle.post(http, to, link, inbox)

                await asyncio.gather(*(one(to, link) for to, link in rest))
            for start in starts:  # the unsubscribed ones have closed already
                with contextlib.suppress(RPCError):
                    await env.client.get_workflow_handle(f"deal-{start.deal_id}").terminate()
    finally:
        await env.shutdown()
        controller.stop()
    late = sum(
        1
        for i, (to, _) in enumerate(inbox.received)
        if to in sending.answered_at and i >= sending.answered_at[to]
    )
    with Session(engine) as s:
        suppressed = s.exec(select(func.count()).select_from(Suppression)).one()
    engine.dispose()
    return sending, idle, late, int(suppressed)


def run(args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="bench-race-") as tmp,
        database(args.db, Path(tmp)) as url,
    ):
        print(
            f"unsubscribe race benchmark: db={args.db}, {args.deals} deals, uvicorn 1 worker, "
            f"nproc={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        sending, idle, late, suppressed = asyncio.run(race(args, url, Path(tmp)))
    rows = [
        [phase, len(p.millis), p.most_at_once, p.pct(0.5), p.pct(0.99), max(p.millis), p.errors]
        for phase, p in (("sending", sending), ("idle", idle))
    ]
    print()
    print(table(["phase", "POSTs", "most at once", "p50 ms", "p99 ms", "max ms", "errors"], rows))
    print(
        f"\np50 sending/idle {sending.pct(0.5) / idle.pct(0.5):.2f}, "
        f"p99 sending/idle {sending.pct(0.99) / idle.pct(0.99):.2f}"
    )
    print(f"emails after their unsubscribe answered: {late}; suppressions stored: {suppressed}")
    for pct, name in ((0.5, "p50"), (0.99, "p99")):
        record(
            "unsubscribe_race", f"one-click POST {name} ms while sending ({args.db})",
            value=sending.pct(pct), baseline=idle.pct(pct), unit="ms", baseline_name="idle",
            note=f"errors {sending.errors}; emails after an unsubscribe answered: {late}",
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--deals", type=int, default=100)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--temporal", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve_async(args.db_url, args.port, args.temporal, args.queue))
    else:
        run(args)


if __name__ == "__main__":
    main()
