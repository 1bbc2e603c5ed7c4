"""The `dealpilot` command: one module, one subcommand per job."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from dealpilot.cli.ai import ai_app
from dealpilot.cli.backlinks import backlinks_app
from dealpilot.cli.compose import compose_app
from dealpilot.cli.imports import import_app
from dealpilot.cli.support import CLI, exit_after_client
from dealpilot.cli.users import users_app
from dealpilot.core.logging import configure_logging
from dealpilot.core.settings import get_settings

app = CLI(help="dealpilot: the AI outreach autopilot.", no_args_is_help=True)
deal_app = CLI(help="Inspect deal workflows (state, timeline, search).")
app.add_typer(deal_app, name="deal")
app.add_typer(import_app, name="import")
app.add_typer(compose_app, name="compose")
app.add_typer(backlinks_app, name="backlinks")
app.add_typer(users_app, name="users")
app.add_typer(ai_app, name="ai")


@app.callback()
def _setup() -> None:
    configure_logging(get_settings())


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from models import migrate as run_migrate

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run_migrate(settings.effective_database_url)
    typer.echo("database is at the newest schema")


@app.command()
def seed() -> None:
    """Create the default brands, pipelines, stages and prompts (idempotent)."""
    from dealpilot.setup.database import prepare_database

    prepare_database(get_settings(), seed=True)
    typer.echo("seeded default brands, pipelines and prompts")


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
) -> None:
    """Serve the REST API (uvicorn)."""
    from dealpilot.cli.devstack import serve_api

    asyncio.run(serve_api(get_settings(), host=host, port=port))


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Our metrics port (default WORKER_METRICS_PORT; 0: off)."),
    ] = None,
    temporal_metrics_port: Annotated[
        int | None,
        typer.Option(help="Temporal SDK metrics port (default TEMPORAL_METRICS_PORT; 0: off)."),
    ] = None,
) -> None:
    """Run a Temporal worker for the deal workflows and their activities."""
    from dealpilot.cli.support import entry_point

    run_worker = entry_point("worker:run_worker")

    settings = get_settings()
    ports = {"worker_metrics_port": metrics_port, "temporal_metrics_port": temporal_metrics_port}
    chosen = {name: port for name, port in ports.items() if port is not None}
    asyncio.run(run_worker(settings.model_copy(update=chosen) if chosen else settings))


@app.command("setup-temporal")
def setup_temporal(
    wait: Annotated[
        float, typer.Option(help="Seconds to keep retrying while Temporal is not up yet.")
    ] = 120.0,
) -> None:
    """Register the deal search attributes on TEMPORAL_NAMESPACE (idempotent; compose's
    `migrate` service runs it before the API and the workers start)."""
    from dealpilot.temporal.connection import setup_temporal as run_setup

    try:
        names = asyncio.run(run_setup(get_settings(), wait=wait))
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        exit_after_client(1)
    typer.echo(f"search attributes registered on {get_settings().temporal_namespace}: {names}")
    exit_after_client()


@app.command()
def dev(
    demo: Annotated[
        bool, typer.Option(help="Also enrol sample contacts with an always-open demo brand.")
    ] = False,
    host: Annotated[str, typer.Option(help="API interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
) -> None:
    """Run the whole development stack: Temporal dev server, worker and API. Ctrl-C stops it."""
    from dealpilot.cli.devstack import run_dev

    try:
        asyncio.run(run_dev(get_settings(), demo=demo, host=host, port=port))
    except KeyboardInterrupt:
        typer.echo("stopped")


@deal_app.command("show")
def deal_show(deal_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A deal's current state and its timeline (workflow queries)."""
    from dealpilot.cli.deals import show_deal

    data = asyncio.run(show_deal(get_settings(), deal_id))
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        from dealpilot.cli.deals import format_deal

        typer.echo(format_deal(data))
    exit_after_client()


@deal_app.command("list")
def deal_list(
    stage: Annotated[str | None, typer.Option(help="Stage name, e.g. 'Follow-up 1'.")] = None,
    tier: Annotated[str | None, typer.Option(help="Engagement tier, e.g. hot.")] = None,
    brand: Annotated[str | None, typer.Option(help="Brand slug, e.g. codeteki.")] = None,
    status: Annotated[str | None, typer.Option(help="active, paused, won or lost.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
) -> None:
    """Search running deals through Temporal visibility."""
    from dealpilot.cli.deals import format_deal_rows, list_deals

    rows = asyncio.run(
        list_deals(get_settings(), stage=stage, tier=tier, brand=brand, status=status, limit=limit)
    )
    typer.echo(format_deal_rows(rows))
    exit_after_client()


def main() -> None:
    app()
