"""Console import jobs in the database (`consoleimport`): created when the upload arrives,
their rows-read count noted as the import goes, and the counts and per-row report written in
the same transaction as the imported contacts, so the report exists exactly when the import
does. Any API replica serves a job's page and report, and both outlive a restart.

A job whose process died (an API restart mid-import) never commits its contacts; with no
news for `STALE_AFTER` its page says so and the file can be imported again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, update

from dealpilot.core.errors import NotFound
from dealpilot.imports.contacts import ImportReport
from models import ImportJob, utcnow

STALE_AFTER = timedelta(minutes=10)
MAX_ERROR = 1000


def create_job(
    session: Session, *, job_id: str, user_id: int, brand_id: int, filename: str, total: int
) -> ImportJob:
    job = ImportJob(
        id=job_id, user_id=user_id, brand_id=brand_id, filename=filename[:255], total=total
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str, user_id: int) -> ImportJob:
    """The user's own job; anyone else's is a 404 like a missing one."""
    job = session.get(ImportJob, job_id[:32])
    if job is None or job.user_id != user_id:
        raise NotFound("No such import")
    return job


def note_progress(session: Session, job_id: str, rows_read: int) -> None:
    """Rows read so far (and a sign of life), capped at the file's lines."""
    session.exec(
        update(ImportJob)
        .where(col(ImportJob.id) == job_id, col(ImportJob.done).is_(False))
        .values(read=rows_read, updated_at=utcnow())
    )


def finish(session: Session, job_id: str, report: ImportReport | None, error: str = "") -> None:
    """The job's outcome: in the import's own transaction when it succeeded, so the report
    and the contacts are committed together."""
    job = session.get(ImportJob, job_id)
    if job is None:
        return
    job.done, job.read, job.error = True, job.total, error[:MAX_ERROR]
    if report is not None:
        job.counts = {str(k): v for k, v in report.counts.items()}
        job.rows = [[r.line, r.email, str(r.result), r.reason, r.contact_id] for r in report.rows]
    job.updated_at = utcnow()
    session.add(job)
    session.flush()


def note_started(session: Session, job_id: str, started: int) -> None:
    session.exec(update(ImportJob).where(col(ImportJob.id) == job_id).values(started=started))


def is_stale(job: ImportJob) -> bool:
    return not job.done and utcnow() - job.updated_at > STALE_AFTER


def progress(job: ImportJob) -> dict[str, Any]:
    return {
        "read": job.read,
        "total": job.total,
        "done": job.done,
        "error": job.error,
        "stale": is_stale(job),
        "counts": job.counts,
        "started": job.started,
    }
