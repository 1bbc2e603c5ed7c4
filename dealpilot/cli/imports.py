"""`dealpilot import ...`: files into the database (contacts from CSV), with a progress bar.
The work is `dealpilot.imports.contacts`, the same service as `POST /api/crm/contacts/import/`."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlmodel import Session

from dealpilot.cli.support import CLI, connect_workflows, exit_after_client
from dealpilot.core.settings import Settings, get_settings
from models import ContactType

if TYPE_CHECKING:
    from dealpilot.imports.contacts import ImportOptions, ImportReport, StartReport
    from models.uow import Transact

import_app = CLI(help="Import files: contacts from CSV.", no_args_is_help=True)

SHOWN_ROWS = 20
T = TypeVar("T")


@contextmanager
def _reading(file: Path) -> Iterator[tuple[IO[bytes], Callable[[int], None]]]:
    """The open file and a progress callback moving a progress bar by bytes read."""
    with (
        file.open("rb") as stream,
        typer.progressbar(length=max(file.stat().st_size, 1), label="Importing") as bar,
    ):
        position = 0

        def progress(_rows: int) -> None:
            nonlocal position
            now = stream.tell()
            bar.update(now - position)
            position = now

        yield stream, progress


def import_csv(
    file: Path, database_url: str, run: Callable[[Session, IO[bytes], Callable[[int], None]], T]
) -> T:
    """Runs an importer (`run(session, stream, on_progress)`) over `file` with a progress bar
    by bytes read, in one unit of work: committed when it returns, rolled back when the file
    or the options are wrong (the importer's error then ends the command)."""
    from dealpilot.core.errors import DealpilotError
    from models import make_engine, session_scope

    engine = make_engine(database_url)
    try:
        with _reading(file) as (stream, progress), session_scope(engine) as session:
            return run(session, stream, progress)
    except DealpilotError:
        typer.echo(f"{file}: nothing was imported", err=True)
        raise
    finally:
        engine.dispose()


def _write_report(path: Path, report: ImportReport) -> None:

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "email", "result", "reason", "contact_id"])
        for row in report.rows:
            writer.writerow([row.line, row.email, row.result, row.reason, row.contact_id or ""])


async def _start(settings: Settings, transact: Transact, deal_ids: list[int]) -> StartReport:
    from dealpilot.core.errors import ServiceUnavailable
    from dealpilot.imports.contacts import RETRY_HINT, StartReport, start_enrolled

    try:
        workflows = await connect_workflows(settings)
    except ServiceUnavailable as exc:  # the deals are saved: say how to start them later
        return StartReport(0, len(deal_ids), f"{exc.message}: {len(deal_ids)} deals {RETRY_HINT}")
    return await start_enrolled(workflows, transact, deal_ids)


async def _import_contacts(
    file: Path, settings: Settings, options: ImportOptions, *, report: Path | None, start: bool
) -> bool:
    """The import in one unit of work; once it committed, the new deals' workflows start
    through the same `Transact`. True when a Temporal client was used."""
    from dealpilot.core.errors import DealpilotError
    from dealpilot.imports.contacts import RETRY_HINT, import_contacts
    from models import make_engine
    from models.uow import UnitsOfWork

    engine = make_engine(settings.effective_database_url)
    transact = UnitsOfWork(engine)
    try:
        try:
            with _reading(file) as (stream, progress):
                result = await transact(
                    lambda session: import_contacts(session, stream, options, on_progress=progress)
                )
        except DealpilotError:
            typer.echo(f"{file}: nothing was imported", err=True)
            raise
        _summary(result)
        if report is not None:
            _write_report(report, result)
            typer.echo(f"per-row report written to {report}")
        if not result.deal_ids:
            return False
        typer.echo(f"{len(result.deal_ids)} deals created in pipeline {options.pipeline}")
        if not start:
            typer.echo(
                f"workflows not started (--no-start): the {len(result.deal_ids)} deals {RETRY_HINT}"
            )
            return False
        started = await _start(settings, transact, result.deal_ids)
        typer.echo(f"{started.started} workflows started")
        if started.message:
            typer.secho(started.message, err=True, fg=typer.colors.YELLOW)
        return True
    finally:
        engine.dispose()


def _summary(report: ImportReport) -> None:
    from dealpilot.imports.csvfile import Result

    counts = report.counts
    typer.echo(
        f"{len(report.rows)} rows: {counts[Result.created]} created, "
        f"{counts[Result.updated]} updated, {counts[Result.skipped]} skipped, "
        f"{counts[Result.invalid]} invalid"
    )
    noted = [row for row in report.rows if row.result != Result.created or row.reason]
    for row in noted[:SHOWN_ROWS]:
        typer.echo(f"  line {row.line}: {row.email or '-'}  {row.result}  {row.reason}")
    if len(noted) > SHOWN_ROWS:
        typer.echo(f"  ... and {len(noted) - SHOWN_ROWS} more (write them all with --report)")


@import_app.command("contacts")
def contacts(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
    ],
    brand: Annotated[str, typer.Option(help="Brand id or slug.")],
    pipeline: Annotated[
        str | None, typer.Option(help="Enrol every NEW contact in this pipeline (id or slug).")
    ] = None,
    update_existing: Annotated[
        bool, typer.Option(help="Update contacts the brand already has.")
    ] = False,
    check_mx: Annotated[bool, typer.Option(help="Skip addresses without a mail server.")] = False,
    tag: Annotated[list[str] | None, typer.Option(help="Tag every contact (repeatable).")] = None,
    contact_type: Annotated[
        ContactType | None, typer.Option(help="Type for rows without one.")
    ] = None,
    source: Annotated[str, typer.Option(help="Recorded as each new contact's source.")] = (
        "csv import"
    ),
    report: Annotated[
        Path | None, typer.Option(help="Write every row's outcome to this CSV file.")
    ] = None,
    start: Annotated[
        bool, typer.Option(help="Start the new deals' workflows (needs Temporal).")
    ] = True,
) -> None:
    """Import contacts from a CSV file into a brand. Nothing is imported when the file itself
    is broken (encoding, quoting, no email column)."""
    from dealpilot.imports.contacts import ImportOptions

    options = ImportOptions(
        brand=brand,
        pipeline=pipeline,
        update_existing=update_existing,
        check_mx=check_mx,
        tags=tuple(tag or ()),
        contact_type=contact_type,
        source=source,
    )
    if asyncio.run(_import_contacts(file, get_settings(), options, report=report, start=start)):
        exit_after_client()
