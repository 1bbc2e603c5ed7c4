"""`dealpilot compose ...`: the email composer from a terminal, through the same service as
the REST API (`dealpilot.composer.service`, `dealpilot.composer.sending`), on the database and
Temporal cluster the settings name.

    dealpilot compose draft --brand codeteki --pipeline sales --type intro --tone friendly \\
        --to "Priya <priya@x.com.au>, raj@y.com.au" --tag agents --instructions "..."
    dealpilot compose draft ... --no-ai --subject "Hi {{ contact.first_name }}" --body-file b.txt
    dealpilot compose schedule 12 --at "2026-11-24 09:30" [--timezone Australia/Perth]
    dealpilot compose send 12
    dealpilot compose list [--brand codeteki] [--status scheduled]
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from dealpilot.cli.support import CLI, connect_workflows, domain_errors, exit_after_client

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from dealpilot.composer.schemas import DraftPublic

T = TypeVar("T")

compose_app = CLI(
    help="Email composer: AI-drafted emails to many recipients, sent now or at a set time.",
    no_args_is_help=True,
)


def _settings() -> Any:
    from dealpilot.core.settings import get_settings

    return get_settings()


def _engine() -> Engine:
    from models import make_engine

    return make_engine(_settings().effective_database_url)


def _in_session(work: Callable[[Session], T]) -> T:
    """One unit of work per command: committed when `work` returns, rolled back if it raises."""
    from models import session_scope

    with session_scope(_engine()) as session:
        return work(session)


def format_draft(draft: DraftPublic) -> str:
    kind = "AI draft" if draft.ai_generated else "written by a person"
    to = f"{len(draft.recipients)} listed"
    if draft.recipient_filter:
        to += " + filter " + ", ".join(f"{k}={v}" for k, v in draft.recipient_filter.items() if v)
    lines = [
        f"Draft {draft.id}  [{draft.status}]  brand {draft.brand_id} / pipeline "
        f"{draft.pipeline_id}  {draft.email_type}, {draft.tone}  ({kind})",
        f"  to       {to}: {', '.join(draft.recipients[:5])}"
        + (" ..." if len(draft.recipients) > 5 else ""),
    ]
    if draft.scheduled_at is not None:
        lines.append(
            f"  sends at {draft.scheduled_local} ({draft.scheduled_at:%Y-%m-%d %H:%M} UTC)"
        )
    if draft.sent_at is not None:
        lines.append(f"  sent at  {draft.sent_at:%Y-%m-%d %H:%M} UTC")
    lines += [f"  subject  {draft.subject}", "", *("  " + line for line in draft.body.split("\n"))]
    lines += format_outcome(draft.outcome)
    return "\n".join(lines)


def format_outcome(outcome: dict[str, Any]) -> list[str]:
    if not outcome:
        return []
    if "error" in outcome:
        error = outcome["error"]
        return ["", f"Not sent [{error['code']}]: {error['message']}"]
    deals, skipped = outcome.get("deals", []), outcome.get("skipped", [])
    lines = [
        "",
        f"Outcome: {len(deals)} deal(s) created, {outcome.get('workflows_started', 0)} "
        f"workflow(s) started, {len(skipped)} skipped",
    ]
    lines += [
        f"  deal {d['deal_id']:<6} {d['email']:<40} {d['workflow_id'] or 'workflow pending'}"
        for d in deals
    ]
    lines += [f"  skipped  {s['email']:<40} {s['reason']}: {s['message']}" for s in skipped]
    if outcome.get("workflows_pending"):
        lines.append(
            f"  {outcome['workflows_pending']} workflow(s) not started yet: the scheduled-drafts "
            "job starts them once Temporal is reachable"
        )
    return lines


def _show(draft: DraftPublic, as_json: bool) -> None:
    typer.echo(draft.model_dump_json(indent=2) if as_json else format_draft(draft))


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@compose_app.command("draft")
def draft_cmd(
    brand: Annotated[str, typer.Option(help="Brand slug or id.")],
    pipeline: Annotated[str, typer.Option(help="Pipeline slug or id (of that brand).")],
    email_type: Annotated[
        str, typer.Option("--type", help="intro, follow_up, backlink_pitch, partnership, ...")
    ] = "intro",
    tone: Annotated[str, typer.Option(help="friendly, professional, direct, ...")] = "friendly",
    to: Annotated[str, typer.Option(help="Addresses: 'a@b.com, Name <c@d.com>; ...'.")] = "",
    contact: Annotated[
        list[int] | None, typer.Option("--contact", help="A contact id (repeatable).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Also every contact with this tag (repeatable).")
    ] = None,
    instructions: Annotated[str, typer.Option(help="What the AI should say.")] = "",
    ai: Annotated[bool, typer.Option("--ai/--no-ai", help="Let the AI write it.")] = True,
    subject: Annotated[str, typer.Option(help="Subject (with --no-ai).")] = "",
    body_file: Annotated[
        Path | None, typer.Option(help="Body text file ('-' for stdin), with --no-ai.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a draft (the AI writes it unless --no-ai)."""
    from dealpilot.composer import service
    from dealpilot.composer.rules import RecipientFilter
    from dealpilot.composer.schemas import DraftCreate

    body = ""
    if body_file is not None:
        body = sys.stdin.read() if str(body_file) == "-" else body_file.read_text("utf-8")
    data = DraftCreate(
        brand=brand,
        pipeline=pipeline,
        email_type=email_type,
        tone=tone,
        contact_ids=contact or [],
        addresses=to,
        filter=RecipientFilter(tags=tag) if tag else None,
        instructions=instructions,
        ai=ai,
        subject=subject,
        body=body,
    )

    def create(session: Session) -> DraftPublic:
        from dealpilot.ai import build_engine
        from dealpilot.rendering.renderer import EmailRenderer

        plan = service.plan_draft(session, data)
        composed = None
        if data.ai:
            composed = asyncio.run(service.compose(build_engine(_settings()), plan, data))
        return service.to_public(
            service.store_draft(session, EmailRenderer(), plan, data, composed)
        )

    _show(_in_session(create), as_json)


