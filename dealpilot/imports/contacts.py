"""Importing a CSV of contacts into one brand: the one service behind
`POST /api/crm/contacts/import` and `dealpilot import contacts`.

`import_contacts(session, stream, options)` reads the file as a stream (`csvfile`), maps
its columns, validates each address (syntax; the mail server too with `check_mx`), dedupes
within the file and against the brand, skips the brand's suppressed addresses, creates or
(with `update_existing`) updates contacts in batches, and enrols each NEW contact in
`options.pipeline` (first stage) through the bulk enrolment service. It flushes, never
commits: the caller commits once at the end, so a file-level problem found at row 9,000
(`CSVFormatError`: bad encoding, broken quoting) rolls the whole import back. The result
keeps one compact outcome per row, never the rows themselves.

Deal workflows start only after that commit: `start_enrolled(workflows, transact, deal_ids)`,
from the unit of work's after-commit work or after the `transact` step that committed.

The rows are read and checked in `contact_rows`, the workflows started in `starting`; the
names callers use are importable from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import insert, select
from sqlmodel import Session, col

from dealpilot.deals import bulk
from dealpilot.deals.schemas import BulkEnrolRequest
from dealpilot.deals.service import stages_in_order
from dealpilot.imports.contact_rows import (
    ALIASES,
    UPDATABLE_FIELDS,
    Candidate,
    ImportOptions,
    RowChecker,
    RowOutcome,
    open_contacts_file,
)
from dealpilot.imports.csvfile import ImportRequestError, Result, batches
from dealpilot.imports.mx import MailDomainChecker
from dealpilot.imports.starting import RETRY_HINT, START_BATCH, StartReport, start_enrolled
from models import Brand, Contact, Pipeline, Suppression, find_brand, utcnow
from models.types import is_row_id

__all__ = [
    "ALIASES",
    "BATCH_ROWS",
    "INSERT_PAGE",
    "RETRY_HINT",
    "START_BATCH",
    "ImportOptions",
    "ImportReport",
    "ProgressCallback",
    "RowOutcome",
    "StartReport",
    "import_contacts",
    "open_contacts_file",
    "start_enrolled",
]

BATCH_ROWS = 500
INSERT_PAGE = 100


@dataclass
class ImportReport:
    brand_id: int
    pipeline_id: int | None
    rows: list[RowOutcome] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)

    @property
    def counts(self) -> dict[Result, int]:
        found = Counter(row.result for row in self.rows)
        return {result: found[result] for result in Result}


ProgressCallback = Callable[[int], None]


# ---------------------------------------------------------------------------- resolving
def _brand(session: Session, ref: str) -> Brand:
    brand = find_brand(session, ref)
    if brand is None:
        raise ImportRequestError(f"No brand {ref!r}", field="brand", code="unknown_brand")
    return brand


def _pipeline(session: Session, ref: str, brand: Brand) -> Pipeline:
    by = col(Pipeline.id) == int(ref) if is_row_id(ref) else col(Pipeline.slug) == ref
    pipeline: Pipeline | None = session.execute(
        select(Pipeline).where(by, col(Pipeline.brand_id) == brand.id)
    ).scalar_one_or_none()
    if pipeline is None:
        raise ImportRequestError(
            f"Brand {brand.slug!r} has no pipeline {ref!r}",
            field="pipeline",
            code="unknown_pipeline",
        )
    assert pipeline.id is not None
    if not stages_in_order(session, pipeline.id):
        raise ImportRequestError(
            f"Pipeline {pipeline.slug!r} has no stages yet",
            field="pipeline",
            code="pipeline_has_no_stages",
        )
    return pipeline


# ------------------------------------------------------------------------------ batches
def _update(contact: Contact, found: Candidate) -> list[str]:
    changed = []
    for name in UPDATABLE_FIELDS:
        new = getattr(found.data, name)
        if name in found.given and new != getattr(contact, name):
            setattr(contact, name, new)
            changed.append(name)
    if "tags" in found.given:
        merged = list(dict.fromkeys([*(contact.tags or []), *found.data.tags]))
        if merged != (contact.tags or []):
            contact.tags = merged
            changed.append("tags")
    if changed:
        contact.updated_at = utcnow()
    return changed


def _insert(session: Session, brand_id: int, new: list[Candidate]) -> list[int]:
    """One INSERT ... RETURNING per page: the statement is built in memory with every value
    inlined (psycopg2), so pages keep a batch of long notes from being copied all at once."""
    stmt = insert(Contact).returning(col(Contact.id), sort_by_parameter_order=True)
    now = utcnow()
    ids: list[int] = []
    for offset in range(0, len(new), INSERT_PAGE):
        values = [
            {**c.data.model_dump(), "brand_id": brand_id}
            | {"email": c.email, "created_at": now, "updated_at": now}
            for c in new[offset : offset + INSERT_PAGE]
        ]
        ids.extend(session.execute(stmt, values).scalars())
    return ids


def _write_batch(
    session: Session,
    batch: list[Candidate],
    report: ImportReport,
    options: ImportOptions,
) -> None:
    emails = [c.email for c in batch]
    suppressed: dict[str, str] = {
        email: str(reason)
        for email, reason in session.execute(
            select(col(Suppression.email), col(Suppression.reason)).where(
                col(Suppression.brand_id) == report.brand_id, col(Suppression.email).in_(emails)
            )
        ).all()
    }
    existing = {
        contact.email: contact
        for contact in session.execute(
            select(Contact).where(
                col(Contact.brand_id) == report.brand_id, col(Contact.email).in_(emails)
            )
        ).scalars()
    }
    new: list[Candidate] = []
    for found in batch:
        email = found.email
        if email in suppressed:
            outcome = RowOutcome(
                found.line, email, Result.skipped, f"suppressed: {suppressed[email]}"
            )
        elif email in existing and options.update_existing:
            changed = _update(existing[email], found)
            outcome = RowOutcome(
                found.line,
                email,
                Result.updated if changed else Result.skipped,
                f"changed: {', '.join(changed)}" if changed else "exists (nothing to change)",
                existing[email].id,
            )
        elif email in existing:
            outcome = RowOutcome(found.line, email, Result.skipped, "exists", existing[email].id)
        else:
            new.append(found)
            continue
        report.rows.append(outcome)
    ids = _insert(session, report.brand_id, new) if new else []
    not_enrolled: dict[int, str] = {}
    if report.pipeline_id is not None and ids:
        request = BulkEnrolRequest(pipeline_id=report.pipeline_id, contact_ids=ids)
        deals, _, skipped = bulk.enrol(session, request)
        report.deal_ids.extend(deal.id for deal in deals if deal.id is not None)
        not_enrolled = {s.contact_id: s.message for s in skipped if s.contact_id is not None}
    for found, contact_id in zip(new, ids, strict=True):
        reason = f"not enrolled: {not_enrolled[contact_id]}" if contact_id in not_enrolled else ""
        report.rows.append(RowOutcome(found.line, found.email, Result.created, reason, contact_id))
    session.flush()
    # Rows written are not needed again: keep the session's identity map small.
    for contact in existing.values():
        session.expunge(contact)


def import_contacts(
    session: Session,
    stream: IO[bytes],
    options: ImportOptions,
    *,
    mx: MailDomainChecker | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """See the module docstring. `mx` replaces the system-resolver checker (`check_mx`);
    `on_progress(rows_read)` runs after each batch."""
    brand = _brand(session, options.brand)
    assert brand.id is not None
    pipeline = _pipeline(session, options.pipeline, brand) if options.pipeline else None
    csv_file, columns = open_contacts_file(stream)
    report = ImportReport(brand_id=brand.id, pipeline_id=pipeline.id if pipeline else None)
    rows = RowChecker(columns, options, mx)
    read = 0
    for batch in batches(csv_file, BATCH_ROWS):
        found: list[Candidate] = []
        for row in batch:
            result = rows.candidate(row)
            if isinstance(result, RowOutcome):
                report.rows.append(result)
            else:
                found.append(result)
        _write_batch(session, found, report, options)
        read += len(batch)
        if on_progress is not None:
            on_progress(read)
    report.rows.sort(key=lambda outcome: outcome.line)
    return report
