"""`POST /api/crm/contacts/import/`: a CSV of contacts into one brand, optionally enrolled in
a pipeline. The work is `dealpilot.imports.contacts` (shared with `dealpilot import
contacts`); this module maps its errors to the API's envelope and starts the new deals'
workflows after the commit."""

from __future__ import annotations

from typing import Annotated

import dns.resolver
from fastapi import File, Form, Request, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import OptionalTemporalDep, SessionDep, UnitOfWorkDep
from api.routing import CRMRouter
from api.uploads import TOO_LARGE_RESPONSE, ImportCounts, check_size, import_counts, reject_nul
from dealpilot.imports.contacts import (
    ImportOptions,
    StartReport,
    import_contacts,
    start_enrolled,
)
from dealpilot.imports.csvfile import Result
from dealpilot.imports.mx import MailDomainChecker
from models import ContactType

router = CRMRouter(prefix="/contacts", tags=["contacts"])


class ImportedRow(BaseModel):
    line: int
    email: str
    result: Result
    reason: str
    contact_id: int | None


class ContactImportResult(ImportCounts):
    brand_id: int
    pipeline_id: int | None
    rows: list[ImportedRow]  # every row that did not create a contact, in file order
    deals_created: int
    workflows_started: int
    workflows_not_started: int
    workflow_note: str | None  # how deals without a workflow get started


def _tags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))


def _checker(request: Request) -> MailDomainChecker | None:
    """The app may carry its own DNS resolver (`app.state.dns_resolver`): tests use one that
    asks a local server."""
    resolver: dns.resolver.Resolver | None = getattr(request.app.state, "dns_resolver", None)
    return MailDomainChecker(resolver) if resolver is not None else None


@router.post(
    "/import/",
    response_model=ContactImportResult,
    status_code=201,
    responses={
        200: {"model": ContactImportResult, "description": "Read, nothing created"},
        **TOO_LARGE_RESPONSE,
    },
)
async def import_contacts_csv(
    request: Request,
    response: Response,
    session: SessionDep,
    temporal: OptionalTemporalDep,
    uow: UnitOfWorkDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or UTF-16; , ; tab or |)")],
    brand: Annotated[str, Form(description="Brand id or slug", max_length=64)],
    pipeline: Annotated[
        str | None, Form(description="Enrol every NEW contact here (id or slug)", max_length=64)
    ] = None,
    update_existing: Annotated[bool, Form()] = False,
    check_mx: Annotated[bool, Form(description="Skip addresses whose domain has no MX")] = False,
    tags: Annotated[
        str, Form(description="Comma-separated tags for every row", max_length=500)
    ] = "",
    contact_type: Annotated[ContactType | None, Form()] = None,
    source: Annotated[str, Form(max_length=100)] = "csv import",
) -> ContactImportResult:
    """Imports contacts from a CSV file (at most 20 MB). Columns are matched by common names
    (email/e-mail, name or first+last name, company, website, phone, tags, notes, timezone,
    contact type). Each row is created, updated (`update_existing`), skipped (duplicate in
    the file, existing contact, suppressed address, no mail server) or invalid, with a
    reason; the answer lists every row that was not created. A file-level problem (encoding,
    broken quoting, no email column) imports nothing: 422 `invalid_file`/`missing_columns`.
    New contacts are enrolled in `pipeline`'s first stage; their workflows start after the
    commit (`workflow_note` says how to start the ones that did not)."""
    check_size(file)
    reject_nul(brand=brand, pipeline=pipeline, tags=tags, source=source)
    options = ImportOptions(
        brand=brand.strip(),
        pipeline=(pipeline or "").strip() or None,
        update_existing=update_existing,
        check_mx=check_mx,
        tags=_tags(tags),
        contact_type=contact_type,
        source=source,
    )
    report = await run_in_threadpool(
        import_contacts, session, file.file, options, mx=_checker(request)
    )

    started = StartReport(0, 0, None)

    async def start() -> None:
        nonlocal started
        started = await start_enrolled(temporal, uow.transact, report.deal_ids)

    uow.after_commit.add(start)
    await uow.commit_now()
    counts = import_counts(response, len(report.rows), report.counts)
    return ContactImportResult(
        **counts.model_dump(),
        brand_id=report.brand_id,
        pipeline_id=report.pipeline_id,
        rows=[
            ImportedRow(
                line=row.line,
                email=row.email,
                result=row.result,
                reason=row.reason,
                contact_id=row.contact_id,
            )
            for row in report.rows
            if row.result != Result.created or row.reason
        ],
        deals_created=len(report.deal_ids),
        workflows_started=started.started,
        workflows_not_started=started.not_started,
        workflow_note=started.message,
    )
