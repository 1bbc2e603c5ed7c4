"""CSV uploads (contact and backlink imports): the size limit, the NUL check of form fields
and the counts both imports answer with. The importers' own errors
(`dealpilot.imports.csvfile`) are core errors: the API's one handler maps them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Response, UploadFile
from pydantic import BaseModel

from dealpilot.core.errors import DealpilotError, ErrorDetail, Unprocessable
from dealpilot.imports.csvfile import Result

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
TOO_LARGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    413: {"description": f"File larger than {MAX_UPLOAD_BYTES >> 20} MB"}
}


def check_size(file: UploadFile) -> None:
    """413 `payload_too_large` past MAX_UPLOAD_BYTES."""
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        raise DealpilotError(
            f"The file is larger than {MAX_UPLOAD_BYTES >> 20} MB; split it",
            code="payload_too_large",
            status_code=413,
        )


def reject_nul(**fields: str | None) -> None:
    """Form fields, which the JSON body check in api.deps does not see: PostgreSQL text
    cannot hold NUL, so a NUL is the caller's mistake (422), not a database error."""
    bad = [name for name, text in fields.items() if text and "\x00" in text]
    if bad:
        raise Unprocessable(
            "Text may not contain NUL characters",
            code="validation_error",
            details=[ErrorDetail(field=name, problem="contains a NUL character") for name in bad],
        )


class ImportCounts(BaseModel):
    """What an import did: the rows read and how many of them ended each way."""

    rows_read: int
    created: int
    updated: int
    skipped: int
    invalid: int


def import_counts(response: Response, rows_read: int, counts: Mapping[Result, int]) -> ImportCounts:
    """The import's counts; the answer is 201 when it created anything, else 200."""
    response.status_code = 201 if counts[Result.created] else 200
    return ImportCounts(
        rows_read=rows_read,
        created=counts[Result.created],
        updated=counts[Result.updated],
        skipped=counts[Result.skipped],
        invalid=counts[Result.invalid],
    )
