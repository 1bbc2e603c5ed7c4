"""CSV import of contacts with live progress: the upload starts a job (the same
`dealpilot.imports.contacts.import_contacts` as `POST /api/crm/contacts/import/` and
`dealpilot import contacts`) in a thread with its own unit of work; the page polls the job's
progress (rows read of the file's lines) and shows the per-row report at the end, which can
be downloaded as CSV. Jobs live in the API process's memory (kept for an hour)."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.console.deps import OperatorDep, SessionCookieDep, render
from api.deps import EngineDep, OptionalTemporalDep, SessionDep
from api.uploads import MAX_UPLOAD_BYTES
from dealpilot.core.errors import DealpilotError, NotFound
from dealpilot.desk.board import pipeline_choices
from dealpilot.desk.contacts import brands_in_scope
from dealpilot.imports.contacts import ImportOptions, ImportReport, import_contacts
from dealpilot.imports.starting import start_enrolled
from dealpilot.temporal.deals import DealWorkflows
from models.uow import unit_of_work

router = APIRouter(prefix="/imports")
KEEP_SECONDS = 3600


@dataclass
class ImportJob:
    user_id: int
    filename: str
    total: int  # lines after the header: what "done" means for the progress bar
    read: int = 0
    done: bool = False
    error: str = ""
    report: ImportReport | None = None
    started: int = 0
    created_at: float = field(default_factory=time.monotonic)


def _jobs(request: Request) -> dict[str, ImportJob]:
    jobs: dict[str, ImportJob] | None = getattr(request.app.state, "import_jobs", None)
    if jobs is None:
        jobs = request.app.state.import_jobs = {}
    cutoff = time.monotonic() - KEEP_SECONDS
    for key in [k for k, job in jobs.items() if job.done and job.created_at < cutoff]:
        del jobs[key]
    return jobs


async def _run(
    job: ImportJob,
    engine: Engine,
    workflows: DealWorkflows | None,
    data: bytes,
    options: ImportOptions,
) -> None:
    def progress(rows: int) -> None:
        job.read = min(rows, job.total)

    try:
        async with unit_of_work(engine) as uow:
            report = await run_in_threadpool(
                import_contacts, uow.session, io.BytesIO(data), options, on_progress=progress
            )

            async def start() -> None:
                started = await start_enrolled(workflows, uow.transact, report.deal_ids)
                job.started = started.started

            uow.after_commit.add(start)
        job.report = report
    except DealpilotError as exc:
        job.error = exc.message
    finally:
        job.read, job.done = job.total, True


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
    session: SessionDep,
    engine: EngineDep,
    temporal: OptionalTemporalDep,
    file: Annotated[UploadFile, File()],
    brand: Annotated[str, Form(max_length=64)],
    pipeline: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    allowed = {b.slug for b in brands_in_scope(session, operator.scope)}
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
    job = ImportJob(operator.user_id, file.filename or "upload.csv", max(data.count(b"\n"), 1))
    job_id = secrets.token_urlsafe(12)
    _jobs(request)[job_id] = job
    task = asyncio.create_task(_run(job, engine, temporal, data, options))
    request.app.state.import_tasks = {*getattr(request.app.state, "import_tasks", set()), task}
    return RedirectResponse(f"/console/imports/{job_id}", status_code=303)


def _job(request: Request, operator: OperatorDep, job_id: str) -> ImportJob:
    job = _jobs(request).get(job_id)
    if job is None or job.user_id != operator.user_id:
        raise NotFound("No such import")
    return job


@router.get("/{job_id}")
def job_page(request: Request, job_id: str, operator: OperatorDep) -> Response:
    job = _job(request, operator, job_id)
    return render(request, "import_job.html", {"job": job, "job_id": job_id})


@router.get("/{job_id}/progress")
def job_progress(request: Request, job_id: str, operator: OperatorDep) -> Response:
    job = _job(request, operator, job_id)
    counts = {str(k): v for k, v in job.report.counts.items()} if job.report else {}
    return JSONResponse(
        {
            "read": job.read,
            "total": job.total,
            "done": job.done,
            "error": job.error,
            "counts": counts,
            "started": job.started,
        }
    )


def _cell(text: str) -> str:
    """A value a spreadsheet will not run as a formula (the file came from outside)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@router.get("/{job_id}/report.csv")
def job_report(request: Request, job_id: str, operator: OperatorDep) -> Response:
    job = _job(request, operator, job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "email", "result", "reason", "contact_id"])
    for row in job.report.rows if job.report else []:
        writer.writerow(
            [row.line, _cell(row.email), row.result, _cell(row.reason), row.contact_id or ""]
        )
    headers = {"Content-Disposition": 'attachment; filename="import-report.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)
