"""Intake latency while Temporal is unreachable against while it is up, in the same run.

    .venv/bin/python -m bench.intake_outage [--db sqlite|postgres] [--requests 600]
                                            [--concurrency 8] [--before DIR]

The real API app (`api.create_app` with a Temporal client, so its intake relay runs) is served
by uvicorn in a subprocess (one worker, log level WARNING) twice on the same fresh database:
  - up     the client is connected to a running Temporal test server (`temporal-test-server`
           from PyPI); the relay signals each event as it is stored (the deals have no running
           workflow, so every signal is a real round trip answered NOT_FOUND, and the event is
           marked delivered)
  - down   the client was connected to such a server, which was then stopped: every attempt
           to reach it fails, as in an outage
In each phase an httpx client keeps `--concurrency` requests in flight: `--requests` open pixel
hits (GET /api/crm/track/open/{token}.gif, a new User-Agent each, so each is a new event), then
`--requests` signed replies (POST /api/crm/webhooks/reply, each a new Message-ID), after 50 of
each as a warm-up. Reported per endpoint: p50, p99 and max latency, errors (non-2xx), and the
ratio down/up; then the events stored and left pending. The client and the server share the
machine's CPUs (`nproc` and the load average are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy import Engine, update
from sqlmodel import Session

from bench.common import TEST_SERVER, seeded, table
from bench.intake import (
    API_KEY,
    BROWSER,
    TRACKING_SECRET,
    Sent,
    database,
    reply_bodies,
    sent_emails,
    server,
    server_settings,
    signed_post,
    stored_events,
)
from bench.results import record
from dealpilot.intake import count_pending
from dealpilot.tracking.tracker import sign
from models import Deal

EMAILS = 500
WARM_UP = 50
PHASES = ("up", "down")


# --------------------------------------------------------------------------- the server
async def _serve_async(phase: str, db_url: str, port: int) -> None:
    """Runs in the server subprocess: the Temporal server, the client, then the app."""
    import uvicorn
    from temporalio.testing import WorkflowEnvironment

    from api.app import create_app
    from dealpilot.temporal.converter import data_converter
    from models import make_engine

    settings = server_settings(db_url)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter
    )
    try:
        if phase == "down":
            await env.shutdown()  # the client stays, pointing at a stopped server
        app = create_app(
            engine=make_engine(db_url), api_keys={API_KEY}, settings=settings, temporal=env.client
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        await uvicorn.Server(config).serve()
    finally:
        if phase == "up":
            await env.shutdown()


# ----------------------------------------------------------------------------- the load
@dataclass(frozen=True)
class Latencies:
    phase: str
    endpoint: str
    millis: list[float]
    errors: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.millis)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Request = tuple[str, str, dict[str, str], bytes | None]


def pixels(sent: list[Sent], n: int, tag: str) -> list[Request]:
    return [
        ("GET", f"/api/crm/track/open/{sign({'p': 'o', 'l': x.log_id}, TRACKING_SECRET)}.gif",
         {"User-Agent": f"{BROWSER} {tag}/{i}"}, None)
        for i, x in ((i, sent[i % len(sent)]) for i in range(n))
    ]  # fmt: skip


def replies(sent: list[Sent], brand_address: str, n: int) -> list[Request]:
    out: list[Request] = []
    for body in reply_bodies(sent, brand_address, n):
        method, path, headers, text = signed_post("/api/crm/webhooks/reply", body)
        out.append((method, path, headers, text.encode()))
    return out


async def drive(base: str, requests: list[Request], concurrency: int) -> tuple[list[float], int]:
    """Latency of each request (ms) with `concurrency` in flight, and the non-2xx count."""
    millis: list[float] = []
    errors = 0
    queue = iter(requests)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:

        async def worker() -> None:
            nonlocal errors
            for method, path, headers, body in queue:
                started = time.perf_counter()
                r = await http.request(method, path, headers=headers, content=body)
                millis.append((time.perf_counter() - started) * 1000)
                if not 200 <= r.status_code < 300:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return millis, errors


def phase_run(
    phase: str,
    base: str,
    sent: list[Sent],
    brand_address: str,
    args: argparse.Namespace,
    tag: str = "",
) -> list[Latencies]:
    """`tag` names the checkout (`--before`): its opens get User-Agents of their own, so no
    open is a duplicate of another checkout's."""
    who = f"{phase}{tag.replace(' ', '')}"
    warm = pixels(sent, WARM_UP, f"warm-{who}") + replies(sent, brand_address, WARM_UP)
    asyncio.run(drive(base, warm, args.concurrency))
    out = []
    for name, load in (
        ("open pixel", pixels(sent, args.requests, who)),
        ("reply webhook", replies(sent, brand_address, args.requests)),
    ):
        millis, errors = asyncio.run(drive(base, load, args.concurrency))
        lat = Latencies(phase, name, millis, errors)
        out.append(lat)
        print(
            f"  {phase:<5} {name + tag:<25} n={len(millis)}  p50 {lat.pct(0.5):7.2f} ms"
            f"  p99 {lat.pct(0.99):8.2f} ms  max {max(millis):8.2f} ms  errors {errors}",
            flush=True,
        )
    return out