@compose_app.command("schedule")
def schedule_cmd(
    draft_id: int,
    at: Annotated[str, typer.Option(help="Local time, e.g. '2026-11-24 09:30' (in --timezone).")],
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Australia/Sydney",
    as_json: JsonOpt = False,
) -> None:
    """Send the draft at a time: the scheduled-drafts job releases it."""
    from dealpilot.composer import service
    from dealpilot.core.errors import ErrorDetail, Unprocessable
    from models import utcnow

    try:
        when = datetime.fromisoformat(at.strip())
    except ValueError as exc:
        raise Unprocessable(
            f"{at!r} is not a date and time like '2026-11-24 09:30'",
            code="validation_error",
            details=[ErrorDetail(field="at", problem="not a date and time")],
        ) from exc
    draft = _in_session(
        lambda s: service.to_public(
            service.schedule_draft(s, draft_id, when, timezone, now=utcnow())
        )
    )
    _show(draft, as_json)


@compose_app.command("unschedule")
def unschedule_cmd(draft_id: int, as_json: JsonOpt = False) -> None:
    """Take a scheduled draft back (it stays a draft)."""
    from dealpilot.composer import service

    _show(_in_session(lambda s: service.to_public(service.unschedule_draft(s, draft_id))), as_json)


@compose_app.command("show")
def show_cmd(draft_id: int, as_json: JsonOpt = False) -> None:
    """A draft and, once sent, its outcome (deals, skipped recipients)."""
    from dealpilot.composer import service
    from dealpilot.composer.recipients import get_draft

    _show(_in_session(lambda s: service.to_public(get_draft(s, draft_id))), as_json)


@compose_app.command("list")
def list_cmd(
    brand: Annotated[str | None, typer.Option(help="Brand slug or id.")] = None,
    status: Annotated[str | None, typer.Option(help="draft, scheduled or sent.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Composer drafts, newest first."""
    from dealpilot.composer import service
    from models import DraftStatus

    wanted = DraftStatus(status) if status else None

    def rows(session: Session) -> list[DraftPublic]:
        stmt = service.list_stmt(
            session, brand=brand, pipeline=None, status=wanted, email_type=None
        )
        return [service.to_public(d) for d in session.exec(stmt.limit(limit)).all()]

    drafts = _in_session(rows)
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in drafts], indent=2))
        return
    for d in drafts:
        when = d.scheduled_local or (f"{d.sent_at:%Y-%m-%d %H:%M} UTC" if d.sent_at else "")
        typer.echo(f"{d.id:<6} {d.status:<10} {d.email_type:<15} {when:<22} {d.subject}")


@compose_app.command("send")
def send_cmd(draft_id: int, as_json: JsonOpt = False) -> None:
    """Send now: the deals are created and each deal's workflow sends the email."""
    from dealpilot.composer import service
    from dealpilot.composer.sending import send_now
    from models.uow import UnitsOfWork

    async def run() -> DraftPublic:
        # Connect first: when Temporal is unreachable nothing is changed.
        workflows = await connect_workflows(_settings())
        return service.to_public(await send_now(workflows, UnitsOfWork(_engine()), draft_id))

    # Mapped here rather than around the command: a Temporal client command ends with
    # exit_after_client, error or not.
    try:
        with domain_errors():
            draft = asyncio.run(run())
        _show(draft, as_json)
    except typer.Exit as exc:
        exit_after_client(exc.exit_code)
    exit_after_client(0)
