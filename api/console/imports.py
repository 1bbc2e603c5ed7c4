"""CSV import of contacts with live progress: the upload creates a job row
(`dealpilot.imports.jobs`) and runs the same `dealpilot.imports.contacts.import_contacts` as
`POST /api/crm/contacts/import/` and `dealpilot import contacts`, in a task with its own unit
of work. The page polls the job's progress (rows read of the file's lines) and shows the
per-row report at the end, downloadable as CSV. Jobs are rows, not process memory: any API
replica serves the page and the report, and both survive a restart."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from typing import Annotated

import structlog
from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import EngineDep, OptionalTemporalDep, SessionDep, UnitOfWorkDep
from api.uploads import MAX_UPLOAD_BYTES
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.desk.board import pipeline_choices
from dealpilot.desk.contacts import brands_in_scope
from dealpilot.imports import jobs
from dealpilot.imports.contacts import ImportOptions, import_contacts
from dealpilot.imports.starting import start_enrolled
from dealpilot.temporal.deals import DealWorkflows
from models import ImportJob, session_scope, utcnow
from models.uow import unit_of_work

router = APIRouter(prefix="/imports")
log = structlog.get_logger(__name__)


def _live(request: Request) -> dict[str, int]:
    """Rows read by the jobs this process runs, for progress between the database's notes
    (SQLite allows one writer: the running import's transaction holds it)."""
    live: dict[str, int] | None = getattr(request.app.state, "import_live", None)
    if live is None:
        live = request.app.state.import_live = {}
    return live


async def _run(
    job_id: str,
    total: int,
    engine: Engine,
    workflows: DealWorkflows | None,
    data: bytes,
    options: ImportOptions,
    live: dict[str, int],
) -> None:
    notes = engine.dialect.name != "sqlite"

    def progress(rows: int) -> None:
        live[job_id] = min(rows, total)
        if notes:  # other replicas read the row; a failed note only delays the bar
            try:
                with session_scope(engine) as session:
                    jobs.note_progress(session, job_id, min(rows, total))
            except SQLAlchemyError:
                log.warning("import_progress_not_noted", job_id=job_id)

    error = ""
    try:
        async with unit_of_work(engine) as uow:
            report = await run_in_threadpool(
                import_contacts, uow.session, io.BytesIO(data), options, on_progress=progress
            )
            await run_in_threadpool(jobs.finish, uow.session, job_id, report)

            async def start() -> None:
                started = await start_enrolled(workflows, uow.transact, report.deal_ids)
                await uow.transact(lambda s: jobs.note_started(s, job_id, started.started))

            uow.after_commit.add(start)
    except DealpilotError as exc:
        error = exc.message
    except Exception:  # the page must end, whatever went wrong; the log has the cause
        log.exception("import_failed", job_id=job_id)
        error = "the import failed unexpectedly; nothing was imported"
    finally:
        live.pop(job_id, None)
    if error:
        async with unit_of_work(engine) as uow:
            jobs.finish(uow.session, job_id, None, error)


@router.get("/")
def import_page(request: Request, operator: OperatorDep, session: SessionDep) -> Response:
    context = {
        "brands": brands_in_scope(session, operator.scope),
        "pipelines": pipeline_choices(session, operator.scope),
    }
    return render(request, "import.html", context)


@router.post("/")
async def start_import(
    request: Request,
    operator: OperatorDep,
    cookie: SessionCookieDep,
    uow: UnitOfWorkDep,
    engine: EngineDep,
    temporal: OptionalTemporalDep,
    file: Annotated[UploadFile, File()],
    brand: Annotated[str, Form(max_length=64)],
    pipeline: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    session = uow.session
    allowed = {b.slug: b for b in brands_in_scope(session, operator.scope)}
    pipelines = {p.pipeline_id for p in pipeline_choices(session, operator.scope)}
    if brand not in allowed or (pipeline is not None and pipeline not in pipelines):
        raise NotFound("Choose one of your brands and pipelines")
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        cookie.flash(f"The file is larger than {MAX_UPLOAD_BYTES >> 20} MB; split it.", "error")
        return RedirectResponse("/console/imports/", status_code=303)
    options = ImportOptions(
        brand=brand,
        pipeline=str(pipeline) if pipeline else None,
        source="console import",
    )
    job_id = secrets.token_urlsafe(12)
    total = max(data.count(b"\n"), 1)
    jobs.create_job(
        session,
        job_id=job_id,
        user_id=operator.user_id,
        brand_id=allowed[brand].id or 0,
        filename=file.filename or "upload.csv",
        total=total,
    )
    await uow.commit_now()  # the job's page must find its row before the task runs
    live = _live(request)
    live[job_id] = 0
    task = asyncio.create_task(_run(job_id, total, engine, temporal, data, options, live))
    tasks: set[asyncio.Task[None]] = getattr(request.app.state, "import_tasks", set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    request.app.state.import_tasks = tasks
    return RedirectResponse(f"/console/imports/{job_id}", status_code=303)


def _job(request: Request, session: SessionDep, operator: OperatorDep, job_id: str) -> ImportJob:
    job = jobs.get_job(session, job_id, operator.user_id)
    running_here = _live(request).get(job_id)
    if running_here is not None and not job.done:
        job.read = max(job.read, running_here)
        job.updated_at = utcnow()  # alive: this process runs it
    session.expunge(job)  # shown, never written back
    return job


@router.get("/{job_id}")
def job_page(request: Request, job_id: str, operator: OperatorDep, session: SessionDep) -> Response:
    job = _job(request, session, operator, job_id)
    rows = [r for r in job.rows if r[2] != "created"][:200]
    context = {"job": job, "job_id": job_id, "stale": jobs.is_stale(job), "rows": rows}
    return render(request, "import_job.html", context)


@router.get("/{job_id}/progress")
def job_progress(
    request: Request, job_id: str, operator: OperatorDep, session: SessionDep
) -> Response:
    return JSONResponse(jobs.progress(_job(request, session, operator, job_id)))


def _cell(text: str) -> str:
    """A value a spreadsheet will not run as a formula (the file came from outside)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@router.get("/{job_id}/report.csv")
def job_report(
    request: Request, job_id: str, operator: OperatorDep, session: SessionDep
) -> Response:
    job = _job(request, session, operator, job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "email", "result", "reason", "contact_id"])
    for line, email, result, reason, contact_id in job.rows:
        writer.writerow([line, _cell(str(email)), result, _cell(str(reason)), contact_id or ""])
    headers = {"Content-Disposition": 'attachment; filename="import-report.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)