def pending(engine: Engine) -> int:
    with Session(engine) as s:
        return count_pending(s)


def run(args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="bench-outage-") as tmp,
        database(args.db, Path(tmp)) as url,
    ):
        work = Path(tmp)
        engine = seeded(url)
        sent, brand_address = sent_emails(engine, EMAILS)
        with Session(engine) as s:  # as if started: a signal the server refuses is "delivered"
            wid = sa.literal("deal-") + sa.cast(Deal.id, sa.String)
            s.exec(update(Deal).values(workflow_id=wid))  # type: ignore[call-overload]
            s.commit()
        print(
            f"intake outage benchmark: db={args.db} ({engine.dialect.name}), uvicorn 1 worker, "
            f"{args.concurrency} in flight, {args.requests} requests per endpoint and phase, "
            f"nproc={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        results: dict[tuple[str, str], Latencies] = {}
        left: dict[str, int] = {}
        trees: list[tuple[str, Path | None]] = [("", None)]
        if args.before:
            trees.insert(0, (" (before)", Path(args.before).resolve()))
        for tag, tree in trees:
            for phase in PHASES:
                with server(
                    phase,
                    url,
                    work / "server.log",
                    module="bench.intake_outage",
                    start_timeout=120,
                    cwd=tree,
                ) as base:
                    for lat in phase_run(phase, base, sent, brand_address, args, tag):
                        results[(lat.phase, lat.endpoint + tag)] = lat
                    left[phase + tag] = pending(engine)
        events = stored_events(engine)
        engine.dispose()

    rows = []
    names = [e + tag for tag, _tree in trees for e in ("open pixel", "reply webhook")]
    for endpoint in names:
        up, down = results[("up", endpoint)], results[("down", endpoint)]
        rows.append([endpoint, up.pct(0.5), up.pct(0.99), max(up.millis), up.errors,
                     down.pct(0.5), down.pct(0.99), max(down.millis), down.errors,
                     down.pct(0.5) / up.pct(0.5), down.pct(0.99) / up.pct(0.99)])  # fmt: skip
    print()
    print(
        table(
            ["endpoint", "up p50 ms", "up p99 ms", "up max", "up err",
             "down p50 ms", "down p99 ms", "down max", "down err",
             "p50 down/up", "p99 down/up"],
            rows,
        )
    )  # fmt: skip
    for endpoint in names:
        up, down = results[("up", endpoint)], results[("down", endpoint)]
        record(
            "intake_outage", f"{endpoint} p99 ms, Temporal down ({args.db})",
            value=down.pct(0.99), baseline=up.pct(0.99), unit="ms",
            baseline_name="Temporal up", target="<= 1.5",
            note=f"issue 10's goal: p99 < 100 ms; errors {down.errors}",
        )  # fmt: skip
    print(f"\nevents stored: {events}")
    for phase, count in left.items():
        print(f"events pending after the {phase} phase: {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=600, help="per endpoint and phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--before",
        help="a checkout of an earlier revision: its app is measured too, in the same run",
    )
    parser.add_argument("--serve", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve_async(args.serve, args.db_url, args.port))
    else:
        run(args)


if __name__ == "__main__":
    main()
