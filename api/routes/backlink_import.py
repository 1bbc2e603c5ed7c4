"""Backlink opportunities from a research tool's CSV export (Ahrefs, Semrush, Ubersuggest):
the upload route over `dealpilot.backlinks.imports` (shared with `dealpilot import backlinks`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep
from api.routing import CRMRouter
from api.uploads import TOO_LARGE_RESPONSE, ImportCounts, check_size, import_counts, reject_nul
from dealpilot.backlinks.imports import import_backlinks
from dealpilot.imports.csvfile import Result

router = CRMRouter(prefix="/backlinks", tags=["backlinks"])


class ImportedBacklinkRow(BaseModel):
    line: int
    target_url: str
    result: Result
    reason: str
    opportunity_id: int | None


class BacklinkImportResult(ImportCounts):
    brand_id: int
    tool: str
    rows: list[ImportedBacklinkRow]  # every row that did not create an opportunity


@router.post(
    "/import/",
    response_model=BacklinkImportResult,
    status_code=201,
    responses={
        200: {"model": BacklinkImportResult, "description": "Read, nothing created"},
        **TOO_LARGE_RESPONSE,
    },
)
async def import_backlinks_csv(
    response: Response,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="An Ahrefs, Semrush or Ubersuggest export")],
    brand: Annotated[str, Form(description="Brand id or slug", max_length=64)],
    tool: Annotated[
        str | None,
        Form(description="ahrefs | semrush | ubersuggest; detected from the header if not given"),
    ] = None,
    keywords: Annotated[
        str, Form(description="Topic words for the relevance score", max_length=1000)
    ] = "",
) -> BacklinkImportResult:
    """Imports opportunities from a research tool's CSV export (at most 20 MB). The page where
    our link should appear becomes `target_url`; authority is the tool's domain score (0-100)
    and relevance the topical overlap with `keywords` (else the brand's name). A URL the brand
    already has is updated, never duplicated. A file-level problem imports nothing: 422
    `invalid_file` / `missing_columns`."""
    check_size(file)
    reject_nul(brand=brand, tool=tool, keywords=keywords)
    report = await run_in_threadpool(
        import_backlinks, session, file.file, brand=brand, tool=tool, keywords=keywords
    )
    counts = import_counts(response, len(report.rows), report.counts)
    return BacklinkImportResult(
        **counts.model_dump(),
        brand_id=report.brand_id,
        tool=report.tool.value,
        rows=[
            ImportedBacklinkRow(
                line=row.line,
                target_url=row.target_url,
                result=row.result,
                reason=row.reason,
                opportunity_id=row.opportunity_id,
            )
            for row in report.rows
            if row.result != Result.created
        ],
    )
