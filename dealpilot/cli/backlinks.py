"""`dealpilot backlinks ...`: import research-tool exports, AI pitches, link verification.
The same services as the API (`dealpilot.backlinks.imports`, `dealpilot.backlinks`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlmodel import Session

from dealpilot.cli.imports import import_csv
from dealpilot.cli.support import CLI, connect_workflows, exit_after_client, fail
from dealpilot.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from dealpilot.backlinks.imports import ImportReport
    from dealpilot.temporal.deals import DealWorkflows
    from workflows.link_checks import LinkOutcome

backlinks_app = CLI(
    help="Backlink research: import exports, AI pitches, link checks.", no_args_is_help=True
)

SHOWN_ROWS = 20


def _summary(report: ImportReport) -> None:
    from dealpilot.imports.csvfile import Result

    counts = report.counts
    typer.echo(
        f"{len(report.rows)} rows ({report.tool} export): {counts[Result.created]} created, "
        f"{counts[Result.updated]} updated, {counts[Result.skipped]} skipped, "
        f"{counts[Result.invalid]} invalid"
    )
    noted = [row for row in report.rows if row.result != Result.created]
    for row in noted[:SHOWN_ROWS]:
        typer.echo(f"  line {row.line}: {row.target_url or '-'}  {row.result}  {row.reason}")
    if len(noted) > SHOWN_ROWS:
        typer.echo(f"  ... and {len(noted) - SHOWN_ROWS} more")


@backlinks_app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV export.")
    ],
    brand: Annotated[str, typer.Option(help="Brand id or slug.")],
    tool: Annotated[
        str | None,
        typer.Option(help="ahrefs | semrush | ubersuggest (default: detected from the header)."),
    ] = None,
    keywords: Annotated[
        str, typer.Option(help="Topic words for the relevance score (default: the brand name).")
    ] = "",
) -> None:
    """Import an Ahrefs, Semrush or Ubersuggest export as backlink opportunities. Nothing is
    imported when the file itself is broken."""
    from dealpilot.backlinks.imports import import_backlinks

    report = import_csv(
        file,
        get_settings().effective_database_url,
        lambda session, stream, progress: import_backlinks(
            session, stream, brand=brand, tool=tool, keywords=keywords, on_progress=progress
        ),
    )
    _summary(report)


async def _workflows(settings: Settings) -> DealWorkflows | None:
    from dealpilot.core.errors import ServiceUnavailable

    try:
        return await connect_workflows(settings)
    except ServiceUnavailable as exc:  # links are still checked
        typer.secho(
            f"{exc.message}: links are checked, but deals are not moved",
            err=True,
            fg=typer.colors.YELLOW,
        )
        return None


def _brand_id(session: Session, brand: str) -> int:
    from models import find_brand

    row = find_brand(session, brand)
    if row is None or row.id is None:
        raise fail(f"No brand {brand!r}")
    return row.id


@backlinks_app.command("verify")
def verify(
    brand: Annotated[str, typer.Option(help="Brand id or slug.")],
    move_deals: Annotated[
        bool, typer.Option(help="Move deals whose link is found to Link Placed (needs Temporal).")
    ] = True,
) -> None:
    """Check that our links are on the pages of the brand's outreaching and placed
    opportunities (as the daily link-check schedule does), with progress."""
    from dealpilot.backlinks import LinkChecks, candidate_ids, limits_from
    from models import make_engine, session_scope
    from models.uow import UnitsOfWork

    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(engine) as session:
            ids = candidate_ids(session, _brand_id(session, brand))
    except typer.Exit:
        engine.dispose()
        raise
    outcomes: list[LinkOutcome] = []

    async def run() -> DealWorkflows | None:
        workflows = await _workflows(settings) if move_deals and ids else None
        with typer.progressbar(length=max(len(ids), 1), label="Checking links") as bar:
            outcomes.extend(
                await LinkChecks(UnitsOfWork(engine), limits_from(settings)).verify(
                    ids, workflows, progress=lambda _outcome: bar.update(1)
                )
            )
        return workflows

    try:
        workflows = asyncio.run(run())
    finally:
        engine.dispose()
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.link_check] = counts.get(outcome.link_check, 0) + 1
    moved = sum(1 for o in outcomes if o.deal_moved)
    typer.echo(
        f"{len(outcomes)} checked: {counts.get('found', 0)} found, "
        f"{counts.get('missing', 0)} missing, {counts.get('removed', 0)} removed, "
        f"{counts.get('error', 0)} errors; {moved} deals moved to Link Placed"
    )
    for outcome in outcomes:
        if outcome.newly_removed:
            typer.secho(f"  removed: opportunity {outcome.opportunity_id}", fg=typer.colors.RED)
        elif outcome.link_check == "error":
            typer.echo(f"  error: opportunity {outcome.opportunity_id}: {outcome.error}")
        if outcome.deal_note:
            typer.echo(f"  opportunity {outcome.opportunity_id}: {outcome.deal_note}")
    if workflows is not None:
        exit_after_client()


@backlinks_app.command("pitch")
def pitch(
    brand: Annotated[str, typer.Option(help="Brand id or slug.")],
    all_: Annotated[
        bool, typer.Option("--all", help="Rewrite existing pitches too (default: only missing).")
    ] = False,
) -> None:
    """Write an AI outreach angle and anchor text for the brand's opportunities."""
    from sqlmodel import col, select

    from dealpilot.ai import build_engine
    from dealpilot.backlinks import Pitcher
    from models import BacklinkOpportunity, make_engine, session_scope
    from models.uow import UnitsOfWork

    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(engine) as session:
            brand_id = _brand_id(session, brand)
            stmt = select(BacklinkOpportunity.id).where(BacklinkOpportunity.brand_id == brand_id)
            if not all_:
                stmt = stmt.where(col(BacklinkOpportunity.outreach_angle) == "")
            ids = [i for i in session.exec(stmt).all() if i is not None]
        results = asyncio.run(Pitcher(UnitsOfWork(engine), build_engine(settings)).pitch_many(ids))
    finally:
        engine.dispose()
    ok = sum(1 for r in results if r.ok)
    typer.echo(f"{ok} pitched, {len(results) - ok} failed")
    for result in results:
        if not result.ok:
            typer.echo(f"  opportunity {result.opportunity_id}: {result.error}")
